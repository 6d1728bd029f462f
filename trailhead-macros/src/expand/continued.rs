//! `continue_as_new(input)`: in plain code, a call of the run context that
//! never returns (the run goes on as its next generation).

use quote::quote_spanned;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;

use super::paths::ctx_at;
use super::step::StepExpander;
use crate::model::exits::is_continue_as_new;

impl StepExpander<'_> {
    /// `expr` with each `continue_as_new(args)` in it (outside closures)
    /// made the run context's: its arguments are the next generation's
    /// parameters, checked against the workflow's input type.
    pub(super) fn continue_as_new(&self, expr: &mut syn::Expr) {
        struct Calls<'e, 'a> {
            expander: &'e StepExpander<'a>,
        }
        impl VisitMut for Calls<'_, '_> {
            fn visit_expr_mut(&mut self, node: &mut syn::Expr) {
                if let syn::Expr::Call(call) = node
                    && is_continue_as_new(call)
                {
                    for arg in &mut call.args {
                        self.visit_expr_mut(arg);
                    }
                    let span = call.func.span();
                    let ctx = ctx_at(span);
                    let input_type = &self.expander.input_type;
                    let args = call.args.iter();
                    let input = if call.args.len() == 1 {
                        quote_spanned!(call.args.span()=> #(#args)*)
                    } else {
                        quote_spanned!(call.args.span()=> (#(#args,)*))
                    };
                    *node = syn::Expr::Verbatim(quote_spanned! {span=>
                        match #ctx.continue_as_new::<#input_type>(#input).await {}
                    });
                    return;
                }
                syn::visit_mut::visit_expr_mut(self, node);
            }
            fn visit_expr_closure_mut(&mut self, _: &mut syn::ExprClosure) {}
        }
        Calls { expander: self }.visit_expr_mut(expr);
    }
}
