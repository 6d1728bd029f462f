//! Stores: where runs and their journals are recorded.
//!
//! A [`Store`] keeps one [`RunRecord`] per run and, per run, a journal of
//! [`StepRecord`]s: the output of every finished step, under its
//! [`StepKey`]. A resumed run replays its journal instead of executing the steps
//! again. Creating or opening a run returns a [`RunWriter`], a handle that
//! writes that one run (its steps, then how it ended), so recording a step
//! never takes a store-wide lock. (To read a run's journal, use
//! [`Store::journal`] or [`Engine::journal`](crate::Engine::journal).)
//!
//! A run's record keeps where it is in one [`RunState`]: running, being
//! undone ([`RunState::Compensating`], with how it will end), or ended with
//! its [`RunOutcome`] and the time; [`RunStatus`] is the discriminant runs
//! are listed by.
//!
//! Stores never overwrite: a step recorded twice, or any record after the run
//! finished, is a [`StoreError`].
//!
//! # What the journal holds
//!
//! Inputs, outputs and signal payloads are journaled as [`Value`]s: CBOR bytes
//! (and the [`Codec`] that wrote them), encoded once when the step completes
//! and kept as they are by every store, so what a resumed run reads back is
//! exactly what the store holds, in memory as in SQLite. The codec is faithful
//! to serde: NaN and the infinities, `u128`/`i128`, maps keyed by tuples,
//! structs or enums, every enum shape and byte buffers come back as they
//! were; what would not (`Some(None)`, nesting past 256 levels, a 128-bit
//! integer inside an untagged or internally tagged enum) is refused when it
//! is encoded, with a [`CodecError`] that fails the step the same way live and
//! on replay. See [`Value`] for the list.
//!
//! - A changed type reads old entries as the new type: renamed fields and
//!   narrowed numbers fail with [`StoreError::Decode`] rather than guessing;
//!   a field added with `#[serde(default)]` reads old entries.
//! - Values journaled as JSON by older builds stay JSON ([`Codec::Json`]) and
//!   read as they always did; the SQLite store keeps each value's codec.
//! - Values show readably: [`Value`]'s `Display` and `Debug` write CBOR in a
//!   diagnostic notation close to JSON, [`Value::to_json`] gives JSON.
//!
//! # Byte buffers
//!
//! A plain `Vec<u8>` (or `[u8; N]`, `Box<[u8]>`) is a serde *sequence*, so
//! no self-describing format can know it holds bytes: it is journaled as an
//! array of numbers, one or two bytes each (values over 23 take two). Mark
//! byte fields `#[serde(with = "serde_bytes")]`, or return a
//! `serde_bytes::ByteBuf`, and they are journaled as the bytes themselves.
//! For 10 MiB of random bytes (`cargo bench --bench codec`, BENCHMARKS.md):
//!
//! | journaled as | size, in memory and in its SQLite cell | encode + decode |
//! |---|---|---|
//! | `Vec<u8>` | 19.99 MB (a CBOR array) | 370–920 ms |
//! | `serde_bytes::ByteBuf` | 10.49 MB (the bytes and a 5-byte header) | 18–43 ms, about 20× less |
//! | `Vec<u8>` as JSON, before CBOR | 37.4 MB of text (`[12,255,…]`) | |
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use trailhead_core::store::Value;
//!
//! #[derive(Serialize, Deserialize)]
//! struct Upload {
//!     name: String,
//!     #[serde(with = "serde_bytes")]
//!     body: Vec<u8>,
//! }
//!
//! # fn main() -> Result<(), trailhead_core::CodecError> {
//! let upload = Upload { name: "a.bin".into(), body: vec![0xff; 1000] };
//! let journaled = Value::encode(&upload)?;
//! assert!(journaled.bytes().len() < 1_030, "the bytes, not 2,000 numbers");
//! # Ok(())
//! # }
//! ```
//!
//! [`SqliteStore`] keeps them in an embedded SQLite file that survives the
//! process; [`MemoryStore`] keeps everything in memory (tests, throwaway runs).
//!
//! # Finished runs do not pile up
//!
//! Runs that ended are removed after a while, by the [`Retention`] the engine
//! applies ([`Store::apply_retention`]): by default the memory store keeps the
//! newest 1,000 completed and 10,000 failed runs ([`Retention::in_memory`]),
//! the SQLite store keeps completed runs for 7 days and failed ones for 30
//! ([`Retention::durable`]). A run that has not ended, or a child run whose
//! parent has not ended, is never removed. See [`retention`] for the rules and
//! [`EngineBuilder::retention`](crate::EngineBuilder::retention) to choose.

