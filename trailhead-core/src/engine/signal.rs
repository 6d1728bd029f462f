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

/// A workflow's definition as the engine checks runs against it: which
/// recorded hashes it may resume, and what a signal is checked against.
#[derive(Clone, Copy)]
pub(super) struct Definition {
    hash: u64,
    compatible_with: &'static [u64],
    signals: &'static [SignalSpec],
    /// Its graph's JSON ([`Workflow::GRAPH`]).
    graph: &'static str,
}

impl Definition {
    pub(super) fn of<W: Workflow>() -> Self {
        Self {
            hash: W::definition_hash(),
            compatible_with: W::COMPATIBLE_WITH,
            signals: W::SIGNALS,
            graph: W::GRAPH,
        }
    }

    /// The definition's own hash.
    pub(super) fn hash(&self) -> u64 {
        self.hash
    }

    /// The older hashes it declares itself compatible with.
    pub(super) fn compatible(&self) -> &'static [u64] {
        self.compatible_with
    }

    /// Whether a run recorded under `hash` is a run of this definition (one
    /// it may resume).
    pub(super) fn runs(&self, hash: u64) -> bool {
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
    /// Sends signal `name` with `value` to run `run`: kept durably by the store
    /// until the run's `signal "name"` receives it, also when sent before the
    /// run waits for it or while the process running it is down. Signals of
    /// one name are received in the order sent.
    ///
    /// When this engine knows the run's definition (it started or resumed a
    /// run of that workflow, or sent it a signal through the workflow's typed
    /// sender, `review::signal_approval(&engine, &run, value)`), the signal is
    /// checked first and nothing is stored if it is refused. A run whose
    /// definition this process has not met gets the signal unchecked: a value
    /// of the wrong type then fails the receiving step, with a
    /// [`StoreError::Decode`] naming the run and the step. The typed sender
    /// checks the type at compile time instead.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] with [`StoreError::UnknownRun`] if there is no
    /// such run, with [`StoreError::RunFinished`] if it finished, and with
    /// [`StoreError::Encode`] if `value` does not serialize or would not
    /// read back as it is ([`Value::encode`](crate::store::Value::encode));
    /// for a run of a known definition, [`EngineError::UnknownSignal`] if the
    /// workflow waits for no signal `name` and [`EngineError::SignalType`] if
    /// `value` does not decode as the type it declares.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not have sent the signal.
    pub async fn signal<T: serde::Serialize>(
        &self,
        run: &RunId,
        name: &str,
        value: T,
    ) -> Result<(), EngineError> {
        self.signal_of(run, None, name, value).await
    }

    /// Remembers `W`'s definition, to check signals sent to its runs.
    /// The graph (JSON) of workflow `name`, if this engine ran it; else
    /// empty.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn graph_of(&self, name: &str) -> &'static str {
        self.inner
            .definitions
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .map_or("", |definition| definition.graph)
    }

    pub(crate) fn learn<W: Workflow>(&self) {
        let definitions = &self.inner.definitions;
        if definitions
            .get(W::name())
            .is_some_and(|known| known.hash == W::definition_hash())
        {
            return;
        }
        definitions
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(W::name(), Definition::of::<W>());
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
        let payload = crate::store::Value::encode_unread(&value)
            .map_err(|source| StoreError::encode(run.clone(), None, "signal", source))?;
        if workflow.is_some() || !self.inner.definitions.is_empty() {
            self.check_signal(run, workflow, name, &payload).await?;
        }
        self.store().send_signal(run, name, payload).await?;
        self.inner.runs.wake_signal_waiter(run);
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
