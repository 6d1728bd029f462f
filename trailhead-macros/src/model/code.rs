//! The user's plain Rust as the model holds it: the parser marked each site that
//! stands inside it (see `parse::marker`), and only this file knows the mark.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::visit_mut::VisitMut;

use super::{Node, Rust};
use crate::parse::marker::{is_marker, unmark};

/// Code as the user wrote it, for showing to people (diagram labels).
pub(crate) fn as_written(code: &impl ToTokens) -> TokenStream {
    unmark(code.to_token_stream())
}

impl<'a> Rust<'a> {
    /// `expr` (this code, perhaps rewritten) with each of its sites replaced by
    /// `site(node)`, in the order the parser found them.
    pub(crate) fn replace_sites(
        &self,
        expr: &mut syn::Expr,
        site: &mut dyn FnMut(&Node<'a>) -> TokenStream,
    ) {
        struct Replacer<'s, 'n, 'a> {
            sites: std::slice::Iter<'n, Node<'a>>,
            site: &'s mut dyn FnMut(&Node<'a>) -> TokenStream,
        }
        impl VisitMut for Replacer<'_, '_, '_> {
            fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
                if let syn::Expr::Macro(mac) = expr
                    && is_marker(&mac.mac)
                {
                    let node = self.sites.next().expect("one site per marker");
                    *expr = syn::Expr::Verbatim((self.site)(node));
                    return;
                }
                syn::visit_mut::visit_expr_mut(self, expr);
            }
        }
        Replacer {
            sites: self.sites.iter(),
            site,
        }
        .visit_expr_mut(expr);
    }
}
