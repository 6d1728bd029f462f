//! When the store, not the business, fails: journal writes are retried, and
//! a run whose store stays unwell is halted, not failed.
//!
//! A journal write that fails because the store is full, locked, unreachable
//! or damaged says nothing about the run: failing the run (and rolling it
//! back) would undo work that succeeded. So such a write is tried again under
//! the engine's [journal retry policy](crate::EngineBuilder::journal_retries);
//! if the store keeps failing, the run is **suspended**: the engine stops
//! driving it, writes nothing more for it, leaves it running in the store and
//! lists it in [`Engine::health`](crate::Engine::health), and
//! [`Engine::resume`](crate::Engine::resume) continues it once the store is
//! well. A write refused because another worker took the run over
//! ([`StoreError::LeaseLost`]) halts the run the same way, at once: it is the
//! other worker's now.

use std::future::Future;

use super::RunContext;
use crate::StoreError;

impl RunContext {
    /// Writes to the run's journal with `write`, called again for every try.
    ///
    /// Returns the run's own write errors (a step journaled twice, a value
    /// that does not encode, a finished run). On a store fault that outlasts
    /// the retries, or a lost lease, the run is halted and this never
    /// resolves: the run's task drops the body.
    pub(crate) async fn write_journal<T, F, Fut>(&self, write: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        match with_store_retries(&self.engine, write).await {
            Ok(written) => Ok(written),
            Err(error) if halts(&error) => self.halt(error).await,
            Err(error) => Err(error),
        }
    }

    /// [`write_journal`](Self::write_journal) after a first try, made
    /// without `write`, failed with `error`: the tries left are `write`'s.
    pub(crate) async fn write_journal_after<T, F, Fut>(
        &self,
        error: StoreError,
        write: F,
    ) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        match retry_store_write(&self.engine, error, write).await {
            Ok(written) => Ok(written),
            Err(error) if halts(&error) => self.halt(error).await,
            Err(error) => Err(error),
        }
    }

    /// Halts the run because of `error`; never resolves.
    pub(crate) async fn halt<T>(&self, error: StoreError) -> T {
        tracing::warn!(run = %self.run, %error, "the run is halted: the store failed or the run moved to another worker");
        self.live.halt(error);
        std::future::pending().await
    }
}

/// Whether a journal write that failed with `error` halts the run rather than
/// failing it.
///
/// A run's own writes never follow its end, so a write refused because the
/// run finished ([`StoreError::RunFinished`]) means another worker ended it
/// (this one was paused or cut off meanwhile): it is dropped as a lost
/// lease, not failed and rolled back.
pub(crate) fn halts(error: &StoreError) -> bool {
    error.is_store_fault()
        || matches!(
            error,
            StoreError::LeaseLost { .. }
                | StoreError::LeaseHeld { .. }
                | StoreError::RunFinished { .. }
        )
}

/// Runs `write`, and again while the store fails transiently and the
/// engine's journal retry policy has attempts left; the last result.
pub(crate) async fn with_store_retries<T, F, Fut>(
    engine: &super::Engine,
    mut write: F,
) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    match write().await {
        Ok(written) => Ok(written),
        Err(error) => retry_store_write(engine, error, write).await,
    }
}

/// [`with_store_retries`] after its first try failed with `error`.
async fn retry_store_write<T, F, Fut>(
    engine: &super::Engine,
    mut error: StoreError,
    mut write: F,
) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let policy = engine.journal_retries();
    let mut delays = policy.backoff().delays();
    let mut attempt = 1;
    while error.is_transient() && attempt < policy.max_attempts() {
        let delay = delays.next().unwrap_or_default();
        tracing::warn!(%error, attempt, ?delay, "a journal write failed; trying again");
        tokio::time::sleep(delay).await;
        attempt += 1;
        match write().await {
            Ok(written) => return Ok(written),
            Err(again) => error = again,
        }
    }
    Err(error)
}
