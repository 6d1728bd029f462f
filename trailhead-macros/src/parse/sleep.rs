//! `sleep 5s` (or `sleep delay`): a durable timer. The wake-up time is
//! journaled, so a resumed run wakes when it was meant to.

use syn::parse::{Parse, ParseStream};

use super::duration::DurationLit;
use crate::kw;

/// A `sleep` as written.
pub(crate) struct Sleep {
    pub(crate) sleep_token: kw::sleep,
    pub(crate) duration: SleepFor,
}

pub(crate) enum SleepFor {
    /// `sleep 5s`, checked when compiling.
    Literal(DurationLit),
    /// `sleep delay`: any expression of type `Duration`.
    Expr(syn::Expr),
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
        let expr: syn::Expr = input.parse()?;
        let duration = match &expr {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(_) | syn::Lit::Float(_),
                ..
            }) => SleepFor::Literal(DurationLit::from_expr(&expr, false)?),
            _ => SleepFor::Expr(expr),
        };
        Ok(Sleep {
            sleep_token,
            duration,
        })
    }
}
