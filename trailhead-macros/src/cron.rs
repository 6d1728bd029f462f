//! `cron!("…")`: a cron expression checked at compile time with the parser
//! `Schedule::cron` uses (configured alike: 5 fields, or 6 with seconds
//! first, no year; see `trailhead-core/src/schedule/spec.rs`), expanding to
//! the runtime constructor that cannot fail.

use proc_macro2::TokenStream;
use quote::quote_spanned;
use syn::parse::{Parse, ParseStream};

/// `($crate) "expression"`, as `trailhead::cron!` passes it on.
struct Input {
    krate: TokenStream,
    expression: syn::LitStr,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let krate;
        syn::parenthesized!(krate in input);
        let krate: TokenStream = krate.parse()?;
        let expression = input.parse::<syn::LitStr>().map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected a string literal: `cron!(\"*/5 * * * *\")`; \
                 for an expression known at run time, use `Schedule::cron`",
            )
        })?;
        let _ = input.parse::<Option<syn::Token![,]>>()?;
        if !input.is_empty() {
            return Err(input.error("expected one cron expression"));
        }
        Ok(Self { krate, expression })
    }
}

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let Input { krate, expression } = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let parser = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Optional)
        .year(croner::parser::Year::Disallowed)
        .build();
    if let Err(error) = parser.parse(&expression.value()) {
        let message = format!("invalid cron expression: {error}");
        return syn::Error::new(expression.span(), message).to_compile_error();
    }
    quote_spanned! {expression.span()=>
        #krate::schedule::Schedule::from_checked_cron(#expression)
    }
}
