//! What a site's options and durations mean: the values the parser reads from
//! `.retry(..)`, `.timeout(..)`, `sleep ..` and the rest, which the model, the
//! checks, the expansion and the diagram use. Spans are kept where a later stage
//! reports at them (`irreversible`) or hands them to rustc (expressions).

use syn::{Expr, Ident, LitStr};

use crate::parse::{DurationLit, Target};

/// A duration: a literal known when compiling (`5s`), or a Rust expression of
/// type `Duration`. What `.timeout(..)`, `sleep ..` and a signal's `.timeout(..)`
/// take.
pub(crate) enum Duration {
    Literal(DurationLit),
    Expr(Expr),
}

/// The options of one step or call, read.
#[derive(Default)]
pub(crate) struct StepOptions {
    pub(crate) retry: Option<Retry>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) name: Option<LitStr>,
    pub(crate) map_err: Option<Expr>,
    /// `.after(a, b)`: bindings or step names this step waits for, though it
    /// reads nothing from them.
    pub(crate) after: Option<Vec<Ident>>,
    /// `.resource("payments")`: the engine's named limit each attempt holds.
    pub(crate) resource: Option<LitStr>,
    /// `.compensate(undo)` or `.compensate(undo, retry(5, ..))`.
    pub(crate) compensate: Option<Compensate>,
    /// `.irreversible()`: the step is declared to need no compensation.
    pub(crate) irreversible: Option<Ident>,
    /// `.fallback(value)`: what the step gives when it fails for good (for
    /// a fallback step, its call).
    pub(crate) fallback: Option<Expr>,
    /// `.fallback(step f(x))`: the step run instead, journaled under
    /// `{site}.fallback`.
    pub(crate) fallback_step: Option<Target>,
    /// `.breaker("payments")`: the engine's circuit breaker the step goes through.
    pub(crate) breaker: Option<LitStr>,
}

/// `.compensate(f)`: `f` undoes the step, given its output.
#[derive(Clone)]
pub(crate) struct Compensate {
    /// The function (or non-capturing closure) that undoes the step.
    pub(crate) func: Expr,
    /// Its retry policy, when not the default.
    pub(crate) retry: Option<Retry>,
}

/// `.retry(3, backoff = 100ms..10s, jitter = false, when = is_transient)` or `.retry(POLICY)`.
#[derive(Clone)]
pub(crate) struct Retry {
    pub(crate) policy: RetryPolicy,
    /// Which of the step's errors are retried; all of them when absent.
    pub(crate) when: Option<Expr>,
}

#[derive(Clone)]
pub(crate) enum RetryPolicy {
    Literal {
        attempts: u32,
        backoff: Option<Backoff>,
        jitter: Option<bool>,
    },
    /// A Rust expression of type `RetryPolicy`, for reuse across steps.
    Expr(Expr),
}

#[derive(Clone, Copy)]
pub(crate) enum Backoff {
    Exponential {
        initial: DurationLit,
        max: DurationLit,
    },
    Fixed(DurationLit),
}
