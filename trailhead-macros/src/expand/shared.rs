//! Shared bindings: inside a fan-out's body (and a parallel block's statements)
//! a binding from outside is a reference, `let name = &name;`, so that every
//! iteration can read it at once. To keep the user's code meaning what it
//! says, each use of `name` becomes the place `(*name)`: `&name`, `name.field`,
//! `name.method()` and copies of `Copy` values work as before, and moving a
//! shared value out is a compile error on the user's token.

use std::collections::BTreeSet;

use proc_macro2::Span;
use quote::quote_spanned;
use syn::visit_mut::VisitMut;

use crate::model::scope::{Binding, pattern_bindings};

/// `expr` with every use of a name in `shared` (not shadowed inside `expr`)
/// turned into `(*name)`.
pub(crate) fn deref_shared(expr: &syn::Expr, shared: &BTreeSet<String>) -> syn::Expr {
    let mut expr = expr.clone();
    if !shared.is_empty() {
        Renamer {
            shared: shared.clone(),
        }
        .visit_expr_mut(&mut expr);
    }
    expr
}

/// The names a pattern binds, as strings.
pub(crate) fn bound_names(pat: &syn::Pat) -> Vec<String> {
    let mut bindings: Vec<Binding> = Vec::new();
    pattern_bindings(pat, &mut bindings);
    bindings.iter().map(|b| b.ident.to_string()).collect()
}

struct Renamer {
    shared: BTreeSet<String>,
}

impl Renamer {
    /// Visits with the names `pats` bind removed from the shared set.
    fn shadowed(&mut self, pats: &[&syn::Pat], f: impl FnOnce(&mut Self)) {
        let saved = self.shared.clone();
        for pat in pats {
            for name in bound_names(pat) {
                self.shared.remove(&name);
            }
        }
        f(self);
        self.shared = saved;
    }
}

fn deref(ident: &syn::Ident) -> syn::Expr {
    let span: Span = ident.span();
    syn::Expr::Verbatim(quote_spanned!(span=> (*#ident)))
}

impl VisitMut for Renamer {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        if let syn::Expr::Path(path) = expr
            && path.qself.is_none()
            && let Some(ident) = path.path.get_ident()
            && self.shared.contains(&ident.to_string())
        {
            *expr = deref(ident);
            return;
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }

    fn visit_field_value_mut(&mut self, field: &mut syn::FieldValue) {
        // `Point { x }` names the binding `x` without a path expression.
        if field.colon_token.is_none()
            && let syn::Member::Named(name) = &field.member
            && self.shared.contains(&name.to_string())
        {
            field.colon_token = Some(syn::Token![:](name.span()));
            field.expr = deref(name);
            return;
        }
        syn::visit_mut::visit_field_value_mut(self, field);
    }

    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        let saved = self.shared.clone();
        for stmt in &mut block.stmts {
            self.visit_stmt_mut(stmt);
            if let syn::Stmt::Local(local) = stmt {
                for name in bound_names(&local.pat) {
                    self.shared.remove(&name);
                }
            }
        }
        self.shared = saved;
    }

    fn visit_expr_closure_mut(&mut self, closure: &mut syn::ExprClosure) {
        let inputs: Vec<syn::Pat> = closure.inputs.iter().cloned().collect();
        let pats: Vec<&syn::Pat> = inputs.iter().collect();
        self.shadowed(&pats, |this| this.visit_expr_mut(&mut closure.body));
    }

    fn visit_arm_mut(&mut self, arm: &mut syn::Arm) {
        let pat = arm.pat.clone();
        self.shadowed(&[&pat], |this| {
            if let Some((_, guard)) = &mut arm.guard {
                this.visit_expr_mut(guard);
            }
            this.visit_expr_mut(&mut arm.body);
        });
    }

    fn visit_expr_for_loop_mut(&mut self, node: &mut syn::ExprForLoop) {
        self.visit_expr_mut(&mut node.expr);
        let pat = (*node.pat).clone();
        self.shadowed(&[&pat], |this| this.visit_block_mut(&mut node.body));
    }

    fn visit_expr_if_mut(&mut self, node: &mut syn::ExprIf) {
        self.visit_expr_mut(&mut node.cond);
        let lets = let_patterns(&node.cond);
        let pats: Vec<&syn::Pat> = lets.iter().collect();
        self.shadowed(&pats, |this| this.visit_block_mut(&mut node.then_branch));
        if let Some((_, other)) = &mut node.else_branch {
            self.visit_expr_mut(other);
        }
    }

    fn visit_expr_while_mut(&mut self, node: &mut syn::ExprWhile) {
        self.visit_expr_mut(&mut node.cond);
        let lets = let_patterns(&node.cond);
        let pats: Vec<&syn::Pat> = lets.iter().collect();
        self.shadowed(&pats, |this| this.visit_block_mut(&mut node.body));
    }

    fn visit_expr_let_mut(&mut self, node: &mut syn::ExprLet) {
        // Only the scrutinee is an expression; the pattern binds.
        self.visit_expr_mut(&mut node.expr);
    }
}

fn let_patterns(cond: &syn::Expr) -> Vec<syn::Pat> {
    match cond {
        syn::Expr::Let(node) => vec![(*node.pat).clone()],
        syn::Expr::Binary(node) => {
            let mut pats = let_patterns(&node.left);
            pats.extend(let_patterns(&node.right));
            pats
        }
        _ => Vec::new(),
    }
}
