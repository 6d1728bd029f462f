//! Fan-out and stream loops: `parallel(limit = 8) for item in items { … }`
//! runs the body for every item concurrently (at most `limit` at once) and
//! evaluates to the bodies' values, in input order; `stream(every = 1000)
//! for item in source { … }` reads a resumable source item by item (or
//! `limit` at once), journaling checkpoints instead of its steps.

use syn::parse::{Parse, ParseStream};
use syn::{Token, parenthesized, token};

use super::block::Block;
use super::duration::DurationLit;
use super::rust::Rust;
use crate::kw;

/// A fan-out or a stream loop, as written.
pub(crate) struct FanOut {
    /// `parallel` or `stream`: the span errors about the construct point at.
    pub(crate) head: Head,
    /// `limit = expr`; no limit when absent (a stream loop without one runs
    /// its items one at a time).
    pub(crate) limit: Option<syn::Expr>,
    /// `collect_all`: every item runs and the fan-out evaluates to each one's
    /// `Result` instead of failing at the first error.
    pub(crate) collect_all: bool,
    /// A stream loop's checkpoint options and name.
    pub(crate) stream: StreamOptions,
    pub(crate) pat: syn::Pat,
    /// Evaluated once, before any item runs.
    pub(crate) expr: Rust,
    pub(crate) body: Block,
}

/// Which construct: the word that starts it.
pub(crate) enum Head {
    Parallel(kw::parallel),
    Stream(kw::stream),
}

/// `every = 1000`, `interval = 10s`, `name = "import"` of a stream loop.
#[derive(Default)]
pub(crate) struct StreamOptions {
    /// Items between checkpoints, checked to be at least 1.
    pub(crate) every: Option<(syn::LitInt, u64)>,
    /// Time between checkpoints, checked to be positive.
    pub(crate) interval: Option<(syn::Expr, DurationLit)>,
    /// The loop's key name.
    pub(crate) name: Option<syn::LitStr>,
}

/// The most items between two checkpoints.
const MOST_EVERY: u64 = 1_000_000_000;

impl FanOut {
    /// Whether `input` starts a fan-out or a stream loop: `parallel for`,
    /// `parallel(..) for`, `stream for` or `stream(..) for` (so that a
    /// function named `parallel` or `stream` can still be called).
    pub(crate) fn peek(input: ParseStream<'_>) -> bool {
        if !input.peek(kw::parallel) && !input.peek(kw::stream) {
            return false;
        }
        let fork = input.fork();
        let _ = fork.parse::<proc_macro2::Ident>();
        if fork.peek(token::Paren) {
            let Ok(group) = fork.parse::<proc_macro2::Group>() else {
                return false;
            };
            drop(group);
        }
        fork.peek(Token![for])
    }

    /// The span of the word that starts the construct.
    pub(crate) fn head_span(&self) -> proc_macro2::Span {
        match &self.head {
            Head::Parallel(token) => token.span,
            Head::Stream(token) => token.span,
        }
    }

    /// Whether this is a stream loop.
    pub(crate) fn is_stream(&self) -> bool {
        matches!(self.head, Head::Stream(_))
    }
}

impl Parse for FanOut {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let head = if input.peek(kw::stream) {
            Head::Stream(input.parse()?)
        } else {
            Head::Parallel(input.parse()?)
        };
        let is_stream = matches!(head, Head::Stream(_));
        let mut limit = None;
        let mut collect_all = false;
        let mut stream = StreamOptions::default();
        if input.peek(token::Paren) {
            let content;
            parenthesized!(content in input);
            while !content.is_empty() {
                let lookahead = content.lookahead1();
                if lookahead.peek(kw::limit) && limit.is_none() {
                    content.parse::<kw::limit>()?;
                    content.parse::<Token![=]>()?;
                    limit = Some(content.parse::<syn::Expr>()?);
                } else if !is_stream && lookahead.peek(kw::collect_all) && !collect_all {
                    content.parse::<kw::collect_all>()?;
                    collect_all = true;
                } else if is_stream && lookahead.peek(kw::every) && stream.every.is_none() {
                    content.parse::<kw::every>()?;
                    content.parse::<Token![=]>()?;
                    let lit: syn::LitInt = content.parse()?;
                    let every: u64 = lit.base10_parse()?;
                    if every == 0 || every > MOST_EVERY {
                        return Err(syn::Error::new(
                            lit.span(),
                            format!(
                                "`every = {lit}` is out of range: a stream loop checkpoints every 1 to {MOST_EVERY} items"
                            ),
                        ));
                    }
                    stream.every = Some((lit, every));
                } else if is_stream && lookahead.peek(kw::interval) && stream.interval.is_none() {
                    content.parse::<kw::interval>()?;
                    content.parse::<Token![=]>()?;
                    let expr: syn::Expr = content.parse()?;
                    let duration = DurationLit::from_expr(&expr, false)?;
                    stream.interval = Some((expr, duration));
                } else if is_stream && lookahead.peek(kw::name) && stream.name.is_none() {
                    content.parse::<kw::name>()?;
                    content.parse::<Token![=]>()?;
                    stream.name = Some(content.parse()?);
                } else {
                    return Err(lookahead.error());
                }
                if !content.is_empty() {
                    content.parse::<Token![,]>()?;
                }
            }
        }
        input.parse::<Token![for]>()?;
        let pat = syn::Pat::parse_multi_with_leading_vert(input)?;
        input.parse::<Token![in]>()?;
        let expr = Rust::parse_condition(input)?;
        let body = input.parse()?;
        Ok(FanOut {
            head,
            limit,
            collect_all,
            stream,
            pat,
            expr,
            body,
        })
    }
}
