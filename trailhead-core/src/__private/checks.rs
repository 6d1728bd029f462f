//! The checks `workflow!` asks rustc to make at the user's tokens.
//!
//! Generated code calls each step, call, fan-out and signal through a trait
//! written as `<_ as Trait>::method(..)` with every generated token located at
//! the user's expression. rustc then judges the user's types at that one span:
//! a mistake is one error there, worded by the trait's
//! `#[diagnostic::on_unimplemented]`, with no note pointing into this crate
//! (a bound on a function would add "required by a bound in …"). The
//! `#[diagnostic::do_not_recommend]` impls make rustc report the trait the
//! user missed (`Journaled`, not `Serialize` and `Deserialize` one by one)
//! and keep it from listing the impls here as "implemented for".
//!
//! The traits are re-exported, hidden, at the crate root only so that
//! rustc's messages name them by their short name.

use std::cell::Cell;
use std::convert::Infallible;
use std::fmt::Display;
use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::step::{Journaled, StepResult, StepSpec};
use crate::{Engine, EngineError, ErrorClass, RunContext, RunId, StepError, Workflow};

/// What a step's function returns, as the step runs it: a `Result` whose
/// output the journal can hold and whose error can be shown.
#[diagnostic::on_unimplemented(
    message = "a step must return `Result<T, E>`, found `{Self}`",
    label = "this step's function does not return a `Result`"
)]
pub trait StepReturn: Sized {
    /// The step's error (`StepResult::Err`). The trait has no supertrait so that a
    /// step whose function returns no `Result` is one error, at the step.
    type Failure;
    /// The step's output (`StepResult::Ok`).
    type Output;

    /// [`RunContext::step_once`]: `f` is called once.
    fn once<F, Fut, K, C, D>(
        ctx: &RunContext,
        step: StepSpec<'_>,
        f: F,
        classify: K,
        encode_error: C,
        decode_error: D,
    ) -> impl Future<Output = Result<Self::Output, StepError<Self::Failure>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Self>,
        K: Fn(&Self::Failure) -> ErrorClass,
        C: Fn(&Self::Failure) -> Option<crate::store::Value>,
        D: Fn(&crate::store::Value, &Cell<Option<Self::Failure>>);

    /// [`RunContext::step`]: `f` is called once per attempt.
    fn retried<F, Fut, P, C, D>(
        ctx: &RunContext,
        step: StepSpec<'_>,
        f: F,
        retry_if: P,
        encode_error: C,
        decode_error: D,
    ) -> impl Future<Output = Result<Self::Output, StepError<Self::Failure>>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Self>,
        P: Fn(&Self::Failure) -> bool,
        C: Fn(&Self::Failure) -> Option<crate::store::Value>,
        D: Fn(&crate::store::Value, &Cell<Option<Self::Failure>>);

    /// [`RunContext::step_blocking`]: `f` is called on the blocking pool.
    fn blocking<F, P, C, D>(
        ctx: &RunContext,
        step: StepSpec<'_>,
        f: F,
        retry_if: P,
        encode_error: C,
        decode_error: D,
    ) -> impl Future<Output = Result<Self::Output, StepError<Self::Failure>>>
    where
        F: Fn() -> Self + Send + Sync + 'static,
        Self: Send + 'static,
        Self::Failure: Send + 'static,
        P: Fn(&Self::Failure) -> bool,
        C: Fn(&Self::Failure) -> Option<crate::store::Value>,
        D: Fn(&crate::store::Value, &Cell<Option<Self::Failure>>);
}

// A blanket impl (its self type a parameter) so that rustc, finding a step
// that returns `u32`, says `StepResult` is missing rather than listing this
// impl.
impl<R> StepReturn for R
where
    R: StepResult,
    R::Ok: Journaled,
    R::Err: Display,
{
    type Failure = R::Err;
    type Output = R::Ok;

    fn once<F, Fut, K, C, D>(
        ctx: &RunContext,
        step: StepSpec<'_>,
        f: F,
        classify: K,
        encode_error: C,
        decode_error: D,
    ) -> impl Future<Output = Result<R::Ok, StepError<R::Err>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = R>,
        K: Fn(&R::Err) -> ErrorClass,
        C: Fn(&R::Err) -> Option<crate::store::Value>,
        D: Fn(&crate::store::Value, &Cell<Option<R::Err>>),
    {
        ctx.step_once(step, f, classify, encode_error, decode_error)
    }

    fn retried<F, Fut, P, C, D>(
        ctx: &RunContext,
        step: StepSpec<'_>,
        f: F,
        retry_if: P,
        encode_error: C,
        decode_error: D,
    ) -> impl Future<Output = Result<R::Ok, StepError<R::Err>>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = R>,
        P: Fn(&R::Err) -> bool,
        C: Fn(&R::Err) -> Option<crate::store::Value>,
        D: Fn(&crate::store::Value, &Cell<Option<R::Err>>),
    {
        ctx.step(step, f, retry_if, encode_error, decode_error)
    }

    fn blocking<F, P, C, D>(
        ctx: &RunContext,
        step: StepSpec<'_>,
        f: F,
        retry_if: P,
        encode_error: C,
        decode_error: D,
    ) -> impl Future<Output = Result<R::Ok, StepError<R::Err>>>
    where
        F: Fn() -> R + Send + Sync + 'static,
        R: Send + 'static,
        R::Err: Send + 'static,
        P: Fn(&R::Err) -> bool,
        C: Fn(&R::Err) -> Option<crate::store::Value>,
        D: Fn(&crate::store::Value, &Cell<Option<R::Err>>),
    {
        ctx.step_blocking(step, f, retry_if, encode_error, decode_error)
    }
}

