//! Where control can leave a piece of a body: `return` anywhere, and `break` or
//! `continue` outside any loop of that piece. A fan-out's iteration cannot be
//! left that way, and a block whose statements can does not run as a graph.

use proc_macro2::Span;
use syn::visit::Visit;

use super::{Block, Else, LoopKind, Node, Stmt};

/// Whether `expr` is a call `continue_as_new(..)`, which leaves the body
/// for the run's next generation.
pub(crate) fn is_continue_as_new(expr: &syn::ExprCall) -> bool {
    matches!(&*expr.func, syn::Expr::Path(path)
        if path.qself.is_none() && path.path.is_ident("continue_as_new"))
}

/// How control leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    Return,
    /// `continue_as_new(..)`: leaves like `return`.
    ContinueAsNew,
    Break,
    Continue,
}

/// Calls `f` for every exit in `block` that leaves it (with `in_loop`, `break`
/// and `continue` are taken to target a loop inside, so they do not count).
pub(crate) fn block_exits(block: &Block<'_>, in_loop: bool, f: &mut dyn FnMut(Exit, Span)) {
    for stmt in &block.stmts {
        stmt_exits(stmt, in_loop, f);
    }
}

/// The same for one statement.
pub(crate) fn stmt_exits(stmt: &Stmt<'_>, in_loop: bool, f: &mut dyn FnMut(Exit, Span)) {
    if let Stmt::Let {
        init: Some(node), ..
    }
    | Stmt::Expr { node, .. } = stmt
    {
        node_exits(node, in_loop, f);
    }
}

fn node_exits(node: &Node<'_>, in_loop: bool, f: &mut dyn FnMut(Exit, Span)) {
    let visit = |expr: &syn::Expr, f: &mut dyn FnMut(Exit, Span)| {
        Finder {
            loops: usize::from(in_loop),
            f,
        }
        .visit_expr(expr);
    };
    match node {
        Node::Rust(rust) => visit(rust.expr, f),
        Node::Loop(looped) => {
            match &looped.kind {
                LoopKind::For { expr, .. } => visit(expr.expr, f),
                LoopKind::While { cond } => visit(cond.expr, f),
                LoopKind::Loop => {}
            }
            block_exits(&looped.body, true, f);
        }
        Node::If(branch) => {
            visit(branch.cond.expr, f);
            block_exits(&branch.then_branch, in_loop, f);
            match &branch.else_branch {
                Some(Else::Block(other)) => block_exits(other, in_loop, f),
                Some(Else::If(inner)) => node_exits_if(inner, in_loop, f),
                None => {}
            }
        }
        Node::Match(branch) => {
            visit(branch.scrutinee.expr, f);
            for arm in &branch.arms {
                node_exits(&arm.body, in_loop, f);
            }
        }
        Node::Block(inner) => block_exits(inner, in_loop, f),
        // A fan-out's own rules keep its body from leaving (see `check`).
        Node::Step(_) | Node::Call(_) | Node::Sleep(_) | Node::Signal(_) | Node::FanOut(_) => {}
    }
}

fn node_exits_if(branch: &super::If<'_>, in_loop: bool, f: &mut dyn FnMut(Exit, Span)) {
    Finder {
        loops: usize::from(in_loop),
        f,
    }
    .visit_expr(branch.cond.expr);
    block_exits(&branch.then_branch, in_loop, f);
    match &branch.else_branch {
        Some(Else::Block(other)) => block_exits(other, in_loop, f),
        Some(Else::If(inner)) => node_exits_if(inner, in_loop, f),
        None => {}
    }
}

struct Finder<'f> {
    loops: usize,
    f: &'f mut dyn FnMut(Exit, Span),
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_expr_return(&mut self, node: &'ast syn::ExprReturn) {
        (self.f)(Exit::Return, node.return_token.span);
    }
    fn visit_expr_break(&mut self, node: &'ast syn::ExprBreak) {
        if self.loops == 0 || node.label.is_some() {
            (self.f)(Exit::Break, node.break_token.span);
        }
    }
    fn visit_expr_continue(&mut self, node: &'ast syn::ExprContinue) {
        if self.loops == 0 || node.label.is_some() {
            (self.f)(Exit::Continue, node.continue_token.span);
        }
    }
    fn visit_expr_for_loop(&mut self, node: &'ast syn::ExprForLoop) {
        self.loops += 1;
        syn::visit::visit_expr_for_loop(self, node);
        self.loops -= 1;
    }
    fn visit_expr_while(&mut self, node: &'ast syn::ExprWhile) {
        self.loops += 1;
        syn::visit::visit_expr_while(self, node);
        self.loops -= 1;
    }
    fn visit_expr_loop(&mut self, node: &'ast syn::ExprLoop) {
        self.loops += 1;
        syn::visit::visit_expr_loop(self, node);
        self.loops -= 1;
    }
    /// `continue_as_new(..)` leaves the body like `return`.
    fn visit_expr_call(&mut self, node: &'ast syn::ExprCall) {
        if is_continue_as_new(node) {
            (self.f)(Exit::ContinueAsNew, syn::spanned::Spanned::span(&node.func));
        }
        syn::visit::visit_expr_call(self, node);
    }
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
}
