//! Driving a run's task: the body until it stops, the restart after a
//! panic, the rollback, and the recorded end.

use std::panic::AssertUnwindSafe;
use std::time::SystemTime;

use futures::FutureExt;
use tokio::time::Instant;

use super::launch::Start;
use super::unload::{release, unload};
use super::{RunContext, RunEnd, panic_message};
use crate::compensation::{Rollback, RollbackFailed};
use crate::step::Journaled;
use crate::store::{AfterCompensation, RunOutcome, Value};
use crate::{Event, StoreError, Workflow};

/// How the body's `select!` was left: the body returned, or something
/// stopped it first. Not how the run ended ([`RunEnd`] says that): the arms
/// are mapped to a `RunEnd` below, once its children finished.
enum BodyExit<T> {
    Returned(T),
    Cancelled,
    DeadlineExceeded,
    /// Unloaded until the time given, to be resumed then.
    Unloaded(Instant),
    /// Halted: the store failed for good or the run was taken over.
    Halted,
    /// `continue_as_new`: the next generation's input, encoded.
    Continued(Result<Value, StoreError>),
}

/// Runs the body until it returns, panics, is cancelled or passes its
/// deadline; rolls the run back if it did not complete; then records how the
/// run ended. A body that panics is driven again from its journal
/// (`restarts` counts how often it was).
///
/// A function giving an `async move` block rather than an `async fn`: the
/// block uses its captured context in place, where an `async fn` would keep
/// a second copy of its arguments in every run's task (512 B of a 3-step
/// run's task, measured by `benches/memory.rs`).
#[allow(clippy::manual_async_fn)] // on purpose, see above
pub(super) fn drive<W: Workflow>(
    mut ctx: RunContext,
    workflow: W,
    start: Start<W::Input>,
    restarts: u32,
) -> impl Future<Output = RunEnd<W>> + Send {
    async move {
        let began = Instant::now();
        let resumed_rollback = matches!(start, Start::Rollback(_));
        let (end, outcome) = match start {
            // Each generation of the run (see `continued`) in turn, on this task.
            Start::Body {
                mut input,
                deadline,
            } => loop {
                let body = async {
                    tokio::select! {
                        biased;
                        () = ctx.live.halted() => BodyExit::Halted,
                        () = ctx.live.cancel.cancelled() => BodyExit::Cancelled,
                        () = passed(deadline) => BodyExit::DeadlineExceeded,
                        until = ctx.unload_ready() => BodyExit::Unloaded(until),
                        next = ctx.continuation() => BodyExit::Continued(next),
                        result = workflow.execute(&ctx, input) => BodyExit::Returned(result),
                    }
                };
                // A panic is recorded as a failure instead of leaving the run "running".
                let ended = AssertUnwindSafe(body).catch_unwind().await;
                // Child runs finish (and are recorded) before their parent.
                ctx.wait_for_children().await;
                if let Some(error) = ctx.live.take_halt() {
                    return forget(&ctx, began, RunEnd::Halted(error));
                }
                break match ended {
                    Ok(BodyExit::Continued(next)) => match next_generation::<W>(&ctx, next).await {
                        Ok((next, next_input)) => {
                            ctx = next;
                            input = next_input;
                            continue;
                        }
                        Err(StoreError::Encode { source, .. }) => {
                            RunEnd::Unencodable(*source).failed()
                        }
                        Err(error) if super::halt::halts(&error) => {
                            return forget(&ctx, began, RunEnd::Halted(error));
                        }
                        Err(error) => return forget(&ctx, began, RunEnd::Unrecorded(error)),
                    },
                    Ok(BodyExit::Returned(Ok(output))) => match output.to_journal() {
                        Ok(value) => (RunEnd::Completed(output), RunOutcome::Completed(value)),
                        Err(error) => RunEnd::Unencodable(error).failed(),
                    },
                    Ok(BodyExit::Returned(Err(error))) => RunEnd::Failed(error).failed(),
                    Ok(BodyExit::Cancelled) => (RunEnd::Cancelled, RunOutcome::Cancelled),
                    Ok(BodyExit::DeadlineExceeded) => {
                        RunEnd::DeadlineExceeded(W::DEADLINE.unwrap_or_default()).failed()
                    }
                    Ok(BodyExit::Halted) => unreachable!("a halted run has its reason"),
                    Ok(BodyExit::Unloaded(until)) => {
                        // A deadline before the wake-up wakes it to be stopped.
                        let until = deadline.map_or(until, |deadline| deadline.min(until));
                        // A worker's run holds no lease while it sleeps.
                        if ctx.engine.works_on::<W>() {
                            return release(ctx, began, until).await;
                        }
                        return unload::<W>(ctx, until);
                    }
                    Err(payload) => {
                        let policy = ctx.engine.panic_restarts();
                        if restarts + 1 < policy.max_attempts() {
                            let error = panic_message(&*payload);
                            if let Some((ctx, start)) = reload::<W>(&ctx, restarts + 1, error).await
                            {
                                // Boxed: the future is recursive, and only a restart pays for it.
                                return Box::pin(drive(ctx, workflow, start, restarts + 1)).await;
                            }
                        }
                        RunEnd::Panicked(payload).failed()
                    }
                };
            },
            Start::Rollback(then) => (RunEnd::recorded(&then), then),
        };
        let (end, outcome) =
            if W::COMPENSATES && matches!(outcome, RunOutcome::Failed(_) | RunOutcome::Cancelled) {
                // A step whose entry was still being written when the body was
                // dropped (cancelled) is journaled first, then undone with the rest.
                let _ = ctx.journal.settled().await;
                match roll_back::<W>(&ctx, end, outcome, resumed_rollback).await {
                    Ok(ended) => ended,
                    // Left compensating: a resumed engine finishes the rollback.
                    Err(error) if super::halt::halts(&error) => {
                        return forget(&ctx, began, RunEnd::Halted(error));
                    }
                    Err(error) => return forget(&ctx, began, RunEnd::Unrecorded(error)),
                }
            } else {
                (end, outcome)
            };
        let finished =
            super::halt::with_store_retries(&ctx.engine, || ctx.journal.finish(outcome.clone()))
                .await;
        let end = match finished {
            Ok(()) => {
                ctx.engine.run_finished();
                end
            }
            // Left running: a resumed engine records the end.
            Err(error) if super::halt::halts(&error) => RunEnd::Halted(error),
            Err(error) => {
                tracing::error!(%error, "could not record how the run ended");
                match end {
                    // An output that is not recorded is not given out.
                    RunEnd::Completed(_) => RunEnd::Unrecorded(error),
                    end => end,
                }
            }
        };
        forget(&ctx, began, end)
    }
}

