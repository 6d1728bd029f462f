//! `continue_as_new(input)`: a run that would loop for months ends its
//! journal and goes on as its next generation, with the same id and a new
//! input, so its journal stays bounded however long it lives.
//!
//! The next generation is written in one store write
//! ([`RunWriter::continue_as_new`](crate::store::RunWriter::continue_as_new)):
//! the journal becomes one entry, `~generation`, holding the run's
//! [`Generation`]; the signals it received go, those not yet received stay
//! (an entity workflow misses no message); the input is replaced. Then the
//! body runs again from the top with the new input, on the same task and
//! lease. A crash before that write resumes the generation before, which
//! reaches `continue_as_new` again; after it, the new one.

use std::convert::Infallible;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::RunContext;
use crate::store::{StepOutcome, StepRecord, Value};
use crate::{Event, RunId, StepKey, StoreError};

/// What opens a run's journal after `continue_as_new`: how many times the
/// run went on as new (its first generation is 0 and has no such entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Generation {
    /// The generation the journal is of: 1 after the first `continue_as_new`.
    pub generation: u64,
}

/// Asked by the body, taken by the driver.
#[derive(Debug, Default)]
pub(crate) struct Continuation {
    next: std::sync::Mutex<Option<Result<Value, StoreError>>>,
    asked: tokio::sync::Notify,
}

impl RunContext {
    /// Ends this generation of the run and goes on as the next one with
    /// `input`: what `continue_as_new(input)` in a workflow does. Never
    /// returns: the body is dropped and runs again from the top.
    #[doc(hidden)]
    pub async fn continue_as_new<I: Serialize + DeserializeOwned>(&self, input: I) -> Infallible {
        let next = Value::encode(&input)
            .map_err(|source| StoreError::encode(self.run.clone(), None, "input", source));
        *self
            .continuation
            .next
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(next);
        self.continuation.asked.notify_one();
        std::future::pending().await
    }

    /// Resolves with the next generation's input once the body asked for it
    /// (never in a replay, which runs nothing).
    pub(crate) async fn continuation(&self) -> Result<Value, StoreError> {
        if self.check.is_some() {
            return std::future::pending().await;
        }
        loop {
            let asked = self.continuation.asked.notified();
            if let Some(next) = self
                .continuation
                .next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take()
            {
                return next;
            }
            asked.await;
        }
    }

    /// The generation this context runs, read from its journal.
    pub(crate) fn generation_of(journaled: &[StepRecord]) -> u64 {
        journaled
            .iter()
            .find(|record| record.key.is_generation())
            .and_then(|record| match &record.outcome {
                StepOutcome::Completed(value) => value.decode::<Generation>().ok(),
                _ => None,
            })
            .map_or(0, |found| found.generation)
    }

    /// The id child runs of this generation are named under: the run's
    /// own for its first generation, `{run}~{generation}` after, so that a
    /// call at the same key in a later generation starts a child of its own.
    pub(crate) fn lineage(&self) -> RunId {
        match self.generation {
            0 => self.run.clone(),
            generation => RunId::new(format!("{}~{generation}", self.run)),
        }
    }

    /// Writes the run's next generation with `input`; gives the journal it
    /// starts with.
    pub(crate) async fn begin_next_generation(
        &self,
        workflow: &'static str,
        input: Value,
    ) -> Result<Vec<StepRecord>, StoreError> {
        let generation = self.generation + 1;
        let value = Value::encode(&Generation { generation }).map_err(|source| {
            StoreError::encode(
                self.run.clone(),
                Some(StepKey::generation()),
                "generation",
                source,
            )
        })?;
        let at = self.clock.wall_time(tokio::time::Instant::now());
        let marker = StepRecord {
            key: StepKey::generation(),
            outcome: StepOutcome::Completed(value),
            attempts: 1,
            started_at: at,
            finished_at: at,
            retries: Vec::new(),
        };
        // The entries still being written belong to the generation before.
        self.journal.settled().await?;
        super::halt::with_store_retries(&self.engine, || {
            self.journal.continue_as_new(input.clone(), marker.clone())
        })
        .await?;
        self.engine.events().emit(|| Event::RunContinuedAsNew {
            run: self.run.clone(),
            workflow,
            generation,
        });
        Ok(vec![marker])
    }
}
