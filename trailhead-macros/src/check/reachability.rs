//! Code after `return`, `break` or `continue` never runs; in a workflow that usually
//! means a step the author expects to run, so it is an error rather than a warning.

use syn::spanned::Spanned;

use crate::ctxt::Ctxt;
use crate::model::walk::{block_nodes, child_blocks};
use crate::model::{Block, Node, Stmt};

/// Checks `block` and every block inside it.
pub(super) fn no_code_after_exit(cx: &Ctxt, block: &Block<'_>) {
    check_block(cx, block);
    block_nodes(block, &mut |node| {
        for inner in child_blocks(node) {
            check_block(cx, inner);
        }
    });
}

fn check_block(cx: &Ctxt, block: &Block<'_>) {
    let mut exit: Option<&'static str> = None;
    for stmt in &block.stmts {
        if let Some(word) = exit {
            cx.error(
                stmt_span(stmt),
                format!("unreachable code: the `{word}` above always leaves this block first"),
            );
            break;
        }
        if let Stmt::Expr { node, .. } = stmt {
            exit = exit_word(node);
        }
    }
}

fn exit_word(node: &Node<'_>) -> Option<&'static str> {
    let Node::Rust(rust) = node else {
        return None;
    };
    match rust.expr {
        syn::Expr::Return(_) => Some("return"),
        syn::Expr::Break(_) => Some("break"),
        syn::Expr::Continue(_) => Some("continue"),
        _ => None,
    }
}

fn stmt_span(stmt: &Stmt<'_>) -> proc_macro2::Span {
    match stmt {
        Stmt::Let { syntax, .. } => syntax.let_token.span,
        Stmt::Expr { node, .. } => node_span(node),
        Stmt::Item(item) => item.span(),
    }
}

pub(crate) fn node_span(node: &Node<'_>) -> proc_macro2::Span {
    match node {
        Node::Step(step) => step.syntax.step_token.span,
        Node::Call(call) => call.syntax.call_token.span,
        Node::Sleep(sleep) => sleep.syntax.sleep_token.span,
        Node::Signal(signal) => signal.syntax.signal_token.span,
        Node::If(node) => node.syntax.if_token.span,
        Node::Match(node) => node.syntax.match_token.span,
        Node::Loop(node) => node.span,
        Node::FanOut(node) => node.syntax.head_span(),
        Node::Block(block) => block
            .stmts
            .first()
            .map_or_else(proc_macro2::Span::call_site, stmt_span),
        Node::Rust(rust) => rust.expr.span(),
    }
}
