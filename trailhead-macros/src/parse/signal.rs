//! `signal "approval"` (and `signal "approval".timeout(1h)`): waits for a
//! typed value sent to the run with `engine.signal(run, "approval", value)`.

use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token};

use super::duration::duration;
use crate::kw;
use crate::model::options::Duration;

/// A `signal` as written.
pub(crate) struct Signal {
    pub(crate) signal_token: kw::signal,
    pub(crate) name: LitStr,
    /// `.timeout(d)`: wait at most `d`; the value is then an `Option`.
    pub(crate) timeout: Option<Duration>,
}

impl Parse for Signal {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let signal_token: kw::signal = input.parse()?;
        if !input.peek(LitStr) {
            return Err(syn::Error::new(
                signal_token.span,
                "expected the signal's name as a string, e.g. `signal \"approval\"`",
            ));
        }
        let name: LitStr = input.parse()?;
        if name.value().is_empty() || name.value().contains(['[', ']', '/', '"']) {
            return Err(syn::Error::new(
                name.span(),
                "a signal's name must be non-empty, without `[`, `]`, `/` or `\"`",
            ));
        }
        let timeout = if input.peek(Token![.]) {
            input.parse::<Token![.]>()?;
            if !input.peek(kw::timeout) {
                return Err(input.error("the one option of a signal is `.timeout(..)`"));
            }
            input.parse::<kw::timeout>()?;
            let content;
            syn::parenthesized!(content in input);
            Some(duration(&content.parse()?)?)
        } else {
            None
        };
        Ok(Signal {
            signal_token,
            name,
            timeout,
        })
    }
}