/// The run's next generation, written: its context (the same lease, the
/// journal `continued` wrote) and its input.
async fn next_generation<W: Workflow>(
    ctx: &RunContext,
    next: Result<Value, StoreError>,
) -> Result<(RunContext, W::Input), StoreError> {
    let value = next?;
    let input = Journaled::from_journal(&value)
        .map_err(|source| StoreError::decode(ctx.run.clone(), None, "input", source))?;
    let journaled = ctx.begin_next_generation(W::name(), value).await?;
    let next = RunContext::new(
        ctx.engine.clone(),
        ctx.run.clone(),
        W::name(),
        std::sync::Arc::clone(&ctx.journal),
        journaled,
        ctx.live.cancel.clone(),
        ctx.unloadable,
    );
    ctx.engine.track(&next);
    Ok((next, input))
}

/// Loads run `ctx` again from its journal, after the restart policy's
/// delay, to drive it again: its body panicked (the task driving it died),
/// which may have been a passing fault. `None` if it cannot be loaded.
async fn reload<W: Workflow>(
    ctx: &RunContext,
    restart: u32,
    error: &str,
) -> Option<(RunContext, Start<W::Input>)> {
    let engine = &ctx.engine;
    let run = ctx.run_id();
    let delay = engine
        .panic_restarts()
        .backoff()
        .delays()
        .nth(restart as usize - 1)
        .unwrap_or_default();
    tracing::warn!(%run, restart, ?delay, %error, "the run's body panicked; restarting it from its journal");
    engine.events().emit(|| Event::RunRestarting {
        run: run.clone(),
        workflow: W::name(),
        restart,
        delay,
        error: error.to_owned(),
    });
    // A cancellation meanwhile is not kept waiting: the next drive sees it.
    tokio::select! {
        () = tokio::time::sleep(delay) => {}
        () = ctx.live.cancel.cancelled() => {}
    }
    match engine
        .load::<W>(run, ctx.live.cancel.clone(), ctx.unloadable)
        .await
    {
        Ok((ctx, start, _)) => {
            engine.track(&ctx);
            Some((ctx, start))
        }
        Err(failure) => {
            let failure = failure.into_engine_error(run);
            tracing::error!(%run, %failure, "could not restart the run");
            None
        }
    }
}

