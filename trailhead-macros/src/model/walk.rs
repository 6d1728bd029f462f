//! Visits every piece of plain Rust in a workflow body, for checks that judge it.

use crate::model::options::{Duration, StepOptions};
use crate::model::{Block, Else, If, LoopKind, Node, Rust, Stmt};
use crate::parse;

/// Calls `f` on each plain-Rust expression of `block`: statements, conditions,
/// scrutinees, guards, loop heads, fan-out limits and items, and the arguments
/// and options of steps and calls. (syn does not look inside the site markers
/// in plain code; the sites' own arguments come as their nodes' expressions.)
pub(crate) fn plain_exprs<'a>(block: &Block<'a>, f: &mut dyn FnMut(&'a syn::Expr)) {
    block_nodes(block, &mut |node| node_exprs(node, f));
}

/// [`plain_exprs`] for one statement.
pub(crate) fn stmt_exprs<'a>(stmt: &Stmt<'a>, f: &mut dyn FnMut(&'a syn::Expr)) {
    stmt_nodes(stmt, &mut |node| node_exprs(node, f));
}

/// The plain expressions of `node` itself, not of the nodes inside it.
fn node_exprs<'a>(node: &Node<'a>, f: &mut dyn FnMut(&'a syn::Expr)) {
    match node {
        Node::Rust(rust) => f(rust.expr),
        Node::Sleep(sleep) => {
            if let Duration::Expr(expr) = &sleep.syntax.duration {
                f(expr);
            }
        }
        Node::Signal(signal) => {
            if let Some(Duration::Expr(expr)) = &signal.syntax.timeout {
                f(expr);
            }
        }
        Node::Step(step) => {
            target(&step.syntax.target, f);
            options(&step.syntax.options.written, f);
        }
        Node::Call(call) => {
            target(&call.syntax.target, f);
            options(&call.syntax.options.written, f);
        }
        Node::If(branch) => if_chain(branch).for_each(|link| f(link.cond.expr)),
        Node::Match(branch) => {
            f(branch.scrutinee.expr);
            branch
                .arms
                .iter()
                .filter_map(|arm| arm.guard.as_ref())
                .for_each(|guard| f(guard.expr));
        }
        Node::Loop(looped) => match &looped.kind {
            LoopKind::For { expr, .. } => f(expr.expr),
            LoopKind::While { cond } => f(cond.expr),
            LoopKind::Loop => {}
        },
        Node::FanOut(fan_out) => {
            if let Some(limit) = &fan_out.syntax.limit {
                f(limit);
            }
            f(fan_out.expr.expr);
        }
        Node::Block(_) => {}
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
pub(crate) fn stmt_sites(stmt: &Stmt<'_>, f: &mut dyn FnMut(usize, &StepOptions)) {
    stmt_nodes(stmt, &mut |node| match node {
        Node::Step(step) => f(step.site, step.options),
        Node::Call(call) => f(call.site, call.options),
        _ => {}
    });
}

/// [`stmt_sites`] without the blocks nested in the statement (an `if`'s
/// branches, a loop's body, …): the sites that belong to the statement's own
/// block. A `match` arm is no block: its sites are the statement's.
pub(crate) fn stmt_own_sites(stmt: &Stmt<'_>, f: &mut dyn FnMut(usize, &StepOptions)) {
    if let Stmt::Let {
        init: Some(node), ..
    }
    | Stmt::Expr { node, .. } = stmt
    {
        walk_node(node, false, &mut |node| match node {
            Node::Step(step) => f(step.site, step.options),
            Node::Call(call) => f(call.site, call.options),
            _ => {}
        });
    }
}

/// Calls `f` on every node of `block`, each before the nodes inside it: steps
/// and calls inside plain code, arms, branches, loop and fan-out bodies.
pub(crate) fn block_nodes<'m, 'a>(block: &'m Block<'a>, f: &mut dyn FnMut(&'m Node<'a>)) {
    block.stmts.iter().for_each(|stmt| stmt_nodes(stmt, f));
}

/// [`block_nodes`] for one statement.
pub(crate) fn stmt_nodes<'m, 'a>(stmt: &'m Stmt<'a>, f: &mut dyn FnMut(&'m Node<'a>)) {
    if let Stmt::Let {
        init: Some(node), ..
    }
    | Stmt::Expr { node, .. } = stmt
    {
        node_nodes(node, f);
    }
}

fn node_nodes<'m, 'a>(node: &'m Node<'a>, f: &mut dyn FnMut(&'m Node<'a>)) {
    walk_node(node, true, f);
}

/// Calls `f` on `node` and the nodes inside it; on those of its nested
/// blocks too if `into_blocks`.
fn walk_node<'m, 'a>(node: &'m Node<'a>, into_blocks: bool, f: &mut dyn FnMut(&'m Node<'a>)) {
    f(node);
    let rusts: Vec<&'m Rust<'a>> = match node {
        Node::Rust(rust) => vec![rust],
        Node::If(branch) => if_chain(branch).map(|link| &link.cond).collect(),
        Node::Match(branch) => std::iter::once(&branch.scrutinee)
            .chain(branch.arms.iter().filter_map(|arm| arm.guard.as_ref()))
            .collect(),
        Node::Loop(looped) => match &looped.kind {
            LoopKind::For { expr, .. } => vec![expr],
            LoopKind::While { cond } => vec![cond],
            LoopKind::Loop => Vec::new(),
        },
        Node::FanOut(fan_out) => vec![&fan_out.expr],
        Node::Step(_) | Node::Call(_) | Node::Sleep(_) | Node::Signal(_) | Node::Block(_) => {
            Vec::new()
        }
    };
    for rust in rusts {
        rust.sites
            .iter()
            .for_each(|site| walk_node(site, into_blocks, f));
    }
    if let Node::Match(branch) = node {
        branch
            .arms
            .iter()
            .for_each(|arm| walk_node(&arm.body, into_blocks, f));
    }
    if into_blocks {
        for block in child_blocks(node) {
            block_nodes(block, f);
        }
    }
}

/// The blocks directly inside `node`: an `if` chain's branches, a loop's or a
/// fan-out's body, a block itself. (A `match` arm is a node, not a block.)
pub(crate) fn child_blocks<'m, 'a>(node: &'m Node<'a>) -> Vec<&'m Block<'a>> {
    match node {
        Node::If(branch) => {
            let mut blocks: Vec<&Block<'a>> =
                if_chain(branch).map(|link| &link.then_branch).collect();
            let mut last = branch;
            while let Some(Else::If(inner)) = &last.else_branch {
                last = inner;
            }
            if let Some(Else::Block(other)) = &last.else_branch {
                blocks.push(other);
            }
            blocks
        }
        Node::Loop(looped) => vec![&looped.body],
        Node::FanOut(fan_out) => vec![&fan_out.body],
        Node::Block(block) => vec![block],
        Node::Step(_)
        | Node::Call(_)
        | Node::Sleep(_)
        | Node::Signal(_)
        | Node::Rust(_)
        | Node::Match(_) => Vec::new(),
    }
}

/// `if a {..} else if b {..} else if c {..}`: the `if` of each link.
fn if_chain<'m, 'a>(first: &'m If<'a>) -> impl Iterator<Item = &'m If<'a>> {
    std::iter::successors(Some(first), |link| match &link.else_branch {
        Some(Else::If(inner)) => Some(&**inner),
        _ => None,
    })
}
