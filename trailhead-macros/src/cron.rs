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
    let text = expression.value();
    if let Err(error) = parser.parse(&text) {
        let message = match bad_field(&parser, &text) {
            Some((field, value, reason)) => {
                format!(
                    "invalid cron expression: the {field} field `{value}` is not valid: {reason}"
                )
            }
            None => format!("invalid cron expression: {error}"),
        };
        return syn::Error::new(expression.span(), message).to_compile_error();
    }
    quote_spanned! {expression.span()=>
        #krate::schedule::Schedule::from_checked_cron(#expression)
    }
}

/// The first field of a 5- or 6-field expression that fails alone (the
/// others `*`): its name, text and the parser's reason. As
/// `Schedule::cron` names it at run time.
fn bad_field(
    parser: &croner::parser::CronParser,
    text: &str,
) -> Option<(&'static str, String, String)> {
    const NAMES: [&str; 6] = [
        "second",
        "minute",
        "hour",
        "day-of-month",
        "month",
        "day-of-week",
    ];
    let fields: Vec<&str> = text.split_whitespace().collect();
    let names = match fields.len() {
        5 => &NAMES[1..],
        6 => &NAMES[..],
        _ => return None,
    };
    names
        .iter()
        .zip(&fields)
        .enumerate()
        .find_map(|(at, (name, value))| {
            let alone: Vec<&str> = (0..fields.len())
                .map(|i| if i == at { *value } else { "*" })
                .collect();
            let reason = parser.parse(&alone.join(" ")).err()?;
            Some((*name, (*value).to_owned(), reason.to_string()))
        })
}
