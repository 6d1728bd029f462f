//! Sending signals, checked against the definitions this engine knows.
//!
//! The engine learns a workflow's definition (its hash and declared signals,
//! [`Workflow::SIGNALS`]) when it starts or resumes a run of it, or sends a
//! signal through the workflow's typed sender. A signal sent to a run of a
//! known definition is checked before anything is stored: its name must be
//! one the workflow waits for and its value must decode as the declared type.
//! A run whose definition this process has not met (another process runs it,
//! or it has not been resumed yet) gets the signal unchecked; its waiting
//! step then fails if the value does not decode.

use std::collections::HashMap;
use std::sync::RwLock;

use serde::Serialize;

use super::Engine;
use crate::workflow::SignalSpec;
use crate::{EngineError, RunId, StoreError, Workflow};

/// The definitions this engine has met, by workflow name.
#[derive(Default)]
pub(super) struct Definitions(RwLock<HashMap<&'static str, Definition>>);

/// What a signal is checked against.
#[derive(Clone, Copy)]
struct Definition {
    hash: u64,
    compatible_with: &'static [u64],
    signals: &'static [SignalSpec],
}

impl Definition {
    fn of<W: Workflow>() -> Self {
        Self {
            hash: W::DEFINITION_HASH,
            compatible_with: W::COMPATIBLE_WITH,
            signals: W::SIGNALS,
        }
    }

    /// Whether a run recorded under `hash` is a run of this definition (one
    /// it may resume).
    fn runs(&self, hash: u64) -> bool {
        self.hash == hash || self.compatible_with.contains(&hash)
    }
}

impl Definitions {
    fn get(&self, workflow: &str) -> Option<Definition> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(workflow)
            .copied()
    }

    fn is_empty(&self) -> bool {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_empty()
    }
}

impl Engine {
    /// Remembers `W`'s definition, to check signals sent to its runs.
    pub(crate) fn learn<W: Workflow>(&self) {
        let definitions = &self.inner.definitions;
        if definitions
            .get(W::NAME)
            .is_some_and(|known| known.hash == W::DEFINITION_HASH)
        {
            return;
        }
        definitions
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(W::NAME, Definition::of::<W>());
    }

    /// Sends signal `name` with `value` to run `run`, checked as the module
    /// docs say; `workflow` is the workflow the sender is typed for, if it is.
    pub(crate) async fn signal_of<T: Serialize>(
        &self,
        run: &RunId,
        workflow: Option<&'static str>,
        name: &str,
        value: T,
    ) -> Result<(), EngineError> {
        let payload =
            crate::store::Value::encode_unread(&value).map_err(|source| StoreError::Encode {
                run: run.clone(),
                step: None,
                what: "signal",
                source: Box::new(source),
            })?;
        if workflow.is_some() || !self.inner.definitions.is_empty() {
            self.check_signal(run, workflow, name, &payload).await?;
        }
        self.store().send_signal(run, name, payload).await?;
        let waiter = self.signal_waiters().get(run).cloned();
        if let Some(waiter) = waiter {
            waiter.notify_waiters();
        }
        Ok(())
    }

    /// Refuses a signal the run's definition, if known here, does not take.
    async fn check_signal(
        &self,
        run: &RunId,
        workflow: Option<&'static str>,
        name: &str,
        payload: &crate::store::Value,
    ) -> Result<(), EngineError> {
        let Some(record) = self.store().run(run).await? else {
            return Err(StoreError::UnknownRun { run: run.clone() }.into());
        };
        if let Some(given) = workflow
            && record.workflow != given
        {
            return Err(EngineError::OtherWorkflow {
                run: run.clone(),
                recorded: record.workflow,
                given,
            });
        }
        if record.state.is_ended() {
            // The store refuses it: the run finished.
            return Ok(());
        }
        let Some(definition) = self
            .inner
            .definitions
            .get(&record.workflow)
            .filter(|definition| definition.runs(record.definition_hash))
        else {
            return Ok(());
        };
        let Some(spec) = definition.signals.iter().find(|spec| spec.name() == name) else {
            return Err(EngineError::UnknownSignal {
                run: run.clone(),
                workflow: record.workflow,
                signal: name.to_owned(),
                declared: definition.signals.iter().map(SignalSpec::name).collect(),
            });
        };
        spec.accepts(payload)
            .map_err(|source| EngineError::SignalType {
                run: run.clone(),
                workflow: record.workflow,
                signal: name.to_owned(),
                expected: spec.type_name(),
                source,
            })
    }
}
