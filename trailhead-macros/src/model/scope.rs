//! Which local bindings a piece of a body can see and which it uses.
//!
//! A fan-out's iterations run at the same time, so the outer bindings its body
//! uses are shared by reference (and must not be `mut`); the statements of a
//! parallel block share their bindings the same way. Both need to know the
//! names a pattern binds and the names a body mentions.

use std::collections::BTreeSet;

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

use super::walk::{plain_exprs, stmt_exprs};
use super::{Block, Stmt};

/// A name bound by a pattern.
#[derive(Clone, Debug)]
pub(crate) struct Binding {
    pub(crate) ident: syn::Ident,
    pub(crate) mutable: bool,
}

/// The names `pat` binds, in order.
pub(crate) fn pattern_bindings(pat: &syn::Pat, out: &mut Vec<Binding>) {
    struct Names<'o>(&'o mut Vec<Binding>);
    impl<'ast> Visit<'ast> for Names<'_> {
        fn visit_pat_ident(&mut self, node: &'ast syn::PatIdent) {
            // An identifier that starts upper-case is a unit struct or constant
            // being matched, not a new binding.
            let first = node.ident.to_string().chars().next();
            if node.by_ref.is_some()
                || node.mutability.is_some()
                || first.is_some_and(|c| !c.is_uppercase())
            {
                self.0.push(Binding {
                    ident: node.ident.clone(),
                    mutable: node.mutability.is_some(),
                });
            }
            syn::visit::visit_pat_ident(self, node);
        }
    }
    Names(out).visit_pat(pat);
}

/// Every name the block mentions in its plain Rust (and in the steps' arguments
/// and options), including names used inside macros and `format!`-style
/// `{name}` captures. It over-approximates: a name bound inside the block and
/// used there is listed too.
pub(crate) fn used_names(block: &Block<'_>) -> BTreeSet<String> {
    let mut names = UsedNames(BTreeSet::new());
    plain_exprs(block, &mut |expr| names.visit_expr(expr));
    names.0
}

/// [`used_names`] for one statement.
pub(crate) fn stmt_used_names(stmt: &Stmt<'_>) -> BTreeSet<String> {
    let mut names = UsedNames(BTreeSet::new());
    stmt_exprs(stmt, &mut |expr| names.visit_expr(expr));
    names.0
}

struct UsedNames(BTreeSet<String>);

impl<'ast> Visit<'ast> for UsedNames {
    fn visit_expr_path(&mut self, node: &'ast syn::ExprPath) {
        if node.qself.is_none()
            && let Some(ident) = node.path.get_ident()
        {
            self.0.insert(ident.to_string());
        }
        syn::visit::visit_expr_path(self, node);
    }

    fn visit_macro(&mut self, node: &'ast syn::Macro) {
        tokens_names(node.tokens.clone(), &mut self.0);
    }
}

fn tokens_names(tokens: TokenStream, out: &mut BTreeSet<String>) {
    for token in tokens {
        match token {
            TokenTree::Ident(ident) => {
                out.insert(ident.to_string());
            }
            TokenTree::Group(group) => tokens_names(group.stream(), out),
            TokenTree::Literal(literal) => format_captures(&literal.to_string(), out),
            TokenTree::Punct(_) => {}
        }
    }
}

/// `{name}` and `{name:?}` in a string literal: names a format macro captures.
fn format_captures(literal: &str, out: &mut BTreeSet<String>) {
    if !literal.starts_with('"') {
        return;
    }
    let mut rest = literal;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if rest.starts_with('{') {
            rest = &rest[1..];
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
        {
            out.insert(name);
        }
    }
}
