//! Step options as runtime values: `StepPolicy`, `RetryPolicy`, `Backoff`, durations.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::model::options::{Backoff, Duration, Retry, RetryPolicy, StepOptions};

/// `StepPolicy::new()` with the step's retry and timeout.
pub(super) fn step_policy(
    private: &TokenStream,
    options: &StepOptions,
    user: &dyn Fn(&syn::Expr) -> TokenStream,
) -> TokenStream {
    let mut policy = quote!(#private::StepPolicy::new());
    if let Some(retry) = &options.retry {
        let retry = retry_policy(private, retry, user);
        policy = quote!(#policy.with_retry(#retry));
    }
    if let Some(resource) = &options.resource {
        policy = quote!(#policy.with_resource(#resource));
    }
    if let Some(breaker) = &options.breaker {
        policy = quote!(#policy.with_breaker(#breaker));
    }
    if options.fallback.is_some() {
        policy = quote!(#policy.with_fallback());
    }
    if let Some(timeout) = &options.timeout {
        let duration = duration(private, timeout, user);
        policy = quote!(#policy.with_timeout(#duration));
    }
    policy
}

pub(super) fn retry_policy(
    private: &TokenStream,
    retry: &Retry,
    user: &dyn Fn(&syn::Expr) -> TokenStream,
) -> TokenStream {
    match &retry.policy {
        RetryPolicy::Expr(expr) => {
            let expr = user(expr);
            quote_spanned!(expr.span()=> #expr)
        }
        RetryPolicy::Literal {
            attempts,
            backoff,
            jitter,
        } => {
            let base = quote!(#private::RetryPolicy::attempts(#attempts));
            let backoff = match backoff {
                Some(Backoff::Exponential { initial, max }) => {
                    let (initial, max) =
                        (millis(private, initial.millis), millis(private, max.millis));
                    Some(quote!(#private::Backoff::exponential(#initial, #max)))
                }
                Some(Backoff::Fixed(delay)) => {
                    let delay = millis(private, delay.millis);
                    Some(quote!(#private::Backoff::fixed(#delay)))
                }
                None => jitter.map(|_| quote!(#base.backoff())),
            };
            match (backoff, jitter) {
                (Some(backoff), Some(jitter)) => {
                    quote!(#base.with_backoff(#backoff.with_jitter(#jitter)))
                }
                (Some(backoff), None) => quote!(#base.with_backoff(#backoff)),
                (None, _) => base,
            }
        }
    }
}

/// A duration as a runtime `Duration`: a literal's milliseconds, or the user's
/// expression (at its own span, so rustc judges its type there).
pub(super) fn duration(
    private: &TokenStream,
    duration: &Duration,
    user: &dyn Fn(&syn::Expr) -> TokenStream,
) -> TokenStream {
    match duration {
        Duration::Literal(lit) => millis(private, lit.millis),
        Duration::Expr(expr) => {
            let expr = user(expr);
            quote_spanned!(expr.span()=> #expr)
        }
    }
}

/// `Duration::from_millis(millis)`.
pub(super) fn millis(private: &TokenStream, millis: u64) -> TokenStream {
    quote!(#private::Duration::from_millis(#millis))
}
