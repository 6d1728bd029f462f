//! Reading what the store recorded about a run: its journal and its record.

use super::Engine;
use crate::store::{RunRecord, StepRecord};
use crate::{EngineError, RunId};

impl Engine {
    /// The journal of run `run`, in the order its steps finished.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] with [`StoreError::UnknownRun`](crate::StoreError::UnknownRun) if there is no
    /// such run, and if the store fails.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn journal(&self, run: &RunId) -> Result<Vec<StepRecord>, EngineError> {
        Ok(self.inner.store.journal(run).await?)
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
