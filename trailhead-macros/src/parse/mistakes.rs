//! Reports the mistakes each site's options hold (see [`Options`]), in
//! definition order, once the body has parsed.

use super::step::Options;
use super::{Block, Else, If, Node, Rust, Site, Stmt};
use crate::ctxt::Ctxt;

pub(super) fn block(cx: &Ctxt, block: &Block) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let(syntax) => {
                if let Some((_, init)) = &syntax.init {
                    node(cx, init);
                }
            }
            Stmt::Expr(expr, _) => node(cx, expr),
            Stmt::Item(_) => {}
        }
    }
}

fn node(cx: &Ctxt, node: &Node) {
    match node {
        Node::Step(step) => options(cx, &step.options),
        Node::Call(call) => options(cx, &call.options),
        Node::Sleep(_) | Node::Signal(_) => {}
        Node::If(branch) => if_(cx, branch),
        Node::Match(branch) => {
            rust(cx, &branch.expr);
            for arm in &branch.arms {
                if let Some((_, guard)) = &arm.guard {
                    rust(cx, guard);
                }
                self::node(cx, &arm.body);
            }
        }
        Node::For(looped) => {
            rust(cx, &looped.expr);
            block(cx, &looped.body);
        }
        Node::While(looped) => {
            rust(cx, &looped.cond);
            block(cx, &looped.body);
        }
        Node::Loop(looped) => block(cx, &looped.body),
        Node::FanOut(fan_out) => {
            rust(cx, &fan_out.expr);
            block(cx, &fan_out.body);
        }
        Node::Block(inner) => block(cx, inner),
        Node::Rust(plain) => rust(cx, plain),
    }
}

fn if_(cx: &Ctxt, branch: &If) {
    rust(cx, &branch.cond);
    block(cx, &branch.then_branch);
    match &branch.else_branch {
        Some((_, Else::If(inner))) => if_(cx, inner),
        Some((_, Else::Block(other))) => block(cx, other),
        None => {}
    }
}

fn rust(cx: &Ctxt, plain: &Rust) {
    for site in &plain.sites {
        match site {
            Site::Step(step) => options(cx, &step.options),
            Site::Call(call) => options(cx, &call.options),
            Site::Sleep(_) | Site::Signal(_) => {}
        }
    }
}

fn options(cx: &Ctxt, options: &Options) {
    if let Some(mistakes) = &options.mistakes {
        cx.push(mistakes.clone());
    }
}
