//! Visits every piece of plain Rust in a workflow body, for checks that judge it.

use crate::model::{Block, Else, If, LoopKind, Node, Rust, Stmt};
use crate::parse;

/// Calls `f` on each plain-Rust expression of `block`: statements, conditions,
/// scrutinees, guards, loop heads, and the arguments and options of steps and calls.
pub(crate) fn plain_exprs<'a>(block: &Block<'a>, f: &mut dyn FnMut(&'a syn::Expr)) {
    for stmt in &block.stmts {
        stmt_exprs(stmt, f);
    }
}

/// [`plain_exprs`] for one statement.
pub(crate) fn stmt_exprs<'a>(stmt: &Stmt<'a>, f: &mut dyn FnMut(&'a syn::Expr)) {
    match stmt {
        Stmt::Let {
            init: Some(node), ..
        }
        | Stmt::Expr { node, .. } => self::node(node, f),
        Stmt::Let { init: None, .. } | Stmt::Item(_) => {}
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

/// Calls `f` with the site index and options of every step and call in `stmt`,
/// nested ones included.
pub(crate) fn stmt_sites(stmt: &Stmt<'_>, f: &mut dyn FnMut(usize, &parse::StepOptions)) {
    match stmt {
        Stmt::Let {
            init: Some(node), ..
        }
        | Stmt::Expr { node, .. } => node_sites(node, f),
        Stmt::Let { init: None, .. } | Stmt::Item(_) => {}
    }
}

fn block_sites(block: &Block<'_>, f: &mut dyn FnMut(usize, &parse::StepOptions)) {
    block.stmts.iter().for_each(|stmt| stmt_sites(stmt, f));
}

fn rust_sites(rust: &Rust<'_>, f: &mut dyn FnMut(usize, &parse::StepOptions)) {
    rust.sites.iter().for_each(|site| node_sites(site, f));
}

fn node_sites(node: &Node<'_>, f: &mut dyn FnMut(usize, &parse::StepOptions)) {
    match node {
        Node::Step(step) => f(step.site, &step.options),
        Node::Call(call) => f(call.site, &call.options),
        Node::Rust(rust) => rust_sites(rust, f),
        Node::If(branch) => if_sites(branch, f),
        Node::Match(branch) => {
            rust_sites(&branch.scrutinee, f);
            for arm in &branch.arms {
                if let Some(guard) = &arm.guard {
                    rust_sites(guard, f);
                }
                node_sites(&arm.body, f);
            }
        }
        Node::Loop(looped) => {
            match &looped.kind {
                LoopKind::For { expr, .. } => rust_sites(expr, f),
                LoopKind::While { cond } => rust_sites(cond, f),
                LoopKind::Loop => {}
            }
            block_sites(&looped.body, f);
        }
        Node::FanOut(fan_out) => {
            rust_sites(&fan_out.expr, f);
            block_sites(&fan_out.body, f);
        }
        Node::Block(block) => block_sites(block, f),
    }
}

fn if_sites(branch: &If<'_>, f: &mut dyn FnMut(usize, &parse::StepOptions)) {
    rust_sites(&branch.cond, f);
    block_sites(&branch.then_branch, f);
    match &branch.else_branch {
        Some(Else::If(inner)) => if_sites(inner, f),
        Some(Else::Block(block)) => block_sites(block, f),
        None => {}
    }
}
