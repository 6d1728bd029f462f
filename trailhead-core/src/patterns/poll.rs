//! Poll until done: ask something outside whether it has finished (an
//! export, a payment, a build), with a growing wait between asks and a
//! deadline.
//!
//! Use it when the other side offers no callback, only a status to read.
//! A [`Check`] says how to ask; [`retry_until`] asks, and while the answer
//! is "not yet" waits (`sleep`) and asks again, each wait `factor` times the
//! one before up to `max` ([`Every`]). When the next wait would take the
//! polling past its deadline, it gives up with
//! [`PollError::DeadlinePassed`], which says how many polls were made.
//!
//! # Policy knobs
//!
//! - [`Every::first`], [`Every::factor`], [`Every::max`]: the waits, e.g.
//!   `Every::exponential(1s, 1m)` waits 1 s, 2 s, 4 s, … then 1 min each
//!   time; `Every::fixed(5s)` always 5 s;
//! - the deadline (`retry_until`'s third parameter): the total of the waits
//!   allowed. It is counted in waits, not read from the clock, so a run that
//!   resumes after a stop has the same schedule as one that did not (the time
//!   the checks themselves take is not counted);
//! - [`Check::RETRY`]: how often one check is attempted when it fails (an
//!   `Err`, not a "not yet") before the polling fails with
//!   [`PollError::Check`] (default: once).
//!
//! # What is journaled, what a resumed run redoes
//!
//! Poll `i` is the step `check[i]` (its answer journaled), each wait the
//! durable timer `sleep[i]` (its wake-up time journaled before it waits). A
//! run stopped while it waits is resumed asleep and wakes at the journaled
//! time; the checks already answered are not asked again. A run stopped
//! during a check asks that one again.
//!
//! The flowchart is [`retry_until::MERMAID`](retry_until::MERMAID), or per
//! instance `<retry_until<C> as Workflow>::mermaid()`.
//!
//! # Examples
//!
//! ```
//! # extern crate trailhead_core as trailhead;
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::time::Duration;
//! use trailhead::patterns::poll::{Check, Every, PollError, retry_until};
//! use trailhead::{Engine, Error, RunError};
//!
//! static ASKED: AtomicU32 = AtomicU32::new(0);
//!
//! /// Is the export ready? On the third time of asking.
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Export { id: u32 }
//!
//! impl Check for Export {
//!     type Output = String;
//!     async fn check(&self) -> Result<Option<String>, Error> {
//!         let asked = ASKED.fetch_add(1, Ordering::SeqCst) + 1;
//!         Ok((asked >= 3).then(|| format!("export-{}.csv", self.id)))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let engine = Engine::new();
//! let every = Every::exponential(Duration::from_secs(1), Duration::from_secs(60));
//! let file = retry_until::run(&engine, Export { id: 7 }, every, Duration::from_secs(60)).await;
//! assert_eq!(file.unwrap(), "export-7.csv"); // asked at 0 s, 1 s and 3 s
//!
//! // Never ready within 2 s of waits: polls at 0 s and 1 s, then the next
//! // wait (2 s) would pass the deadline.
//! ASKED.store(0, Ordering::SeqCst);
//! let late = retry_until::run(&engine, Export { id: 8 }, every, Duration::from_secs(2)).await;
//! let Err(RunError::Failed { error: PollError::DeadlinePassed { polls, .. }, .. }) = late else {
//!     panic!("the deadline passed");
//! };
//! assert_eq!(polls, 2);
//! assert!(retry_until::<Export>::MERMAID.contains("check"));
//! # }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Data, Error, RetryPolicy, StepError};

/// How to ask whether the thing polled for is done.
pub trait Check: Data {
    /// What the thing gives once done.
    type Output: Data;

    /// How often one check is attempted when it returns `Err` (a failure to
    /// ask, not a "not yet"), with the policy's backoff between attempts.
    /// Default: once.
    const RETRY: RetryPolicy = RetryPolicy::attempts(1);

    /// Asks once: `Some(output)` when done, `None` for "not yet", `Err` when
    /// asking failed.
    fn check(&self) -> impl Future<Output = Result<Option<Self::Output>, Error>> + Send;
}

/// The waits between polls: `first`, then each `factor` times the one
/// before, at most `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Every {
    /// The first wait.
    pub first: Duration,
    /// How much longer each wait is than the one before (1: all the same).
    pub factor: u32,
    /// The longest wait.
    pub max: Duration,
}

impl Every {
    /// The same wait every time.
    #[must_use]
    pub const fn fixed(wait: Duration) -> Self {
        Self {
            first: wait,
            factor: 1,
            max: wait,
        }
    }

    /// `first`, doubling up to `max`.
    #[must_use]
    pub const fn exponential(first: Duration, max: Duration) -> Self {
        Self {
            first,
            factor: 2,
            max,
        }
    }

    /// The same with each wait `factor` times the one before.
    #[must_use]
    pub const fn factor(self, factor: u32) -> Self {
        Self { factor, ..self }
    }

    /// The wait after `wait`.
    #[must_use]
    pub fn after(&self, wait: Duration) -> Duration {
        wait.saturating_mul(self.factor.max(1)).min(self.max)
    }
}

/// Why [`retry_until`] ended without an output.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// Still not done, and the next wait would have passed the deadline.
    #[error(
        "not done after {polls} polls and {waited:?} of waiting: the next wait ({next:?}) would pass the deadline of {deadline:?}"
    )]
    DeadlinePassed {
        /// How many polls were made, all answered "not yet".
        polls: u32,
        /// The waits between them, in total.
        waited: Duration,
        /// The wait that would have come next.
        next: Duration,
        /// The deadline.
        deadline: Duration,
    },
    /// A check failed (its retries exhausted): the step's error names its
    /// key, `check[i]` for poll `i + 1`.
    #[error(transparent)]
    Check(#[from] StepError<Error>),
    /// A wait could not be journaled.
    #[error(transparent)]
    Journal(#[from] StepError<Infallible>),
}

crate::workflow! {
    /// Asks `check` until it is done, waiting `every` between asks, for at
    /// most `deadline` of waiting in total.
    pub workflow retry_until<C: Check>(check: C, every: Every, deadline: Duration) -> Result<C::Output, PollError> {
        let mut polls: u32 = 0;
        let mut waited = Duration::ZERO;
        let mut wait = every.first;
        loop {
            polls += 1;
            if let Some(done) = step check.check().retry(C::RETRY) {
                return Ok(done);
            }
            if waited.saturating_add(wait) > deadline {
                return Err(PollError::DeadlinePassed { polls, waited, next: wait, deadline });
            }
            sleep wait;
            waited += wait;
            wait = every.after(wait);
        }
    }
}
