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
        let limit = if input.peek(token::Paren) {
            let content;
            parenthesized!(content in input);
            let lookahead = content.lookahead1();
            if !lookahead.peek(kw::limit) {
                return Err(lookahead.error());
            }
            content.parse::<kw::limit>()?;
            content.parse::<Token![=]>()?;
            let limit: syn::Expr = content.parse()?;
            if !content.is_empty() {
                return Err(content.error("expected `)` after the limit"));
            }
            Some(limit)
        } else {
            None
        };
        input.parse::<Token![for]>()?;
        let pat = syn::Pat::parse_multi_with_leading_vert(input)?;
        input.parse::<Token![in]>()?;
        let expr = Rust::parse_condition(input)?;
        let body = input.parse()?;
        Ok(FanOut {
            parallel_token,
            limit,
            pat,
            expr,
            body,
        })
    }
}
