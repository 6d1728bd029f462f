//! Blocking steps: synchronous functions run on tokio's blocking pool.

use std::fmt::Display;
use std::sync::Arc;

use super::{Journaled, StepResult, StepSpec};
use crate::{RunContext, StepError};

impl RunContext {
    /// Runs step `step` by calling `f` on tokio's blocking pool, once per
    /// attempt, with `step`'s retries and timeout.
    ///
    /// A timed-out attempt's thread cannot be stopped: it runs to its end and
    /// its result is dropped. A panic in `f` resumes in the attempt's future,
    /// where it fails the attempt like in an async step
    /// ([`StepFailure::Panicked`](crate::StepFailure::Panicked)).
    #[doc(hidden)]
    pub async fn step_blocking<F, R, P, C, D>(
        &self,
        step: StepSpec<'_>,
        f: F,
        retry_if: P,
        encode_error: C,
        decode_error: D,
    ) -> Result<R::Ok, StepError<R::Err>>
    where
        F: Fn() -> R + Send + Sync + 'static,
        R: StepResult + Send + 'static,
        R::Ok: Journaled,
        R::Err: Display + Send + 'static,
        P: Fn(&R::Err) -> bool,
        C: Fn(&R::Err) -> Option<crate::store::Value>,
        D: Fn(&crate::store::Value, &std::cell::Cell<Option<R::Err>>),
    {
        let f = Arc::new(f);
        let attempt = || on_blocking_pool(Arc::clone(&f));
        self.step(step, attempt, retry_if, encode_error, decode_error)
            .await
    }
}

/// Calls `f` on the blocking pool and waits for its result.
async fn on_blocking_pool<F, R>(f: Arc<F>) -> R
where
    F: Fn() -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    // The blocking thread has no task-locals: carry the step over.
    let current = super::current::current_step();
    match tokio::task::spawn_blocking(move || super::current::scoped_blocking(current, || f()))
        .await
    {
        Ok(result) => result,
        Err(error) => match error.try_into_panic() {
            // Caught around the attempt: the step fails with the message.
            Ok(payload) => std::panic::resume_unwind(payload),
            // Not started before the runtime shut down, which drops this run's
            // task too: there is no result to wait for.
            Err(_) => std::future::pending().await,
        },
    }
}
