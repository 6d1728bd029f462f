//! The runtime behind trailhead: engine, steps, policies, stores and events.
//!
//! Use it through the `trailhead` crate, whose `workflow!` macro turns a
//! workflow definition into an implementation of [`Workflow`]. This crate runs
//! such workflows:
//!
//! - an [`Engine`] starts runs and returns [`RunHandle`]s (result, cancel);
//! - each run's body calls into its [`RunContext`], which executes steps with
//!   their [`StepPolicy`] (retries with [`Backoff`], timeouts) and journals
//!   every step's output in a [`Store`] under its [`StepKey`];
//! - everything that happens is an [`Event`] for whoever
//!   [subscribes](Engine::subscribe), and a `tracing` span (`run`, `step`).
//!
//! # Examples
//!
//! A workflow written by hand (what `workflow!` generates, minus the steps):
//!
//! ```
//! use std::future::Future;
//! use trailhead_core::{Engine, Error, RunContext, RunError, Workflow};
//!
//! #[derive(Clone, Copy, Default)]
//! struct Halve;
//!
//! impl Workflow for Halve {
//!     type Input = u32;
//!     type Output = u32;
//!     type Error = Error;
//!     const NAME: &'static str = "halve";
//!     const MERMAID: &'static str = "flowchart TD";
//!     const DEFINITION_HASH: u64 = 0;
//!
//!     fn execute<'a>(
//!         self,
//!         _ctx: &'a RunContext,
//!         n: u32,
//!     ) -> impl Future<Output = Result<u32, Error>> + Send + 'a {
//!         async move {
//!             if n % 2 == 0 { Ok(n / 2) } else { Err(Error::msg(format!("{n} is odd"))) }
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let engine = Engine::new();
//! assert_eq!(engine.run(Halve, 8).await.unwrap(), 4);
//! match engine.run(Halve, 3).await {
//!     Err(RunError::Failed { error, .. }) => assert_eq!(error.to_string(), "3 is odd"),
//!     other => panic!("unexpected {other:?}"),
//! }
//! # }
//! ```
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]
#![forbid(unsafe_code)]

#[doc(hidden)]
pub mod __private;
mod breaker;
mod compensation;
pub mod debug;
mod engine;
mod error;
mod event;
pub mod fork;
mod key;
mod parallel;
mod pattern;
pub mod patterns;
pub mod picture;
mod policy;
pub mod replay;
pub mod schedule;
pub mod stats;
mod step;
pub mod store;
pub mod stream;
#[cfg(feature = "testing")]
pub mod testing;
pub mod trace;
mod workflow;

pub use breaker::{BreakerConfig, BreakerState, BreakerTransition};
pub use engine::{
    BreakerHealth, Engine, EngineBuilder, FailedCompensation, Health, PausedRun, RunContext,
    RunHandle, StalledRun, SuspendedRun,
};
pub use error::{
    Classify, CodecError, EngineError, Error, ErrorClass, RunError, StepError, StepFailure,
    StoreError,
};
pub use event::{Event, EventReceiver};
pub use key::{ParseStepKeyError, RunId, StepKey};
pub use pattern::{PatternError, StepPattern};
pub use policy::{Backoff, Delays, RetryPolicy, StepPolicy};
pub use schedule::{CatchUp, Overlap, Schedule, ScheduleInfo};
pub use step::current::{StepAttempt, current_step};
#[doc(no_inline)]
pub use store::{
    AfterCompensation, DatabaseProblem, FailedStep, FailureCause, MemoryStore, Retention,
    RunOutcome, RunRecord, RunState, RunStatus, SqliteStore, StepOutcome, StepRecord, Store,
    StoreLocation, Synchronous,
};
#[cfg(feature = "postgres")]
#[doc(no_inline)]
pub use store::{PgStore, PgStoreBuilder};
pub use workflow::{Data, SignalSpec, Workflow};

// Hidden, and here only so that rustc's messages about a workflow's types
// name these traits by their short names (`Journaled`, not
// `trailhead::__private::Journaled`); generated code uses `__private`.
#[doc(hidden)]
pub use __private::{
    CallableWorkflow, FanOutItems, IntoWorkflowError, SameSignalType, SignalValue, StepReturn,
};
#[doc(hidden)]
pub use step::{Journaled, StepResult};

/// A [`Schedule`] on a cron expression checked at compile time: a bad
/// expression is a compile error on the literal, a good one is
/// [`Schedule::cron`] that cannot fail.
///
/// # Examples
///
/// ```
/// use trailhead_core::{Schedule, cron};
///
/// let every_five_minutes: Schedule = cron!("*/5 * * * *");
/// assert_eq!(every_five_minutes.cron_expression(), Some("*/5 * * * *"));
/// ```
///
/// ```compile_fail
/// let never = trailhead_core::cron!("0 25 * * *"); // there is no hour 25
/// ```
#[macro_export]
macro_rules! cron {
    ($($tt:tt)*) => {
        $crate::__private::cron_inner! { ($crate) $($tt)* }
    };
}

#[doc = include_str!("../docs/dsl.md")]
#[macro_export]
macro_rules! workflow {
    ($($tt:tt)*) => {
        $crate::__private::workflow_inner! { ($crate) $($tt)* }
    };
}