/// The target of a `call`: a workflow defined with `workflow!`, which
/// implements this for its struct. Anything else has no impl, so
/// `Self::Workflow` is unknown to rustc and the rest of the call is not
/// checked again.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a workflow",
    label = "`call` needs a workflow defined with `workflow!`",
    note = "to run a plain `async fn`, use `step` instead of `call`"
)]
pub trait CallableWorkflow {
    /// The workflow.
    type Workflow: Workflow;
    /// The workflow, to call its typed `__call` on.
    fn workflow(self) -> Self::Workflow;
}

/// What a fan-out goes over: anything `for` can iterate.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not something a fan-out can go over",
    label = "expected a collection, a range or an iterator"
)]
pub trait FanOutItems: IntoIterator + Sized {
    /// [`fan_out`](crate::parallel::fan_out): the body per item, at most
    /// `limit` at once; the first error fails it.
    fn fan_out<F, Fut, T, E>(
        self,
        limit: usize,
        body: F,
    ) -> impl Future<Output = Result<Vec<T>, E>>
    where
        F: Fn(u32, Self::Item) -> Fut,
        Fut: Future<Output = Result<T, E>>;

    /// [`fan_out_all`](crate::parallel::fan_out_all): every item's result.
    fn fan_out_all<F, Fut, T, E>(
        self,
        limit: usize,
        body: F,
    ) -> impl Future<Output = Vec<Result<T, E>>>
    where
        F: Fn(u32, Self::Item) -> Fut,
        Fut: Future<Output = Result<T, E>>;
}

#[diagnostic::do_not_recommend]
impl<I: IntoIterator> FanOutItems for I {
    fn fan_out<F, Fut, T, E>(self, limit: usize, body: F) -> impl Future<Output = Result<Vec<T>, E>>
    where
        F: Fn(u32, I::Item) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        crate::parallel::fan_out(limit, self, body)
    }

    fn fan_out_all<F, Fut, T, E>(
        self,
        limit: usize,
        body: F,
    ) -> impl Future<Output = Vec<Result<T, E>>>
    where
        F: Fn(u32, I::Item) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        crate::parallel::fan_out_all(limit, self, body)
    }
}

/// The declared type of a signal: what its sites receive and its typed
/// sender sends.
#[diagnostic::on_unimplemented(
    message = "the type of this signal, `{Self}`, cannot be journaled",
    label = "a signal's type must implement `serde::Serialize` and `serde::de::DeserializeOwned`",
    note = "derive them: `#[derive(serde::Serialize, serde::Deserialize)]`"
)]
pub trait SignalValue: Sized {
    /// Checks that an encoded payload decodes as `Self`.
    const ACCEPTS: crate::workflow::SignalCheck;

    /// [`RunContext::signal`]. (`Self` is given as `PhantomData` rather
    /// than named in the path: rustc then judges the impl as it does a
    /// step's, one error.)
    fn receive(
        declared: PhantomData<Self>,
        ctx: &RunContext,
        name: &'static str,
        path: &[u32],
        signal: &'static str,
    ) -> impl Future<Output = Result<Self, StepError<Infallible>>>;

    /// [`RunContext::signal_within`].
    fn receive_within(
        declared: PhantomData<Self>,
        ctx: &RunContext,
        name: &'static str,
        path: &[u32],
        signal: &'static str,
        within: Duration,
    ) -> impl Future<Output = Result<Option<Self>, StepError<Infallible>>>;

    /// Sends `value` as signal `signal` to run `run` of `workflow`.
    fn send<W: Workflow>(
        engine: &Engine,
        run: &RunId,
        workflow: W,
        signal: &'static str,
        value: Self,
    ) -> impl Future<Output = Result<(), EngineError>>;
}

// Bounded on serde itself, not `Journaled`, so that rustc reports this
// trait, with its message, for a type that misses either.
#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> SignalValue for T {
    const ACCEPTS: crate::workflow::SignalCheck = crate::workflow::signal_accepts::<T>;

    fn receive(
        _: PhantomData<T>,
        ctx: &RunContext,
        name: &'static str,
        path: &[u32],
        signal: &'static str,
    ) -> impl Future<Output = Result<T, StepError<Infallible>>> {
        ctx.signal(name, path, signal)
    }

    fn receive_within(
        _: PhantomData<T>,
        ctx: &RunContext,
        name: &'static str,
        path: &[u32],
        signal: &'static str,
        within: Duration,
    ) -> impl Future<Output = Result<Option<T>, StepError<Infallible>>> {
        ctx.signal_within(name, path, signal, within)
    }

    fn send<W: Workflow>(
        engine: &Engine,
        run: &RunId,
        workflow: W,
        signal: &'static str,
        value: T,
    ) -> impl Future<Output = Result<(), EngineError>> {
        let _ = workflow;
        engine.learn::<W>();
        engine.signal_of(run, Some(W::name()), signal, value)
    }
}

/// Every site of a signal declares one type: the second site's type is
/// `Self`, the first's `T`.
#[diagnostic::on_unimplemented(
    message = "this signal is declared as `{T}` at its first site, so it cannot be `{Self}` here",
    label = "every site of a signal receives the same type"
)]
pub trait SameSignalType<T> {
    /// Nothing: the check is that this exists.
    fn same() {}
}

impl<T> SameSignalType<T> for T {}
