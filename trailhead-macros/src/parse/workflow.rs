//! A workflow definition: `/// docs  pub workflow name(params) -> Result<T, E> { body }`.

use proc_macro2::{Group, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, PatType, Token, Type, Visibility, parenthesized, token};

use super::DurationLit;
use super::marker::mark_sites;
use crate::kw;
use crate::suggest::did_you_mean;

/// A workflow as written. The body stays unparsed tokens here so that a mistake in
/// one body still leaves every signature known (see `expand::skeleton`).
pub(crate) struct WorkflowDef {
    pub(crate) attrs: Vec<Attribute>,
    /// `#[compatible_with(0x…, ..)]`: hashes of earlier definitions whose
    /// unfinished runs this one may resume.
    pub(crate) compatible_with: Vec<syn::LitInt>,
    /// `#[saga]`: every step must compensate or be marked `.irreversible()`.
    pub(crate) saga: Option<proc_macro2::Span>,
    /// `#[deadline(30s)]`: how long a run may take.
    pub(crate) deadline: Option<DurationLit>,
    pub(crate) vis: Visibility,
    pub(crate) name: Ident,
    pub(crate) params: Punctuated<PatType, Token![,]>,
    pub(crate) output: Type,
    /// `{ .. }`, parsed into a [`Block`](super::Block) by the expansion.
    pub(crate) body: Group,
}

impl WorkflowDef {
    /// The body with its braces and its sites marked, ready for
    /// `syn::parse2::<Block>`.
    pub(crate) fn body_group(&self) -> TokenStream {
        mark_sites(TokenTree::Group(self.body.clone()).into())
    }
}

impl Parse for WorkflowDef {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut attrs = input.call(Attribute::parse_outer)?;
        let mut compatible_with = Vec::new();
        let mut saga = None;
        let mut deadline = None;
        let mut kept = Vec::with_capacity(attrs.len());
        for attr in attrs.drain(..) {
            if attr.path().is_ident("compatible_with") {
                let hashes = attr.parse_args_with(
                    syn::punctuated::Punctuated::<syn::LitInt, Token![,]>::parse_terminated,
                )?;
                for hash in &hashes {
                    hash.base10_parse::<u64>().map_err(|_| {
                        syn::Error::new(hash.span(), "expected a definition hash: an unsigned 64-bit integer, e.g. `0x5f3a…`")
                    })?;
                }
                compatible_with.extend(hashes);
            } else if attr.path().is_ident("saga") {
                attr.meta.require_path_only()?;
                saga = Some(syn::spanned::Spanned::span(&attr));
            } else if attr.path().is_ident("deadline") {
                let expr: syn::Expr = attr.parse_args().map_err(|error| {
                    syn::Error::new(error.span(), "expected a duration, e.g. `#[deadline(30s)]`")
                })?;
                if deadline.is_some() {
                    return Err(syn::Error::new_spanned(
                        &attr,
                        "duplicate `#[deadline(..)]`",
                    ));
                }
                deadline = Some(DurationLit::from_expr(&expr, false)?);
            } else {
                kept.push(attr);
            }
        }
        let attrs = kept;
        let vis: Visibility = input.parse()?;
        let lookahead = input.lookahead1();
        if !lookahead.peek(kw::workflow) {
            if input.peek(syn::Ident) && input.peek2(syn::Ident) {
                let word: Ident = input.parse()?;
                if did_you_mean(&word.to_string(), &["workflow"]).is_some() {
                    return Err(syn::Error::new(
                        word.span(),
                        format!("unknown keyword `{word}`: did you mean `workflow`?"),
                    ));
                }
            }
            return Err(lookahead.error());
        }
        input.parse::<kw::workflow>()?;
        let name = input.parse()?;
        if input.peek(Token![<]) {
            return Err(input.error("generic workflows are not supported yet"));
        }
        if !input.peek(token::Paren) {
            return Err(input.error("expected the workflow's parameters, e.g. `(order: Order)`"));
        }
        let content;
        parenthesized!(content in input);
        let params = parse_params(&content)?;
        if !input.peek(Token![->]) {
            return Err(input
                .error("expected `-> Result<T, E>`: a workflow returns its output or its error"));
        }
        input.parse::<Token![->]>()?;
        let output = input.parse()?;
        let lookahead = input.lookahead1();
        if !lookahead.peek(token::Brace) {
            return Err(lookahead.error());
        }
        let body = input.parse()?;
        Ok(WorkflowDef {
            attrs,
            compatible_with,
            saga,
            deadline,
            vis,
            name,
            params,
            output,
            body,
        })
    }
}

fn parse_params(input: ParseStream<'_>) -> syn::Result<Punctuated<PatType, Token![,]>> {
    let mut params = Punctuated::new();
    while !input.is_empty() {
        if input.peek(Token![self]) || input.peek(Token![&]) {
            return Err(
                input.error("a workflow has no `self`: take the values it needs as parameters")
            );
        }
        let pat = syn::Pat::parse_single(input)?;
        if !input.peek(Token![:]) {
            return Err(input.error("expected `: Type`: every workflow parameter has a type"));
        }
        let colon_token = input.parse()?;
        let ty = input.parse()?;
        params.push_value(PatType {
            attrs: Vec::new(),
            pat: Box::new(pat),
            colon_token,
            ty,
        });
        if input.is_empty() {
            break;
        }
        params.push_punct(input.parse()?);
    }
    Ok(params)
}
