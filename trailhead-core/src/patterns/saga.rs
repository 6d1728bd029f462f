//! A saga over a list of reversible actions: all of them happen, or the
//! ones that happened are undone, last first.
//!
//! Use it when several changes to the world belong together (reserve stock,
//! charge a card, book a courier) and a failure half-way must not leave the
//! first ones standing. Each [`Action`] says how it is applied and how it is
//! undone; [`saga`] applies them one after another, each as a step with a
//! compensation (the workflow language's `.compensate(..)`, see
//! [Compensation](crate::workflow!#compensation-sagas)). When action `k` fails
//! for good, the run is rolled back: actions `k-1, …, 0` are undone in that
//! order, and the run ends [`Failed`](crate::RunStatus::Failed) with a
//! [`SagaError`] naming action `k`.
//!
//! # Policy knobs
//!
//! - [`Action::RETRY`]: how often an action is attempted before it fails for
//!   good (default: once);
//! - [`Action::UNDO_RETRY`]: how often an undo is attempted before the
//!   rollback stops (default: 5 attempts, 1 s to 1 min apart). An undo that
//!   fails for good ends the run
//!   [`CompensationFailed`](crate::RunStatus::CompensationFailed), naming the
//!   action.
//!
//! # What is journaled, what a resumed run redoes
//!
//! Action `i` is the step `action[i]`; its journal entry holds the action and
//! what it gave ([`Applied`]), so that its undo can run in another process,
//! given only that entry. Each undo that succeeded is journaled as
//! `undo:action[i]`. A run stopped while applying resumes at the first action
//! not journaled (that one is applied again: make it idempotent); a run
//! stopped during its rollback resumes the rollback and never runs an undo
//! that was journaled (the one in flight runs again).
//!
//! The flowchart is [`saga::MERMAID`](saga::MERMAID), or per instance
//! `<saga<A> as Workflow>::mermaid()`.
//!
//! # Examples
//!
//! ```
//! # extern crate trailhead_core as trailhead;
//! use std::sync::Mutex;
//! use trailhead::patterns::saga::{Action, saga};
//! use trailhead::{Engine, Error, RunError};
//!
//! static UNDONE: Mutex<Vec<String>> = Mutex::new(Vec::new());
//!
//! #[derive(Clone, serde::Serialize, serde::Deserialize)]
//! struct Reserve { sku: String, in_stock: bool }
//!
//! impl Action for Reserve {
//!     type Done = String;
//!     async fn apply(&self) -> Result<String, Error> {
//!         if !self.in_stock {
//!             return Err(Error::msg(format!("{} is sold out", self.sku)));
//!         }
//!         Ok(format!("reservation of {}", self.sku))
//!     }
//!     async fn undo(&self, reservation: String) -> Result<(), Error> {
//!         UNDONE.lock().unwrap().push(reservation);
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let reserve = |sku: &str, in_stock| Reserve { sku: sku.to_owned(), in_stock };
//! let engine = Engine::new();
//! let done = saga::run(&engine, vec![reserve("pen", true), reserve("ink", true)]).await;
//! assert_eq!(done.unwrap(), ["reservation of pen", "reservation of ink"]);
//!
//! let actions = vec![reserve("pen", true), reserve("ink", true), reserve("pad", false)];
//! let Err(RunError::Failed { error, .. }) = saga::run(&engine, actions).await else {
//!     panic!("the pad is sold out");
//! };
//! assert_eq!(error.index, 2);
//! assert_eq!(*UNDONE.lock().unwrap(), ["reservation of ink", "reservation of pen"]);
//! assert!(saga::<Reserve>::MERMAID.contains("action"));
//! # }
//! ```

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::{Backoff, Data, Error, RetryPolicy, StepError};

/// One reversible change: how it is applied and how it is undone.
///
/// The action itself is journaled with what it gave, so it is data
/// ([`Data`]) and its undo needs nothing else: it may run in another process
/// than the one that applied it.
pub trait Action: Data + Clone {
    /// What applying the action gives: the workflow's output for it, and
    /// what its undo is given.
    type Done: Data;

    /// How many attempts [`apply`](Action::apply) gets before the action
    /// fails for good (default: one).
    const RETRY: RetryPolicy = RetryPolicy::NONE;

    /// How many attempts [`undo`](Action::undo) gets before the rollback
    /// stops (default: 5, 1 s to 1 min apart).
    const UNDO_RETRY: RetryPolicy = RetryPolicy::attempts(5).with_backoff(Backoff::exponential(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(60),
    ));

    /// Applies the action.
    fn apply(&self) -> impl Future<Output = Result<Self::Done, Error>> + Send;

    /// Undoes the action, given what [`apply`](Action::apply) gave.
    fn undo(&self, done: Self::Done) -> impl Future<Output = Result<(), Error>> + Send;
}

/// An action that was applied, with what it gave: the journal entry of its
/// step, all its undo needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
// `Action: Data` already makes both serializable.
#[serde(bound = "")]
pub struct Applied<A: Action> {
    /// The action.
    pub action: A,
    /// What it gave.
    pub done: A::Done,
}

/// Why a saga failed: the action that failed for good. The actions before
/// it are undone when the run's rollback runs.
#[derive(Debug, thiserror::Error)]
#[error("action {index} of the saga failed, so the actions before it are undone: {source}")]
pub struct SagaError {
    /// The failed action's index in the list.
    pub index: usize,
    /// The step's failure: its key (`action[index]`), attempts and cause.
    #[source]
    pub source: StepError<Error>,
}

impl From<StepError<Error>> for SagaError {
    fn from(source: StepError<Error>) -> Self {
        Self {
            index: super::scatter_gather::index_of(&source.step),
            source,
        }
    }
}

/// The step of action `action`: applies it and keeps it with its result.
async fn apply<A: Action>(action: &A) -> Result<Applied<A>, Error> {
    let done = action.apply().await?;
    Ok(Applied {
        action: action.clone(),
        done,
    })
}

/// The compensation of an action's step.
async fn undo<A: Action>(applied: Applied<A>) -> Result<(), Error> {
    applied.action.undo(applied.done).await
}

crate::workflow! {
    /// Applies `actions` in order, each as the step `action[i]` with its undo
    /// as compensation: when one fails for good, the ones before it are
    /// undone, last first. Gives what each action gave, in order.
    #[saga]
    pub workflow saga<A: Action>(actions: Vec<A>) -> Result<Vec<A::Done>, SagaError> {
        let mut done = Vec::new();
        for action in &actions {
            let applied = step apply(action)
                .name("action")
                .retry(A::RETRY)
                .compensate(undo::<A>, retry(A::UNDO_RETRY));
            done.push(applied.done);
        }
        Ok(done)
    }
}