mod columns;
mod fleet;
pub mod lease;
mod location;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
pub mod queue;
pub mod resource;
pub mod retention;
mod run_record;
mod sqlite;
mod step_record;
mod value;

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

pub use crate::engine::Generation;
pub use crate::error::{CodecError, DatabaseProblem, StoreError};
pub use crate::schedule::{ScheduleChange, ScheduleRecord};
pub use crate::{ErrorClass, RunId, StepKey};
pub use fleet::{FleetStatus, QueueStatus, WorkerStatus};
pub use lease::{ClaimOffer, Claimed, Notice, WorkerId};
pub use location::StoreLocation;
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{PgStore, PgStoreBuilder};
pub use queue::{ADMISSION_QUEUE, Enqueue, Enqueued, Queue, Rate};
pub use resource::{FleetResources, Place};
pub use retention::{Keep, Retention};
pub use run_record::{AfterCompensation, RunOutcome, RunRecord, RunState, RunStatus};
pub use sqlite::{SqliteStore, Synchronous};
pub use step_record::{FailedStep, FailureCause, Retry, StepOutcome, StepRecord};
pub use value::{Codec, Value};

/// The future a store operation returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A place to record runs and their journals.
///
/// Implementations are shared by every run of an engine, so they are `Sync`
/// and keep per-run state behind the [`RunWriter`] handles they return.
pub trait Store: Send + Sync + Debug + 'static {
    /// The worker this store instance claims runs for (see [`lease`]).
    fn worker(&self) -> &WorkerId;

    /// Creates the run record, owned by this store's [`worker`](Store::worker);
    /// returns the run's journal handle.
    ///
    /// Fails with [`StoreError::RunExists`] if the id is taken.
    fn create_run(&self, run: RunRecord) -> StoreFuture<'_, Arc<dyn RunWriter>>;

    /// Opens an existing run for resuming: its record, its journal so far (in
    /// the order it was written), and the handle. `None` if there is no such run.
    ///
    /// An unfinished run is claimed for this store's worker first (see
    /// [`lease`]): the handle's writes are fenced by that claim.
    ///
    /// Fails with [`StoreError::LeaseHeld`] if another live worker holds it.
    #[allow(clippy::type_complexity)]
    fn open_run(
        &self,
        run: &RunId,
    ) -> StoreFuture<'_, Option<(RunRecord, Vec<StepRecord>, Arc<dyn RunWriter>)>>;

    /// The record of a run, if there is one.
    fn run(&self, run: &RunId) -> StoreFuture<'_, Option<RunRecord>>;

    /// A run's journal, in the order it was written.
    ///
    /// Fails with [`StoreError::UnknownRun`] if there is no such run.
    fn journal(&self, run: &RunId) -> StoreFuture<'_, Vec<StepRecord>>;

    /// Keeps signal `name` with `payload` for `run`, durably, until a
    /// `signal "name"` of the run receives it (in the order sent).
    ///
    /// Fails with [`StoreError::UnknownRun`] if there is no such run and
    /// [`StoreError::RunFinished`] if it finished.
    fn send_signal(&self, run: &RunId, name: &str, payload: Value) -> StoreFuture<'_, ()>;

    /// The oldest signal `name` sent to `run` that no step has received, now
    /// received by step `key`; or the one `key` received before (a resumed run
    /// asking again). `None` if there is none yet.
    fn receive_signal(
        &self,
        run: &RunId,
        name: &str,
        key: &StepKey,
    ) -> StoreFuture<'_, Option<Value>>;

    /// Records that cancelling `run` was asked, durably, for whichever worker
    /// drives it: its record says [`cancel_requested`](RunRecord::cancel_requested)
    /// from now on (until it is reopened), so the worker holding it learns of
    /// it (a [`Notice::Cancel`] where the store notifies,
    /// [`cancel_requests`](Store::cancel_requests) where it polls), and a
    /// worker that claims or opens it later cancels it at once. A run that
    /// holds no lease (handed back while it sleeps) is made due now, so a
    /// worker claims it and stops it instead of waiting for its wake-up.
    /// Asking again changes nothing.
    ///
    /// Fails with [`StoreError::UnknownRun`] if there is no such run and
    /// [`StoreError::RunFinished`] if it ended.
    fn request_cancel(&self, run: &RunId) -> StoreFuture<'_, ()>;

    /// The runs this store's [`worker`](Store::worker) holds that are
    /// running and whose cancelling was asked
    /// ([`request_cancel`](Store::request_cancel)), for a worker that polls
    /// for requests it was not told of. Read by index: cheap to ask often.
    fn cancel_requests(&self) -> StoreFuture<'_, Vec<RunId>>;

    /// Reopens a failed or cancelled run to retry it: it is running again, and
    /// its failed step entries are moved out of its journal (kept aside, not
    /// deleted) so the steps can run and be journaled anew; completed entries
    /// stay and replay. A cancel asked before it ended is forgotten.
    ///
    /// The reopened run is claimed for this store's worker.
    ///
    /// Fails with [`StoreError::UnknownRun`] if there is no such run and
    /// [`StoreError::NotEnded`] if it is still running or completed.
    fn reopen_run(&self, run: &RunId) -> StoreFuture<'_, ()>;

    /// Starts undoing `run`: it is [compensating](RunState::Compensating)
    /// until [`RunWriter::finish`] records how it ended (`then`, once its
    /// compensations ran). Returns the handle the compensations are recorded
    /// through.
    ///
    /// A running run enters compensation when it fails or is cancelled; a
    /// completed child run does when its parent is undone. Asking again for a
    /// run already compensating (a resumed rollback) keeps the outcome it
    /// recorded first and returns its handle.
    ///
    /// The run is claimed for this store's worker, as by
    /// [`open_run`](Store::open_run).
    ///
    /// Fails with [`StoreError::UnknownRun`] if there is no such run,
    /// [`StoreError::RunFinished`] if it failed, was cancelled, or its
    /// compensation already ended, and [`StoreError::LeaseHeld`] if another
    /// live worker holds it.
    fn begin_compensation(
        &self,
        run: &RunId,
        then: AfterCompensation,
    ) -> StoreFuture<'_, Arc<dyn RunWriter>>;

    /// The records of all runs, or of those with `status`, oldest first.
    fn list_runs(&self, status: Option<RunStatus>) -> StoreFuture<'_, Vec<RunRecord>>;

    /// The records of the runs that `run` started with `call` (those whose
    /// [`parent`](RunRecord::parent) it is), oldest first.
    ///
    /// The default lists every run and keeps its children; the SQLite store
    /// reads them by its parent index.
    fn children(&self, run: &RunId) -> StoreFuture<'_, Vec<RunRecord>> {
        let run = run.clone();
        Box::pin(async move {
            let mut runs = self.list_runs(None).await?;
            runs.retain(|child| child.parent.as_ref() == Some(&run));
            Ok(runs)
        })
    }

    /// Removes run `run` and everything recorded for it: its record, its
    /// journal, its signals, the entries set aside when it was retried, and
    /// its child runs with all of theirs.
    ///
    /// Fails with [`StoreError::UnknownRun`] if there is no such run and
    /// [`StoreError::NotRemovable`] (removing nothing) if the run, one of its
    /// descendants, or its parent has not ended.
    fn remove_run(&self, run: &RunId) -> StoreFuture<'_, ()>;

    /// Removes the ended top-level runs that `retention` no longer keeps at
    /// `now`, each with its child runs (as [`remove_run`](Store::remove_run));
    /// returns how many top-level runs it removed. Runs that have not ended,
    /// or have a child that has not ended, stay.
    ///
    /// The default lists every run and removes the expired ones one by one;
    /// the built-in stores do it with an index.
    fn apply_retention(&self, retention: &Retention, now: SystemTime) -> StoreFuture<'_, usize> {
        let retention = *retention;
        Box::pin(async move {
            let ended = self
                .list_runs(None)
                .await?
                .into_iter()
                .filter(|run| run.parent.is_none() && run.state.is_ended())
                .map(|run| {
                    let at = run.finished_at().unwrap_or(run.created_at);
                    let status = run.status();
                    (run.id, status, at)
                })
                .collect();
            let mut removed = 0;
            for run in retention.expired(ended, now) {
                match self.remove_run(&run).await {
                    Ok(()) => removed += 1,
                    // Reopened, or removed by someone else, since it was listed.
                    Err(StoreError::NotRemovable { .. } | StoreError::UnknownRun { .. }) => {}
                    Err(error) => return Err(error),
                }
            }
            Ok(removed)
        })
    }

    /// Records `run` for any worker of the store to claim: it has no owner
    /// yet, and is claimable at once (see [`claim_runs`](Store::claim_runs))
    /// by a worker that offers its queue (see [`queue`]). `run` must be
    /// [`Running`](RunState::Running) and top-level.
    ///
    /// With a deduplication key already recorded for the queue, nothing is
    /// recorded and the existing run is given ([`Enqueued::Existing`]).
    ///
    /// Fails with [`StoreError::RunExists`] if the id is taken.
    fn enqueue_run(&self, run: RunRecord, options: &Enqueue) -> StoreFuture<'_, Enqueued>;

    /// Claims for this store's worker up to `offer.limit` unfinished
    /// top-level runs of the definitions and queues in `offer` that are due
    /// and that the queues' limits admit: enqueued,
    /// handed back with a wake-up time that has come
    /// ([`RunWriter::release`]), or owned by a worker that is gone. Each is
    /// claimed under a new epoch, as by [`open_run`](Store::open_run), which
    /// then opens it without claiming it again. Runs of other definitions
    /// are left for workers that have them.
    ///
    /// Workers claiming at the same time get disjoint runs. Returns the
    /// claimed runs, oldest first, and when the next run of the offer
    /// becomes due, if one waits for a time.
    fn claim_runs(&self, offer: &ClaimOffer) -> StoreFuture<'_, Claimed>;

    /// The store's workers (alive, or gone with runs still held) with the
    /// runs each holds, and the depth of each queue.
    fn fleet(&self) -> StoreFuture<'_, FleetStatus>;

    /// What the store tells its workers as it happens, when it can (a
    /// database that notifies, or an in-process store): runs to claim,
    /// signals sent, cancels asked. `None` for a store whose workers poll. Notices are
    /// hints: a worker that misses some (its receiver lagged) claims anyway.
    fn notices(&self) -> Option<tokio::sync::broadcast::Receiver<Notice>> {
        None
    }

    /// Asks for a [`Notice::Ended`] when run `run` ends: a handle in this
    /// process waits for a run another worker drives. A store that notifies
    /// sends the notice only for runs someone asked about, since a notice is
    /// not free (PostgreSQL serializes the commits that notify). The waiter
    /// reads the run again after asking, so an end just before is not
    /// missed. The default does nothing (a store without notices, whose
    /// waiters poll).
    fn watch_end(&self, run: &RunId) -> StoreFuture<'_, ()> {
        let _ = run;
        Box::pin(std::future::ready(Ok(())))
    }

    /// Tells when this store's worker lost its leases all at once: it could
    /// not prove it was alive in time (a lease that expires), so every run
    /// it drives may have been taken over. The number goes up each time.
    /// `None` for stores whose workers cannot expire (one process, or
    /// liveness by a lock the operating system holds).
    fn lease_expiries(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }

    /// The places of named resources this store keeps for all its workers
    /// (see [`resource`]), so that a resource's limit holds fleet-wide.
    /// `None` (the default, the memory and SQLite stores): each engine
    /// limits its own attempts.
    fn resources(&self) -> Option<&dyn FleetResources> {
        None
    }

    /// Whether engines in other processes may share this store's runs, so
    /// that a cancel asked there ([`request_cancel`](Store::request_cancel))
    /// must reach the runs this worker drives: an engine that drives runs
    /// then listens or polls for such requests. The default says yes; the
    /// memory store, which lives in one process, says no.
    fn is_shared(&self) -> bool {
        true
    }

    /// The schedules the store keeps (see [`schedule`](crate::schedule)),
    /// by name. The default, for a store that keeps none, lists none.
    fn list_schedules(&self) -> StoreFuture<'_, Vec<ScheduleRecord>> {
        Box::pin(std::future::ready(Ok(Vec::new())))
    }

    /// Schedule `name`, if the store keeps it. The default looks through
    /// [`list_schedules`](Store::list_schedules).
    fn schedule(&self, name: &str) -> StoreFuture<'_, Option<ScheduleRecord>> {
        let name = name.to_owned();
        Box::pin(async move {
            let schedules = self.list_schedules().await?;
            Ok(schedules.into_iter().find(|record| record.name == name))
        })
    }

    /// Applies `change` to schedule `name` atomically
    /// ([`ScheduleChange::apply`] against the record as it is in the store,
    /// under the store's lock or in one transaction) and returns the record
    /// after it (`None`: no such schedule, or it was removed).
    ///
    /// The default fails with [`StoreError::Unsupported`]: a store that
    /// keeps schedules implements this and [`list_schedules`](Store::list_schedules).
    fn change_schedule(
        &self,
        name: &str,
        change: ScheduleChange,
    ) -> StoreFuture<'_, Option<ScheduleRecord>> {
        let _ = (name, change);
        Box::pin(std::future::ready(Err(StoreError::Unsupported {
            what: "schedules",
        })))
    }

    /// The retention an engine applies to this store unless
    /// [told otherwise](crate::EngineBuilder::retention). The default keeps
    /// every run ([`Retention::new`]); the memory store's is
    /// [`Retention::in_memory`], the SQLite store's [`Retention::durable`].
    fn default_retention(&self) -> Retention {
        Retention::new()
    }
}

