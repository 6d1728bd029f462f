//! Visits every piece of plain Rust in a workflow body, for checks that judge it.

use crate::model::{Block, Else, If, LoopKind, Node, Rust, Stmt};
use crate::parse;

/// Calls `f` on each plain-Rust expression of `block`: statements, conditions,
/// scrutinees, guards, loop heads, and the arguments and options of steps and calls.
pub(crate) fn plain_exprs<'a>(block: &Block<'a>, f: &mut dyn FnMut(&'a syn::Expr)) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let {
                init: Some(node), ..
            }
            | Stmt::Expr { node, .. } => self::node(node, f),
            Stmt::Let { init: None, .. } | Stmt::Item(_) => {}
        }
    }
}

fn node<'a>(node: &Node<'a>, f: &mut dyn FnMut(&'a syn::Expr)) {
    match node {
        Node::Rust(rust) => self::rust(rust, f),
        Node::Step(step) => {
            target(&step.syntax.target, f);
            options(&step.syntax.options, f);
        }
        Node::Call(call) => {
            target(&call.syntax.target, f);
            options(&call.syntax.options, f);
        }
        Node::If(branch) => node_if(branch, f),
        Node::Match(branch) => {
            rust(&branch.scrutinee, f);
            for arm in &branch.arms {
                if let Some(guard) = &arm.guard {
                    rust(guard, f);
                }
                self::node(&arm.body, f);
            }
        }
        Node::Loop(looped) => {
            match &looped.kind {
                LoopKind::For { expr, .. } => rust(expr, f),
                LoopKind::While { cond } => rust(cond, f),
                LoopKind::Loop => {}
            }
            plain_exprs(&looped.body, f);
        }
        Node::FanOut(fan_out) => {
            if let Some(limit) = &fan_out.syntax.limit {
                f(limit);
            }
            rust(&fan_out.expr, f);
            plain_exprs(&fan_out.body, f);
        }
        Node::Block(block) => plain_exprs(block, f),
    }
}

/// The expression itself (syn does not look inside the site markers) and then the
/// arguments of the sites within it.
fn rust<'a>(rust: &Rust<'a>, f: &mut dyn FnMut(&'a syn::Expr)) {
    f(rust.expr);
    rust.sites.iter().for_each(|site| node(site, f));
}

fn node_if<'a>(branch: &If<'a>, f: &mut dyn FnMut(&'a syn::Expr)) {
    rust(&branch.cond, f);
    plain_exprs(&branch.then_branch, f);
    match &branch.else_branch {
        Some(Else::If(inner)) => node_if(inner, f),
        Some(Else::Block(block)) => plain_exprs(block, f),
        None => {}
    }
}

fn target<'a>(target: &'a parse::Target, f: &mut dyn FnMut(&'a syn::Expr)) {
    if let parse::Target::Method { receiver, .. } = target {
        f(receiver);
    }
    target.args().iter().for_each(&mut *f);
}

fn options<'a>(options: &'a [parse::RawOption], f: &mut dyn FnMut(&'a syn::Expr)) {
    for option in options {
        option.args.iter().for_each(&mut *f);
    }
}
