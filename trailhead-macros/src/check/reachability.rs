//! Code after `return`, `break` or `continue` never runs; in a workflow that usually
//! means a step the author expects to run, so it is an error rather than a warning.

use syn::spanned::Spanned;

use crate::ctxt::Ctxt;
use crate::model::{Block, Else, Node, Stmt};

pub(super) fn no_code_after_exit(cx: &Ctxt, block: &Block<'_>) {
    let mut exit: Option<&'static str> = None;
    for stmt in &block.stmts {
        if let Some(word) = exit {
            cx.error(
                stmt_span(stmt),
                format!("unreachable code: the `{word}` above always leaves this block first"),
            );
            break;
        }
        match stmt {
            Stmt::Expr { node, .. } => {
                exit = exit_word(node);
                nested(cx, node);
            }
            Stmt::Let {
                init: Some(node), ..
            } => nested(cx, node),
            Stmt::Let { init: None, .. } | Stmt::Item(_) => {}
        }
    }
}

fn nested(cx: &Ctxt, node: &Node<'_>) {
    match node {
        Node::If(node) => {
            no_code_after_exit(cx, &node.then_branch);
            let mut rest = node.else_branch.as_ref();
            while let Some(branch) = rest {
                match branch {
                    Else::If(inner) => {
                        no_code_after_exit(cx, &inner.then_branch);
                        rest = inner.else_branch.as_ref();
                    }
                    Else::Block(block) => {
                        no_code_after_exit(cx, block);
                        rest = None;
                    }
                }
            }
        }
        Node::Match(node) => node.arms.iter().for_each(|arm| nested(cx, &arm.body)),
        Node::Loop(node) => no_code_after_exit(cx, &node.body),
        Node::FanOut(node) => no_code_after_exit(cx, &node.body),
        Node::Block(block) => no_code_after_exit(cx, block),
        Node::Step(_) | Node::Call(_) | Node::Rust(_) => {}
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
        Node::If(node) => node.syntax.if_token.span,
        Node::Match(node) => node.syntax.match_token.span,
        Node::Loop(node) => node.span,
        Node::FanOut(node) => node.syntax.parallel_token.span,
        Node::Block(block) => block
            .stmts
            .first()
            .map_or_else(proc_macro2::Span::call_site, stmt_span),
        Node::Rust(rust) => rust.expr.span(),
    }
}