/// The writer of one run: appends its step records and records how it
/// ended.
///
/// A per-run handle, so the hot path takes no store-wide lock. Every write is
/// fenced by the lease the handle was opened under: once another worker took
/// the run over, it fails with [`StoreError::LeaseLost`] and writes nothing.
pub trait RunWriter: Send + Sync + Debug {
    /// Appends a step's record.
    ///
    /// Fails with [`StoreError::DuplicateStep`] if the key is already recorded
    /// (the existing entry is kept) and [`StoreError::RunFinished`] after
    /// [`finish`](RunWriter::finish).
    fn record_step(&self, record: StepRecord) -> StoreFuture<'_, ()>;

    /// Appends a step's record at once, without a future, if this writer
    /// can: `Ok` with what [`record_step`](Self::record_step) would have
    /// given, or the record back (`Err`) for the engine to write it with
    /// `record_step`. The default always gives it back; a store whose writes
    /// are done in memory on the caller's thread (the in-memory store)
    /// writes it here, sparing the step path a boxed future.
    ///
    /// # Errors
    ///
    /// The record itself, when this writer does not write at once.
    #[allow(clippy::result_large_err)] // the record handed back, not an error
    fn record_step_now(&self, record: StepRecord) -> Result<Result<(), StoreError>, StepRecord> {
        Err(record)
    }

