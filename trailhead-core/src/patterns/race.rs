//! A race: several contenders try the same thing at once, the first to
//! succeed wins, the others are cancelled and whatever they finished is
//! undone.
//!
//! Use it to ask two carriers for a pickup and take the first to confirm, or
//! to hedge a slow request with a second one. Each [`Contender`] says how it
//! runs and how a success of it is undone. [`race`] is one step, `race`,
//! that runs every contender concurrently in the run's process:
//!
//! - the first contender to succeed wins (when several succeed in the same
//!   instant, the first in the list);
//! - the contenders still running are **cancelled**: their futures are
//!   dropped, so they stop at the `.await` they were at;
//! - a loser that had already succeeded (in that same instant) is undone
//!   with [`Contender::undo`] before the step ends;
//! - if every contender fails, the step fails with [`RaceError::AllFailed`],
//!   listing each failure.
//!
//! The winner's step has a compensation: if the run that called the race
//! fails later and is rolled back, the winner is undone too (`call
//! race::<C>(..)` is undone by the child's compensations).
//!
//! # Policy knobs
//!
//! [`Contender::RETRY`]: how often the whole race is tried again when it
//! fails (default: once).
//!
//! # What is journaled, what a resumed run redoes
//!
//! The race is one step: its journal entry is the winner, its index and its
//! output ([`Won`]), and `undo:race` once the winner was undone in a
//! rollback. The losers' undos run inside the step and are not journaled
//! one by one. A run stopped during the race runs the whole race again:
//! contenders must be safe to start twice.
//!
//! The flowchart is [`race::MERMAID`](race::MERMAID).
//!
//! # Examples
//!
//! ```
//! # extern crate trailhead_core as trailhead;
//! use std::time::Duration;
//! use trailhead::patterns::race::{Contender, race};
//! use trailhead::{Engine, Error};
//!
//! /// A carrier that confirms a pickup after `minutes`.
//! #[derive(Clone, serde::Serialize, serde::Deserialize)]
//! struct Carrier { name: String, minutes: u64 }
//!
//! impl Contender for Carrier {
//!     type Output = String;
//!     async fn run(&self) -> Result<String, Error> {
//!         tokio::time::sleep(Duration::from_secs(60 * self.minutes)).await;
//!         Ok(format!("pickup by {}", self.name))
//!     }
//!     async fn undo(&self, _pickup: String) -> Result<(), Error> {
//!         Ok(()) // cancel the pickup
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let carrier = |name: &str, minutes| Carrier { name: name.to_owned(), minutes };
//! let engine = Engine::new();
//! let won = race::run(&engine, vec![carrier("slow", 30), carrier("fast", 5)]).await.unwrap();
//! assert_eq!((won.index, won.output.as_str()), (1, "pickup by fast"));
//! assert!(race::<Carrier>::MERMAID.contains("race"));
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use serde::{Deserialize, Serialize};

use super::scatter_gather::Failures;
use crate::{Data, Error, RetryPolicy, StepError};

/// One contender of a race: how it runs, and how a success of it is undone.
pub trait Contender: Data + Clone {
    /// What a success gives.
    type Output: Data;

    /// How many attempts the whole race gets when every contender fails
    /// (default: one).
    const RETRY: RetryPolicy = RetryPolicy::NONE;

    /// Runs the contender. It may be cancelled at any `.await`: its future
    /// is dropped when another contender wins.
    fn run(&self) -> impl Future<Output = Result<Self::Output, Error>> + Send;

    /// Undoes a success of the contender: it lost, or it won and the run
    /// that raced is rolled back.
    fn undo(&self, output: Self::Output) -> impl Future<Output = Result<(), Error>> + Send;
}

/// The winner of a race: the race step's output and journal entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
// `Contender: Data` already makes both serializable.
#[serde(bound = "")]
pub struct Won<C: Contender> {
    /// The winner's index in the list of contenders.
    pub index: usize,
    /// The winner, for its undo.
    pub contender: C,
    /// What it gave.
    pub output: C::Output,
}

