//! Reading what the store recorded about a run: its journal and its record.

use super::Engine;
use crate::store::{RunRecord, StepRecord};
use crate::{EngineError, RunId, StoreError};

impl Engine {
    /// The journal of run `run`, in the order its steps finished.
    ///
    /// # Errors
    ///
    /// [`EngineError::UnknownRun`] if there is no such run;
    /// [`EngineError::Store`] if the store fails.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn journal(&self, run: &RunId) -> Result<Vec<StepRecord>, EngineError> {
        self.inner
            .store
            .journal(run)
            .await
            .map_err(|error| match error {
                StoreError::UnknownRun { run } => EngineError::UnknownRun { run },
                error => EngineError::Store(error),
            })
    }

    /// The record of run `run`, if there is one.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] if the store fails.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn run_record(&self, run: &RunId) -> Result<Option<RunRecord>, EngineError> {
        Ok(self.inner.store.run(run).await?)
    }
}
