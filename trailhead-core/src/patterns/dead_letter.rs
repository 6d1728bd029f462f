//! Dead letters: items that fail for good are parked, with their error, for
//! someone to inspect and retry later, while the rest go through.
//!
//! Use it for a batch of independent items (invoices to send, records to
//! import) where one bad item must not stop the others nor be lost.
//! [`dead_letters`] processes every item as a child run of the workflow `W`
//! (`call W(item)`), `limit` at a time, each to its end whatever the others
//! do. A child that fails for good stays in the store as a
//! [`Failed`](crate::RunStatus::Failed) run with its journal and its error:
//! that run is the dead letter. The parent completes with [`Processed`]: the
//! outputs of the items that went through and a [`DeadLetter`] for each one
//! that did not (its index, its run's id, its error).
//!
//! Once the cause is fixed, [`retry_dead_letters`] reruns the dead runs
//! ([`Engine::rerun`]): each resumes from its last good step; the items that
//! went through are not run again.
//!
//! # Policy knobs
//!
//! `limit` (how many items run at once, at least 1), and whatever `W` says
//! of its own steps' retries: an item is dead when `W`'s run fails.
//!
//! # What is journaled, what a resumed run redoes
//!
//! Item `i` is the call `W[i]` in the parent's journal (its key is named
//! after the type parameter, whatever workflow `W` stands for), with the
//! child's output or failure; the child run `{parent}/W[i]` has its own
//! journal. A resumed parent replays the items that ended and waits again
//! for the children still running, which resume from their own journals.
//!
//! The flowchart is [`dead_letters::MERMAID`](dead_letters::MERMAID).
//!
//! # Examples
//!
//! ```
//! # extern crate trailhead_core as trailhead;
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use trailhead::patterns::dead_letter::{dead_letters, retry_dead_letters};
//! use trailhead::{Engine, Error, workflow};
//!
//! static MAIL_UP: AtomicBool = AtomicBool::new(false);
//!
//! async fn send(to: &str) -> Result<String, Error> {
//!     if to.ends_with(".invalid") && !MAIL_UP.load(Ordering::SeqCst) {
//!         return Err(Error::msg(format!("no route to {to}")));
//!     }
//!     Ok(format!("sent to {to}"))
//! }
//!
//! workflow! {
//!     workflow invoice(to: String) -> Result<String, Error> {
//!         let sent = step send(&to);
//!         Ok(sent)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let engine = Engine::new();
//! let to = vec!["a@example.com".to_owned(), "b@x.invalid".to_owned()];
//! let processed = dead_letters::<invoice>::run(&engine, to, 4).await.unwrap();
//! assert_eq!(processed.done, [(0, "sent to a@example.com".to_owned())]);
//! assert_eq!(processed.dead[0].index, 1);
//! assert!(processed.dead[0].error.contains("no route to b@x.invalid"));
//!
//! MAIL_UP.store(true, Ordering::SeqCst);
//! let retried = retry_dead_letters::<invoice>(&engine, &processed.dead).await.unwrap();
//! assert_eq!(retried[0].as_ref().unwrap(), "sent to b@x.invalid");
//! assert!(dead_letters::<invoice>::MERMAID.contains("W"));
//! # }
//! ```

use serde::{Deserialize, Serialize};

use super::scatter_gather::cause;
use crate::{Data, Engine, EngineError, RunError, RunId, StepError, Workflow};

/// An item that failed for good: its child run is kept, failed, with its
/// journal and its error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The item's index in the input.
    pub index: usize,
    /// The failed child run, to inspect or [rerun](retry_dead_letters).
    pub run: RunId,
    /// Why it failed: the child's error, or why the call failed.
    pub error: String,
}

/// What [`dead_letters`] gives: the items that went through and the dead
/// letters, each in input order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Processed<T> {
    /// The items that went through, by index, with their outputs.
    pub done: Vec<(usize, T)>,
    /// The items that failed for good.
    pub dead: Vec<DeadLetter>,
}

/// Splits the calls' results into outputs and dead letters.
fn sort_out<T, E: std::fmt::Display>(results: Vec<Result<T, StepError<E>>>) -> Processed<T> {
    let mut processed = Processed {
        done: Vec::new(),
        dead: Vec::new(),
    };
    for (index, result) in results.into_iter().enumerate() {
        match result {
            Ok(output) => processed.done.push((index, output)),
            Err(failed) => {
                processed.dead.push(DeadLetter {
                    index,
                    run: failed.run.child(&failed.step),
                    error: cause(&failed.failure),
                });
            }
        }
    }
    processed
}

/// Reruns the dead letters' runs (once their cause is fixed), all at once,
/// and gives each one's result, in the order given.
///
/// Each run resumes from its last good step ([`Engine::rerun`]); nothing
/// else is run again. The parent's [`Processed`] is not rewritten: it
/// records what happened the first time.
///
/// # Errors
///
/// The first [`EngineError`] of a rerun that could not start (an unknown
/// run, one that is not `W`'s, one that is running or completed).
pub async fn retry_dead_letters<W: Workflow>(
    engine: &Engine,
    dead: &[DeadLetter],
) -> Result<Vec<Result<W::Output, RunError<W::Error>>>, EngineError> {
    let mut handles = Vec::with_capacity(dead.len());
    for letter in dead {
        handles.push(engine.rerun(W::default(), &letter.run).await?);
    }
    Ok(futures::future::join_all(handles.into_iter().map(crate::RunHandle::result)).await)
}

crate::workflow! {
    /// Processes every item as a child run of `W`, `limit` at a time, each
    /// to its end: gives the outputs and, for the items that failed for
    /// good, their dead letters.
    pub workflow dead_letters<W>(items: Vec<W::Input>, limit: usize) -> Result<Processed<W::Output>, StepError<W::Error>>
    where
        W: Workflow,
        W::Input: Data,
        W::Output: Data,
        W::Error: std::fmt::Display + Sync,
    {
        let limit = limit.max(1);
        let results = parallel(limit = limit, collect_all) for item in items {
            call W(item)
        };
        Ok(sort_out(results))
    }
}