/// Resolves at `deadline`; never without one.
async fn passed(deadline: Option<Instant>) {
    match deadline {
        // Boxed: most runs have no deadline, and a timer is 100 B or so
        // that every run's task would carry.
        Some(deadline) => Box::pin(tokio::time::sleep_until(deadline)).await,
        None => std::future::pending().await,
    }
}

/// Runs the compensations of the run's completed steps; gives the run's end
/// and outcome after them. An error if the store could not record the
/// rollback (the run is then left compensating).
async fn roll_back<W: Workflow>(
    ctx: &RunContext,
    end: RunEnd<W>,
    outcome: RunOutcome,
    resumed: bool,
) -> Result<(RunEnd<W>, RunOutcome), StoreError> {
    let rollback = Rollback {
        engine: &ctx.engine,
        resumed,
    };
    let Ok(then) = AfterCompensation::try_from(outcome.clone()) else {
        return Ok((end, outcome)); // not an end a rollback leads to
    };
    let undone = rollback
        .undo_run(ctx.run_id(), W::name(), then, W::compensation)
        .await?;
    match undone.result {
        Ok(()) => Ok((end, outcome)),
        Err(RollbackFailed::Compensation { step, error }) => {
            let cause = end.to_string();
            let outcome = RunOutcome::CompensationFailed {
                step: step.clone(),
                error: error.clone(),
                cause: cause.clone(),
            };
            Ok((RunEnd::CompensationFailed { step, error, cause }, outcome))
        }
        Err(RollbackFailed::Store(error)) => Err(error),
    }
}

/// The engine's last word on a run that ended (or was left to be resumed):
/// forgets it, emits its end, and gives the end to whoever waits.
pub(super) fn forget<W: Workflow>(ctx: &RunContext, began: Instant, end: RunEnd<W>) -> RunEnd<W> {
    ctx.engine.untrack(ctx.run_id());
    let end = match end {
        // Claiming the run again (to roll it back) found another live worker
        // holding it: the run was taken over, as a refused fenced write says.
        // Or its journal was closed: another worker ended it.
        RunEnd::Halted(StoreError::LeaseHeld { run, .. } | StoreError::RunFinished { run }) => {
            RunEnd::Halted(StoreError::LeaseLost {
                run,
                worker: ctx.engine.store().worker().clone(),
            })
        }
        end => end,
    };
    if let RunEnd::Halted(error) = &end
        && !matches!(error, StoreError::LeaseLost { .. })
    {
        ctx.engine.inner.runs.halt(super::SuspendedRun {
            run: ctx.run_id().clone(),
            workflow: W::name(),
            error: error.to_string(),
            since: SystemTime::now(),
        });
    }
    ctx.engine
        .events()
        .emit(|| end.event(ctx.run_id().clone(), W::name(), began.elapsed()));
    // A handle that saw its run unloaded waits through the engine.
    match ctx.engine.finish_unloaded(ctx.run_id(), Box::new(end)) {
        Some(end) => *end.downcast::<RunEnd<W>>().expect("the run's own end"),
        None => RunEnd::Forwarded,
    }
}
