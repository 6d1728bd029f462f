//! Scatter-gather (map-reduce): ask many at once, then combine their
//! answers under a policy for the ones that fail.
//!
//! Use it to query several providers for a quote, price every line of an
//! order, or check a set of replicas, when what to do with partial failure is
//! a decision of its own. [`scatter_gather`] runs every [`Task`] as a step,
//! `limit` at a time, and gathers the results by a [`Gather`] policy:
//!
//! | policy | succeeds when | else fails with |
//! |---|---|---|
//! | [`Gather::All`] | every task succeeded | [`GatherError::Task`] for the first failure; the tasks still running are stopped |
//! | [`Gather::Quorum(k)`](Gather::Quorum) | at least `k` tasks succeeded | [`GatherError::QuorumMissed`], with how many succeeded and every failure |
//! | [`Gather::BestEffort`] | always | — (the failures are listed in [`Gathered::failed`]) |
//!
//! Under `Quorum` and `BestEffort` every task runs to its end whatever the
//! others do (`parallel(limit = n, collect_all)`). The output is a
//! [`Gathered`]: the successes and the failures, each with its task's index.
//! To reduce it, write a workflow that calls this one and reduces in plain
//! code or in a step.
//!
//! # Policy knobs
//!
//! The [`Gather`] policy, `limit` (how many tasks run at once, at least 1),
//! and [`Task::RETRY`] (attempts per task before it counts as failed).
//!
//! # What is journaled, what a resumed run redoes
//!
//! Task `i` is the step `task[i]` (under `Gather::All`, `task_all[i]`); a
//! success is journaled with its output, a failure with its error. A resumed
//! run replays the tasks that finished and runs only those that had not.
//!
//! The flowchart is [`scatter_gather::MERMAID`](scatter_gather::MERMAID).
//!
//! # Examples
//!
//! ```
//! # extern crate trailhead_core as trailhead;
//! use trailhead::patterns::scatter_gather::{Gather, GatherError, Task, scatter_gather};
//! use trailhead::{Engine, Error, RunError};
//!
//! /// A provider asked for a quote; provider 0 is down.
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Quote(u32);
//!
//! impl Task for Quote {
//!     type Output = u32;
//!     async fn run(&self) -> Result<u32, Error> {
//!         match self.0 {
//!             0 => Err(Error::msg("provider 0 is down")),
//!             n => Ok(100 + n),
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let engine = Engine::new();
//! let asked = || (0..3).map(Quote).collect::<Vec<_>>();
//! let quotes = scatter_gather::run(&engine, asked(), Gather::Quorum(2), 8).await.unwrap();
//! assert_eq!(quotes.succeeded, [(1, 101), (2, 102)]);
//! assert_eq!(quotes.failed.len(), 1);
//!
//! let Err(RunError::Failed { error, .. }) =
//!     scatter_gather::run(&engine, asked(), Gather::Quorum(3), 8).await
//! else {
//!     panic!("only two of three answer");
//! };
//! assert!(matches!(error, GatherError::QuorumMissed { needed: 3, succeeded: 2, .. }));
//! assert!(scatter_gather::<Quote>::MERMAID.contains("task"));
//! # }
//! ```

use std::fmt;
use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::{Data, Error, RetryPolicy, StepError, StepFailure, StepKey};

/// One unit of the scatter: a value that knows how to run itself.
pub trait Task: Data {
    /// What the task gives.
    type Output: Data;

    /// How many attempts [`run`](Task::run) gets before the task counts as
    /// failed (default: one).
    const RETRY: RetryPolicy = RetryPolicy::NONE;

    /// Runs the task.
    fn run(&self) -> impl Future<Output = Result<Self::Output, Error>> + Send;
}

/// What to do with tasks that fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Gather {
    /// Every task must succeed: the first failure fails the gather and stops
    /// the tasks still running.
    All,
    /// At least this many tasks must succeed; every task runs to its end.
    Quorum(usize),
    /// Whatever succeeds is the result; the failures are listed beside it.
    BestEffort,
}

/// The gathered results: successes and failures, each with the index of its
/// task in the input, in input order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gathered<T> {
    /// The tasks that succeeded, with their outputs.
    pub succeeded: Vec<(usize, T)>,
    /// The tasks that failed for good, with their errors' text.
    pub failed: Vec<(usize, String)>,
}

