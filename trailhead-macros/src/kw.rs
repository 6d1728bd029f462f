//! The words of the workflow language. Keywords are tokens, never compared as strings.

syn::custom_keyword!(workflow);
syn::custom_keyword!(step);
syn::custom_keyword!(call);
syn::custom_keyword!(blocking);
syn::custom_keyword!(parallel);
syn::custom_keyword!(limit);
syn::custom_keyword!(collect_all);
syn::custom_keyword!(stream);
syn::custom_keyword!(every);
syn::custom_keyword!(interval);
syn::custom_keyword!(name);
syn::custom_keyword!(sequential);
syn::custom_keyword!(sleep);
syn::custom_keyword!(signal);
syn::custom_keyword!(timeout);

use proc_macro2::{TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser, Peek};

/// Whether the single token `tree` is `token` (a keyword here or a `Token![..]`),
/// for code that walks raw tokens before they are parsed.
pub(crate) fn is(tree: &TokenTree, token: impl Peek) -> bool {
    let peek = |input: ParseStream<'_>| {
        let found = input.peek(token);
        input.parse::<TokenStream>()?;
        Ok(found)
    };
    peek.parse2(tree.clone().into()).unwrap_or(false)
}

/// Whether `tree` is a word that starts a site: `step`, `call`, `sleep` or `signal`.
pub(crate) fn starts_site(tree: &TokenTree) -> bool {
    // Most tokens are not words; those need no parser.
    matches!(tree, TokenTree::Ident(_))
        && (is(tree, step) || is(tree, call) || is(tree, sleep) || is(tree, signal))
}
