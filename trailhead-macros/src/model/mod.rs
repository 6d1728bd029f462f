//! The model: a workflow resolved from its syntax.
//!
//! Lowering (`lower.rs`) turns the parse tree into this form: every step and call
//! becomes a *site* with its key name and what its options say, and every loop
//! knows its depth, so that a step's key is its site name plus the iteration index of
//! each loop around it. The model borrows the syntax it came from, so checks and the
//! expansion can still point at the user's tokens.

mod code;
pub(crate) mod exits;
pub(crate) mod graph;
mod lower;
pub(crate) mod options;
pub(crate) mod scope;
pub(crate) mod signals;
pub(crate) mod walk;

pub(crate) use code::as_written;
pub(crate) use lower::{lower, result_types};

use std::collections::BTreeSet;

use proc_macro2::Span;
use syn::{Expr, Ident, Type};

use crate::parse;

/// One workflow, resolved.
pub(crate) struct Workflow<'a> {
    pub(crate) def: &'a parse::WorkflowDef,
    /// `T` of `Result<T, E>`.
    pub(crate) ok_type: &'a Type,
    /// `E` of `Result<T, E>`.
    pub(crate) err_type: &'a Type,
    pub(crate) body: Block<'a>,
    /// Every step and call, in definition order; nodes refer to them by index.
    pub(crate) sites: Vec<Site>,
    /// The signals waited for, one per name.
    pub(crate) signals: Vec<signals::SignalDecl<'a>>,
}

/// A place in the definition where a step or a call runs.
pub(crate) struct Site {
    /// The key name: `.name(..)` or the function's name, `#n` added for repeats.
    pub(crate) name: String,
    /// Whether the name was given with `.name(..)`.
    pub(crate) explicit: bool,
    pub(crate) span: Span,
    /// How the site is undone when its run is rolled back, if it is.
    pub(crate) undo: Option<Undo>,
}

/// How a site is undone.
pub(crate) enum Undo {
    /// A step's `.compensate(..)`.
    Step(Box<options::Compensate>),
    /// A `call` of this workflow (the expression naming it): the child run
    /// is undone by its own compensations.
    Call(syn::Expr),
}

pub(crate) struct Block<'a> {
    pub(crate) stmts: Vec<Stmt<'a>>,
    /// How the statements run together; `None`: in order, as written.
    pub(crate) plan: Option<graph::Plan>,
    /// The bindings visible from outside the block, by name.
    pub(crate) outer: BTreeSet<String>,
}

pub(crate) enum Stmt<'a> {
    Let {
        syntax: &'a parse::Let,
        init: Option<Node<'a>>,
    },
    Expr {
        node: Node<'a>,
        semi: bool,
    },
    Item(&'a syn::Item),
}

pub(crate) enum Node<'a> {
    Step(Step<'a>),
    Call(Call<'a>),
    Sleep(Sleep<'a>),
    Signal(Signal<'a>),
    If(If<'a>),
    Match(Match<'a>),
    Loop(Loop<'a>),
    FanOut(FanOut<'a>),
    Block(Block<'a>),
    Rust(Rust<'a>),
}

/// `parallel(limit = n) for pat in expr { body }`: like a loop whose iterations
/// run at the same time; the item's index is element `depth` of a key path.
/// Also `stream(limit = n) for ..`, a stream loop whose items run `n` at once.
pub(crate) struct FanOut<'a> {
    pub(crate) syntax: &'a parse::FanOut,
    /// For a stream loop: its key's site and checkpoint options.
    pub(crate) stream: Option<StreamSite<'a>>,
    pub(crate) expr: Rust<'a>,
    pub(crate) body: Block<'a>,
    pub(crate) depth: usize,
    /// The bindings from outside the body that it uses: shared by reference
    /// with every iteration.
    pub(crate) captures: Vec<scope::Binding>,
}

/// What makes a loop a stream loop (`stream(every = n) for pat in source`):
/// the site of its checkpoint's key, its options, and, when its items run
/// one at a time, the `mut` bindings from outside that its body uses (its
/// accumulators, journaled at every checkpoint).
pub(crate) struct StreamSite<'a> {
    pub(crate) syntax: &'a parse::FanOut,
    pub(crate) site: usize,
    pub(crate) accumulators: Vec<scope::Binding>,
}

/// Plain Rust and the steps and calls inside it, in evaluation order (each is a
/// [`Node::Step`] or a [`Node::Call`]).
pub(crate) struct Rust<'a> {
    pub(crate) expr: &'a Expr,
    pub(crate) sites: Vec<Node<'a>>,
}

pub(crate) struct Step<'a> {
    pub(crate) syntax: &'a parse::Step,
    pub(crate) site: usize,
    /// How many loops enclose the step: the length of its key's index path.
    pub(crate) depth: usize,
    /// What its options say (`retry`, `timeout`, `name`, `map_err`, …).
    pub(crate) options: &'a options::StepOptions,
    /// The step is in a stream loop's body: not journaled by itself.
    pub(crate) streamed: bool,
}

/// `sleep 5s`: a durable timer, keyed like a step.
pub(crate) struct Sleep<'a> {
    pub(crate) syntax: &'a parse::Sleep,
    pub(crate) site: usize,
    pub(crate) depth: usize,
}

/// `signal "name"`: waits for a value sent to the run; keyed by the name.
pub(crate) struct Signal<'a> {
    pub(crate) syntax: &'a parse::Signal,
    pub(crate) site: usize,
    pub(crate) depth: usize,
    /// The type of the binding it initializes: `let a: Approval = signal "a";`.
    pub(crate) declared: Option<&'a Type>,
}

pub(crate) struct Call<'a> {
    pub(crate) syntax: &'a parse::Call,
    pub(crate) site: usize,
    pub(crate) depth: usize,
    pub(crate) options: &'a options::StepOptions,
}

pub(crate) struct If<'a> {
    pub(crate) syntax: &'a parse::If,
    pub(crate) cond: Rust<'a>,
    pub(crate) then_branch: Block<'a>,
    pub(crate) else_branch: Option<Else<'a>>,
}

pub(crate) enum Else<'a> {
    If(Box<If<'a>>),
    Block(Block<'a>),
}

pub(crate) struct Match<'a> {
    pub(crate) syntax: &'a parse::Match,
    pub(crate) scrutinee: Rust<'a>,
    pub(crate) arms: Vec<Arm<'a>>,
}

pub(crate) struct Arm<'a> {
    pub(crate) syntax: &'a parse::Arm,
    pub(crate) guard: Option<Rust<'a>>,
    pub(crate) body: Node<'a>,
}