/// Why a gather failed.
#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    /// A task failed for good (under [`Gather::All`], the first to).
    #[error("task {index} failed: {source}")]
    Task {
        /// The task's index in the input.
        index: usize,
        /// The step's failure: its key, attempts and cause.
        #[source]
        source: Box<StepError<Error>>,
    },
    /// Fewer tasks succeeded than the quorum needed.
    #[error("quorum missed: {succeeded} of the {needed} tasks needed succeeded, {} failed ({})", failed.len(), Failures { what: "task", list: failed })]
    QuorumMissed {
        /// The quorum.
        needed: usize,
        /// How many tasks succeeded.
        succeeded: usize,
        /// The tasks that failed, with their errors' text.
        failed: Vec<(usize, String)>,
    },
}

impl From<StepError<Error>> for GatherError {
    fn from(source: StepError<Error>) -> Self {
        Self::Task {
            index: index_of(&source.step),
            source: Box::new(source),
        }
    }
}

/// A list of failures as `{what} 0: error; {what} 3: error` (for this
/// module's and the other patterns' errors).
pub(super) struct Failures<'a> {
    /// What failed: `task`, `contender`.
    pub(super) what: &'static str,
    /// Each failure's index and text.
    pub(super) list: &'a [(usize, String)],
}

impl fmt::Display for Failures<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, (index, error)) in self.list.iter().enumerate() {
            if n > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} {index}: {error}", self.what)?;
        }
        Ok(())
    }
}

/// Why a step failed, in words: its own error's text, or else the
/// failure's (a timeout, a panic, a journal failure).
pub(super) fn cause<E: fmt::Display>(failure: &StepFailure<E>) -> String {
    match failure {
        StepFailure::Error(error) => error.to_string(),
        other => other.to_string(),
    }
}

/// The index of a step in the loop or fan-out around it: its key's last.
pub(super) fn index_of(step: &StepKey) -> usize {
    step.path().last().map_or(0, |&i| i as usize)
}

/// Splits the tasks' results into successes and failures, by index.
fn split<T>(results: Vec<Result<T, GatherError>>) -> Gathered<T> {
    let mut gathered = Gathered {
        succeeded: Vec::new(),
        failed: Vec::new(),
    };
    for (index, result) in results.into_iter().enumerate() {
        match result {
            Ok(output) => gathered.succeeded.push((index, output)),
            Err(GatherError::Task { source, .. }) => {
                gathered.failed.push((index, cause(&source.failure)));
            }
            Err(other) => gathered.failed.push((index, other.to_string())),
        }
    }
    gathered
}

/// Applies `policy` to the tasks' results (every task having run).
fn gather<T>(
    results: Vec<Result<T, GatherError>>,
    policy: Gather,
) -> Result<Gathered<T>, GatherError> {
    let needed = match policy {
        Gather::All => results.len(),
        Gather::Quorum(needed) => needed,
        Gather::BestEffort => 0,
    };
    let gathered = split(results);
    if gathered.succeeded.len() < needed {
        return Err(GatherError::QuorumMissed {
            needed,
            succeeded: gathered.succeeded.len(),
            failed: gathered.failed,
        });
    }
    Ok(gathered)
}

/// `outputs`, every one a success, as gathered.
fn all_succeeded<T>(outputs: Vec<T>) -> Gathered<T> {
    Gathered {
        succeeded: outputs.into_iter().enumerate().collect(),
        failed: Vec::new(),
    }
}

crate::workflow! {
    /// Runs every task as a step, `limit` at a time, and gathers their
    /// results by `policy`.
    pub workflow scatter_gather<T: Task>(tasks: Vec<T>, policy: Gather, limit: usize) -> Result<Gathered<T::Output>, GatherError> {
        let limit = limit.max(1);
        if policy == Gather::All {
            let outputs = parallel(limit = limit) for task in &tasks {
                step task.run().name("task_all").retry(T::RETRY)
            };
            return Ok(all_succeeded(outputs));
        }
        let results = parallel(limit = limit, collect_all) for task in &tasks {
            step task.run().name("task").retry(T::RETRY)
        };
        gather(results, policy)
    }
}
