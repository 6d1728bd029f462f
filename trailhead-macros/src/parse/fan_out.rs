//! Fan-out: `parallel(limit = 8) for item in items { … }` runs the body for every
//! item concurrently (at most `limit` at once) and evaluates to the bodies'
//! values, in input order.

use syn::parse::{Parse, ParseStream};
use syn::{Token, parenthesized, token};

use super::block::Block;
use super::rust::Rust;
use crate::kw;

/// A fan-out as written.
pub(crate) struct FanOut {
    pub(crate) parallel_token: kw::parallel,
    /// `limit = expr`; no limit when absent.
    pub(crate) limit: Option<syn::Expr>,
    /// `collect_all`: every item runs and the fan-out evaluates to each one's
    /// `Result` instead of failing at the first error.
    pub(crate) collect_all: bool,
    pub(crate) pat: syn::Pat,
    /// Evaluated once, before any item runs.
    pub(crate) expr: Rust,
    pub(crate) body: Block,
}

impl FanOut {
    /// Whether `input` starts a fan-out: `parallel for` or `parallel(..) for`
    /// (so that a function named `parallel` can still be called).
    pub(crate) fn peek(input: ParseStream<'_>) -> bool {
        if !input.peek(kw::parallel) {
            return false;
        }
        let fork = input.fork();
        let _ = fork.parse::<kw::parallel>();
        if fork.peek(token::Paren) {
            let Ok(group) = fork.parse::<proc_macro2::Group>() else {
                return false;
            };
            drop(group);
        }
        fork.peek(Token![for])
    }
}

impl Parse for FanOut {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let parallel_token = input.parse()?;
        let mut limit = None;
        let mut collect_all = false;
        if input.peek(token::Paren) {
            let content;
            parenthesized!(content in input);
            while !content.is_empty() {
                let lookahead = content.lookahead1();
                if lookahead.peek(kw::limit) && limit.is_none() {
                    content.parse::<kw::limit>()?;
                    content.parse::<Token![=]>()?;
                    limit = Some(content.parse::<syn::Expr>()?);
                } else if lookahead.peek(kw::collect_all) && !collect_all {
                    content.parse::<kw::collect_all>()?;
                    collect_all = true;
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
            parallel_token,
            limit,
            collect_all,
            pat,
            expr,
            body,
        })
    }
}