    /// Records a stream loop's checkpoint: like
    /// [`record_step`](Self::record_step), but an entry already under its
    /// key (the loop's checkpoint before) is replaced, keeping its place in
    /// the journal's order. The one write a store replaces: a stream loop
    /// keeps one entry however many items pass (see
    /// [`stream`](crate::stream)).
    ///
    /// Fails with [`StoreError::RunFinished`] after
    /// [`finish`](RunWriter::finish).
    fn record_checkpoint(&self, record: StepRecord) -> StoreFuture<'_, ()>;

    /// Starts the run's next generation (`continue_as_new` in a workflow):
    /// in one write, its journal is replaced by `marker` alone, the signals
    /// it received are removed (those not yet received stay, for the next
    /// generation), the entries set aside by retries are removed, and its
    /// input becomes `input`. The run keeps its id, its record and its
    /// lease; a journal that would grow for ever stays bounded.
    ///
    /// Fails with [`StoreError::RunFinished`] after
    /// [`finish`](RunWriter::finish) and [`StoreError::LeaseLost`] once the
    /// run was taken over.
    fn continue_as_new(&self, input: Value, marker: StepRecord) -> StoreFuture<'_, ()>;

    /// Whether this worker may still be sure it holds the run's lease, as
    /// far as it can tell without asking the store: checked before every
    /// step and compensation starts, so a worker that was paused or cut off
    /// past its lease starts nothing another worker may be running too (its
    /// writes are refused anyway, by the epoch). Stores whose leases cannot
    /// lapse (one process; liveness by an operating-system lock) always say
    /// yes, the default.
    fn holds_lease(&self) -> bool {
        true
    }

