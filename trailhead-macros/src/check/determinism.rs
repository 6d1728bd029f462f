//! Plain code between steps must be deterministic: on resume the body runs again and
//! only the steps' journaled outputs are replayed, so anything else it computes must
//! come out the same. This check rejects what certainly does not: `.await` (I/O
//! belongs in a step) and well-known clock and randomness calls. It cannot see
//! everything (a helper function may read the clock); the docs say so.

use syn::visit::Visit;

use crate::ctxt::Ctxt;
use crate::model::Workflow;
use crate::model::walk;

/// Paths whose call is non-deterministic, matched on their last segments.
const CLOCK_AND_RANDOMNESS: &[&[&str]] = &[
    &["SystemTime", "now"],
    &["Instant", "now"],
    &["Utc", "now"],
    &["Local", "now"],
    &["OffsetDateTime", "now_utc"],
    &["Uuid", "new_v4"],
    &["Uuid", "now_v7"],
    &["thread_rng"],
];

/// Crates whose every function is non-deterministic by design.
const RANDOM_CRATES: &[&str] = &["rand", "fastrand", "getrandom"];

pub(super) fn deterministic_body(cx: &Ctxt, workflow: &Workflow<'_>) {
    let mut visitor = Visitor { cx };
    walk::plain_exprs(&workflow.body, &mut |expr| visitor.visit_expr(expr));
}

struct Visitor<'c> {
    cx: &'c Ctxt,
}

impl<'ast> Visit<'ast> for Visitor<'_> {
    fn visit_expr_await(&mut self, node: &'ast syn::ExprAwait) {
        self.cx.error(
            node.await_token.span,
            "`.await` outside a step: only steps do I/O in a workflow; make this a `step`",
        );
        syn::visit::visit_expr_await(self, node);
    }

    fn visit_expr_call(&mut self, node: &'ast syn::ExprCall) {
        if let syn::Expr::Path(path) = &*node.func
            && let Some(what) = non_deterministic(&path.path)
        {
            self.cx.error(
                path.path
                    .segments
                    .last()
                    .map_or_else(proc_macro2::Span::call_site, |s| s.ident.span()),
                format!(
                    "`{what}()` is not deterministic: a workflow body runs again on resume and \
                     must compute the same values; call it inside a step"
                ),
            );
        }
        syn::visit::visit_expr_call(self, node);
    }
}

fn non_deterministic(path: &syn::Path) -> Option<String> {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let matches = CLOCK_AND_RANDOMNESS.iter().any(|suffix| {
        segments.ends_with(&suffix.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }) || (segments.len() > 1 && RANDOM_CRATES.contains(&segments[0].as_str()));
    matches.then(|| segments.join("::"))
}
