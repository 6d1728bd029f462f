//! Rules for code whose parts run at the same time: a fan-out's iterations.

use syn::spanned::Spanned;
use syn::visit::Visit;

use crate::ctxt::Ctxt;
use crate::model::exits::{Exit, block_exits};
use crate::model::walk::{block_nodes, plain_exprs};
use crate::model::{Block, FanOut, Node};

/// Checks every fan-out in `block`, nested ones included.
pub(super) fn fan_outs(cx: &Ctxt, block: &Block<'_>) {
    block_nodes(block, &mut |node| {
        if let Node::FanOut(fan_out) = node {
            check(cx, fan_out);
        }
    });
}

fn check(cx: &Ctxt, fan_out: &FanOut<'_>) {
    if let Some(syn::Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Int(limit),
        ..
    })) = &fan_out.syntax.limit
        && limit.base10_parse::<u64>().is_ok_and(|n| n == 0)
    {
        let what = if fan_out.stream.is_some() {
            "a stream loop's limit"
        } else {
            "a fan-out limit"
        };
        cx.error(
            limit.span(),
            format!("{what} must be at least 1: it is how many items run at once"),
        );
    }
    for capture in fan_out.captures.iter().filter(|c| c.mutable) {
        let name = capture.ident.to_string();
        let span = first_use(&fan_out.body, &name).unwrap_or_else(|| capture.ident.span());
        let instead = if fan_out.stream.is_some() {
            "run the items one at a time (`stream` without `limit`), where it is an accumulator, \
             or chunk them and fan out inside"
        } else {
            "return a value from the body instead (the fan-out evaluates to them, in order)"
        };
        cx.error(
            span,
            format!(
                "`{name}` is a `mut` binding used by iterations that run at the same time: {instead}"
            ),
        );
    }
    leaves(cx, &fan_out.body);
}

/// `break`, `continue` (outside a loop of the body) and `return` cannot leave an
/// iteration that runs beside others.
fn leaves(cx: &Ctxt, block: &Block<'_>) {
    block_exits(block, false, &mut |exit, span| {
        let message = match exit {
            Exit::Return => {
                "`return` cannot leave a fan-out's iteration: the body's value is the item's result"
            }
            Exit::ContinueAsNew => {
                "`continue_as_new` cannot be inside a fan-out: its iterations run at the same time, and the run goes on as new from its body, not from one item"
            }
            Exit::Break => "`break` cannot leave a fan-out: its iterations run at the same time",
            Exit::Continue => {
                "`continue` cannot leave a fan-out's iteration: the body's value is the item's result"
            }
        };
        cx.error(span, message);
    });
}

/// Where `name` is first mentioned in `block`'s plain code.
fn first_use(block: &Block<'_>, name: &str) -> Option<proc_macro2::Span> {
    struct Find<'n> {
        name: &'n str,
        found: Option<proc_macro2::Span>,
    }
    impl<'ast> Visit<'ast> for Find<'_> {
        fn visit_expr_path(&mut self, node: &'ast syn::ExprPath) {
            if self.found.is_none() && node.path.is_ident(self.name) {
                self.found = Some(node.span());
            }
        }
    }
    let mut find = Find { name, found: None };
    plain_exprs(block, &mut |expr| find.visit_expr(expr));
    find.found
}