/// What [`race`] gives: the winner's index and output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Winner<T> {
    /// The winner's index in the list of contenders.
    pub index: usize,
    /// What it gave.
    pub output: T,
}

/// Why a race step failed.
#[derive(Debug, thiserror::Error)]
pub enum RaceError {
    /// The race had no contender.
    #[error("a race needs at least one contender")]
    NoContenders,
    /// Every contender failed.
    #[error("every contender failed: {}", Failures { what: "contender", list: failures })]
    AllFailed {
        /// Each contender's index and its error's text, in list order.
        failures: Vec<(usize, String)>,
    },
    /// A loser that had succeeded could not be undone; the winner was
    /// undone too (or that was tried), so the race left nothing behind
    /// that it knows of.
    #[error("contender {index} lost but could not be undone: {error}")]
    LoserNotUndone {
        /// The loser's index.
        index: usize,
        /// Its undo's error's text.
        error: String,
    },
}

type Running<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// Polls every contender still running, in list order, and gives the ones
/// that ended in that pass; pending while none did.
async fn next_ended<T>(running: &mut [Option<Running<'_, T>>]) -> Vec<(usize, Result<T, Error>)> {
    std::future::poll_fn(|cx| {
        let mut ended = Vec::new();
        for (index, slot) in running.iter_mut().enumerate() {
            if let Some(future) = slot
                && let Poll::Ready(result) = future.as_mut().poll(cx)
            {
                *slot = None;
                ended.push((index, result));
            }
        }
        if ended.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(ended)
        }
    })
    .await
}

/// The race step: runs every contender at once; the first success wins, the
/// others are dropped, and the losers that had succeeded are undone.
///
/// # Errors
///
/// [`RaceError::NoContenders`] for an empty list, [`RaceError::AllFailed`]
/// when every contender failed, [`RaceError::LoserNotUndone`] when a loser's
/// undo failed.
pub async fn run_race<C: Contender>(contenders: &[C]) -> Result<Won<C>, RaceError> {
    if contenders.is_empty() {
        return Err(RaceError::NoContenders);
    }
    let mut running: Vec<Option<Running<'_, C::Output>>> = contenders
        .iter()
        .map(|contender| Some(Box::pin(contender.run()) as Running<'_, C::Output>))
        .collect();
    let mut failures = Vec::new();
    while running.iter().any(Option::is_some) {
        let mut winner = None;
        let mut finished_losers = Vec::new();
        for (index, result) in next_ended(&mut running).await {
            match result {
                Ok(output) if winner.is_none() => winner = Some((index, output)),
                Ok(output) => finished_losers.push((index, output)),
                Err(error) => failures.push((index, error.to_string())),
            }
        }
        let Some((index, output)) = winner else {
            continue;
        };
        // Cancel the others: drop their futures where they are.
        drop(running);
        for (loser, done) in finished_losers {
            if let Err(error) = contenders[loser].undo(done).await {
                // Leave nothing behind: undo the winner as well.
                let _ = contenders[index].undo(output).await;
                return Err(RaceError::LoserNotUndone {
                    index: loser,
                    error: error.to_string(),
                });
            }
        }
        return Ok(Won {
            index,
            contender: contenders[index].clone(),
            output,
        });
    }
    failures.sort_by_key(|(index, _)| *index);
    Err(RaceError::AllFailed { failures })
}

/// The race step's compensation: undoes the winner.
async fn undo_winner<C: Contender>(won: Won<C>) -> Result<(), Error> {
    won.contender.undo(won.output).await
}

crate::workflow! {
    /// Races `contenders`: the first to succeed wins, the others are
    /// cancelled and their successes undone. One step, `race`, whose
    /// compensation undoes the winner.
    #[saga]
    pub workflow race<C: Contender>(contenders: Vec<C>) -> Result<Winner<C::Output>, StepError<RaceError>> {
        let won = step run_race(&contenders)
            .name("race")
            .retry(C::RETRY)
            .compensate(undo_winner::<C>);
        Ok(Winner { index: won.index, output: won.output })
    }
}