pub(crate) struct Loop<'a> {
    pub(crate) kind: LoopKind<'a>,
    pub(crate) label: Option<&'a syn::Label>,
    pub(crate) body: Block<'a>,
    /// Depth of this loop (0 for the outermost); its index is element `depth` of a key path.
    pub(crate) depth: usize,
    /// Whether a step or call runs inside, so the iteration must be counted.
    pub(crate) counts: bool,
    pub(crate) span: Span,
}

pub(crate) enum LoopKind<'a> {
    /// `expr` is evaluated once, before the loop (outside its iterations).
    /// A stream loop whose items run one at a time is one of these too.
    For {
        pat: &'a syn::Pat,
        expr: Rust<'a>,
        stream: Option<StreamSite<'a>>,
    },
    /// `cond` is evaluated at the start of every iteration (inside it).
    While {
        cond: Rust<'a>,
    },
    Loop,
}

impl Block<'_> {
    /// Whether any step or call is inside.
    pub(crate) fn has_sites(&self) -> bool {
        self.stmts.iter().any(|stmt| match stmt {
            Stmt::Let { init, .. } => init.as_ref().is_some_and(Node::has_sites),
            Stmt::Expr { node, .. } => node.has_sites(),
            Stmt::Item(_) => false,
        })
    }
}

impl Node<'_> {
    pub(crate) fn has_sites(&self) -> bool {
        match self {
            Node::Step(_) | Node::Call(_) | Node::Sleep(_) | Node::Signal(_) => true,
            Node::If(node) => node.has_sites(),
            Node::Match(node) => {
                !node.scrutinee.sites.is_empty()
                    || node.arms.iter().any(|arm| {
                        arm.guard.as_ref().is_some_and(|g| !g.sites.is_empty())
                            || arm.body.has_sites()
                    })
            }
            // A stream loop journals its checkpoints, whatever its body holds.
            Node::Loop(node) => {
                node.counts
                    || matches!(&node.kind, LoopKind::For { expr, stream, .. }
                        if stream.is_some() || !expr.sites.is_empty())
            }
            Node::FanOut(fan_out) => {
                fan_out.stream.is_some()
                    || !fan_out.expr.sites.is_empty()
                    || fan_out.body.has_sites()
            }
            Node::Block(block) => block.has_sites(),
            Node::Rust(rust) => !rust.sites.is_empty(),
        }
    }
}

impl If<'_> {
    pub(crate) fn has_sites(&self) -> bool {
        !self.cond.sites.is_empty()
            || self.then_branch.has_sites()
            || match &self.else_branch {
                Some(Else::If(node)) => node.has_sites(),
                Some(Else::Block(block)) => block.has_sites(),
                None => false,
            }
    }
}

impl Workflow<'_> {
    pub(crate) fn name(&self) -> &Ident {
        &self.def.name
    }
}

/// For unit tests: `f` of the one workflow in `tokens`, which must lower
/// without errors.
#[cfg(test)]
pub(crate) fn with_workflow<T>(
    tokens: proc_macro2::TokenStream,
    f: impl FnOnce(&Workflow<'_>) -> T,
) -> T {
    let input = parse::input_of(quote::quote!((::trailhead) #tokens));
    let def = &input.workflows[0];
    let cx = crate::ctxt::Ctxt::new();
    let body = parse::body(&cx, def).expect("the body parses");
    let workflow = lower(&cx, def, &body);
    cx.check().expect("no errors");
    f(&workflow.expect("lowered"))
}
