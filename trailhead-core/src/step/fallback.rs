//! Fallbacks: a step that fails for good gives a value instead.

use std::fmt::Display;

use tokio::time::Instant;

use super::Journaled;
use crate::store::{StepOutcome, StepRecord};
use crate::{Event, RunContext, StepError, StepFailure, StoreError};

impl RunContext {
    /// The fallback of a step that failed with `error`: `value()`, journaled
    /// under the step's key as its `FellBack` outcome (so a resumed run
    /// replays it, and a rollback does not compensate it). Failures a
    /// fallback does not cover ([`StepFailure::falls_back`]) are returned as
    /// they are.
    #[doc(hidden)]
    // The error is the step's own (spec'd shape); this path is cold.
    #[allow(clippy::result_large_err)]
    pub async fn fall_back<T: Journaled, E: Display>(
        &self,
        error: StepError<E>,
        value: impl FnOnce() -> T,
    ) -> Result<T, StepError<E>> {
        if !error.failure.falls_back() {
            return Err(error);
        }
        let value = value();
        let encoded = match value.to_journal() {
            Ok(encoded) => encoded,
            Err(source) => {
                return Err(StepError {
                    failure: StepFailure::Journal(StoreError::encode(
                        self.run.clone(),
                        Some(error.step.clone()),
                        "fallback",
                        source,
                    )),
                    ..error
                });
            }
        };
        let now = Instant::now();
        let record = StepRecord {
            key: error.step.clone(),
            outcome: StepOutcome::FellBack(encoded),
            attempts: error.attempts,
            started_at: self.clock.wall_time(error.began.unwrap_or(now)),
            finished_at: self.clock.wall_time(now),
            retries: Vec::new(),
        };
        if let Err(store) = self
            .write_journal(|| self.journal.record_step(record.clone()))
            .await
        {
            return Err(StepError {
                failure: StepFailure::Journal(store),
                ..error
            });
        }
        self.live.progressed(now);
        tracing::info!(key = %error.step, failure = %error.failure, "step failed; fell back");
        self.engine.events().emit(|| Event::StepFellBack {
            run: self.run.clone(),
            step: error.step.clone(),
            error: error.failure.to_string(),
        });
        Ok(value)
    }
}
