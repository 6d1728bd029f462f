//! The text in the diagram's boxes and on its edges: code as written, durations,
//! a step's options, and the escaping Mermaid's quoted labels need.

use proc_macro2::TokenStream;
use quote::ToTokens;

use crate::model::as_written;
use crate::model::options::{Backoff, Duration, RetryPolicy, StepOptions};
use crate::parse::Target;

/// A short summary of a step's options for its box: `retry 3, timeout 5s`.
pub(super) fn options_text(options: &StepOptions) -> String {
    let mut parts = Vec::new();
    if let Some(retry) = &options.retry {
        parts.push(match &retry.policy {
            RetryPolicy::Literal {
                attempts, backoff, ..
            } => match backoff {
                Some(Backoff::Exponential { initial, max }) => format!(
                    "retry {attempts} ({}..{})",
                    millis_text(initial.millis),
                    millis_text(max.millis)
                ),
                Some(Backoff::Fixed(delay)) => {
                    format!("retry {attempts} (every {})", millis_text(delay.millis))
                }
                None => format!("retry {attempts}"),
            },
            RetryPolicy::Expr(expr) => format!("retry {}", tokens_text(&expr.to_token_stream())),
        });
    }
    if let Some(resource) = &options.resource {
        parts.push(format!("resource {}", resource.value()));
    }
    if let Some(breaker) = &options.breaker {
        parts.push(format!("breaker {}", breaker.value()));
    }
    if options.irreversible.is_some() {
        parts.push("irreversible".to_owned());
    }
    if let Some(timeout) = &options.timeout {
        parts.push(format!("timeout {}", duration_text(timeout)));
    }
    parts.join(", ")
}

pub(super) fn duration_text(duration: &Duration) -> String {
    match duration {
        Duration::Literal(lit) => millis_text(lit.millis),
        Duration::Expr(expr) => tokens_text(&expr.to_token_stream()),
    }
}

fn millis_text(millis: u64) -> String {
    const UNITS: &[(u64, &str)] = &[(3_600_000, "h"), (60_000, "m"), (1_000, "s")];
    for &(scale, unit) in UNITS {
        if millis >= scale && millis.is_multiple_of(scale) {
            return format!("{}{unit}", millis / scale);
        }
    }
    format!("{millis}ms")
}

/// Token text as a person writes it: `trip.needs_visa`, not `trip . needs_visa`.
pub(crate) fn tokens_text(tokens: &TokenStream) -> String {
    let text = as_written(tokens).to_string();
    let mut out = text;
    for (from, to) in [
        (" . ", "."),
        (" :: ", "::"),
        (":: ", "::"),
        (" (", "("),
        ("( ", "("),
        (" )", ")"),
        (" [", "["),
        ("[ ", "["),
        (" ]", "]"),
        (" ,", ","),
        ("& ", "&"),
        ("! ", "!"),
        (" ?", "?"),
    ] {
        out = out.replace(from, to);
    }
    const LIMIT: usize = 48;
    if out.chars().count() > LIMIT {
        out = out.chars().take(LIMIT - 1).collect::<String>() + "…";
    }
    out
}

/// The function a step, fallback step or call runs, as the graph's `target`
/// holds it: a function's path as written (`payments::charge`,
/// `parse::<u32>`), or a method's name after a dot (`.fetch`), as the
/// definition hash reads it (the receiver is plain Rust).
pub(super) fn target_text(target: &Target) -> String {
    match target {
        Target::Function { func, .. } => code_text(func),
        Target::Method { method, .. } => format!(".{method}"),
    }
}

/// Code as one unbroken text: the tokens `quote` prints with the spaces
/// between them dropped (`a :: b` is `a::b`), except between two words
/// (`<T as Trait>`). Never shortened, unlike [`tokens_text`]: it is compared,
/// not drawn.
pub(super) fn code_text(code: &impl ToTokens) -> String {
    let text = as_written(code).to_string();
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            if word(out.chars().last()) && word(chars.peek().copied()) {
                out.push(' ');
            }
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            continue;
        }
        out.push(c);
    }
    out
}

/// Escapes text for a quoted Mermaid label.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '|' => out.push_str("#124;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_text_drops_the_spaces_quote_puts_between_tokens() {
        let path: syn::Expr = syn::parse_quote!(payments::charge);
        assert_eq!(code_text(&path), "payments::charge");
        let path: syn::Expr = syn::parse_quote!(::billing::parse::<u32>);
        assert_eq!(code_text(&path), "::billing::parse::<u32>");
        let path: syn::Expr = syn::parse_quote!(<Card as Charge>::charge);
        assert_eq!(code_text(&path), "<Card as Charge>::charge");
    }
}
