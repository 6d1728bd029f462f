//! `sleep 5s` (or `sleep delay`): a durable timer. The wake-up time is
//! journaled, so a resumed run wakes when it was meant to.

use syn::parse::{Parse, ParseStream};

use super::duration::duration;
use crate::kw;
use crate::model::options::Duration;

/// A `sleep` as written.
pub(crate) struct Sleep {
    pub(crate) sleep_token: kw::sleep,
    /// `sleep 5s`, checked when compiling, or `sleep delay`.
    pub(crate) duration: Duration,
}

impl Parse for Sleep {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let sleep_token: kw::sleep = input.parse()?;
        if input.is_empty() {
            return Err(syn::Error::new(
                sleep_token.span,
                "expected how long to sleep, e.g. `sleep 5s` or `sleep delay`",
            ));
        }
        let duration = duration(&input.parse()?)?;
        Ok(Sleep {
            sleep_token,
            duration,
        })
    }
}
