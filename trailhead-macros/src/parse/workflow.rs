//! A workflow definition: `/// docs  pub workflow name(params) -> Result<T, E> { body }`.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Ident, PatType, Token, Type, Visibility, parenthesized, token};

use super::DurationLit;
use super::marker::mark_sites;
use crate::ctxt::Ctxt;
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
    pub(crate) saga: Option<Span>,
    /// `#[deadline(30s)]`: how long a run may take.
    pub(crate) deadline: Option<DurationLit>,
    pub(crate) vis: Visibility,
    pub(crate) name: Ident,
    /// `<T: Item, const N: usize>` and the `where` clause after the output:
    /// a template instantiated once per set of arguments.
    pub(crate) generics: syn::Generics,
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

impl WorkflowDef {
    /// Parses one definition. Mistakes in its attributes go to `cx` and leave the
    /// definition standing, so that its skeleton (and every other workflow of the
    /// call) still expands; only a signature that cannot be read is an `Err`.
    pub(crate) fn parse_with(cx: &Ctxt, input: ParseStream<'_>) -> syn::Result<Self> {
        let mut header = Header::default();
        let mut attrs = Vec::new();
        for attr in input.call(Attribute::parse_outer)? {
            if !header.read(cx, &attr) {
                attrs.push(attr);
            }
        }
        let Header {
            compatible_with,
            saga,
            deadline,
        } = header;
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
        let mut generics: syn::Generics = input.parse()?;
        refuse_lifetimes(&generics)?;
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
        generics.where_clause = input.parse()?;
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
            generics,
            params,
            output,
            body,
        })
    }
}

/// The attributes the macro reads: `#[compatible_with(..)]`, `#[saga]`,
/// `#[deadline(..)]`.
#[derive(Default)]
struct Header {
    compatible_with: Vec<syn::LitInt>,
    saga: Option<Span>,
    deadline: Option<DurationLit>,
}

impl Header {
    /// Reads `attr` if it is one of the macro's own (mistakes go to `cx`);
    /// `false` for any other attribute, which the workflow's struct keeps.
    fn read(&mut self, cx: &Ctxt, attr: &Attribute) -> bool {
        let path = attr.path();
        let read = if path.is_ident("compatible_with") {
            attr.parse_args_with(Punctuated::<syn::LitInt, Token![,]>::parse_terminated)
                .map(|hashes| {
                    for hash in hashes {
                        match hash.base10_parse::<u64>() {
                            Ok(_) => self.compatible_with.push(hash),
                            Err(_) => cx.error(
                                hash.span(),
                                "expected a definition hash: an unsigned 64-bit integer, e.g. `0x5f3a…`",
                            ),
                        }
                    }
                })
        } else if path.is_ident("saga") {
            attr.meta
                .require_path_only()
                .map(|_| cx.set_once(&mut self.saga, path.span(), "`#[saga]`", attr.span()))
        } else if path.is_ident("deadline") {
            attr.parse_args::<syn::Expr>()
                .map_err(|error| {
                    syn::Error::new(error.span(), "expected a duration, e.g. `#[deadline(30s)]`")
                })
                .and_then(|expr| DurationLit::from_expr(&expr, false))
                .map(|deadline| {
                    cx.set_once(
                        &mut self.deadline,
                        attr.span(),
                        "`#[deadline(..)]`",
                        deadline,
                    );
                })
        } else {
            return false;
        };
        if let Err(error) = read {
            cx.push(error);
        }
        true
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

/// A workflow's runs outlive whoever started them (they resume after a
/// restart), so its definition cannot borrow: only type and const parameters.
fn refuse_lifetimes(generics: &syn::Generics) -> syn::Result<()> {
    match generics.lifetimes().next() {
        Some(lifetime) => Err(syn::Error::new(
            lifetime.lifetime.span(),
            "a workflow cannot take a lifetime parameter: its runs outlive any borrow \
             (they resume after a restart); take owned values",
        )),
        None => Ok(()),
    }
}