    /// Waits until every entry this writer was given has been written or
    /// refused, including those whose [`record_step`](Self::record_step)
    /// future was dropped: the engine calls it before rolling a cancelled
    /// run back, so that a step whose entry lands late is undone too. The
    /// default is ready at once, for stores whose writes are done when
    /// their future is, or that write in order on one thread (the rollback's
    /// own writes then come after them).
    fn settled(&self) -> StoreFuture<'_, ()> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// Hands the run back without ending it: the lease is released and any
    /// worker may claim the run from `wake_at` on (at once if `None`). A run
    /// that sleeps holds no lease; a worker that drains hands back what it
    /// could not finish. The handle takes no more writes.
    ///
    /// Fails with [`StoreError::RunFinished`] if the run finished and
    /// [`StoreError::LeaseLost`] once it was taken over.
    fn release(&self, wake_at: Option<SystemTime>) -> StoreFuture<'_, ()>;

    /// Records how the run ended (its state becomes [`RunState::Ended`], at
    /// the time the store takes now), closes the journal and releases the
    /// lease.
    ///
    /// Fails with [`StoreError::RunFinished`] if the run already finished and
    /// [`StoreError::LeaseLost`] once the run was taken over.
    fn finish(&self, outcome: RunOutcome) -> StoreFuture<'_, ()>;
}
