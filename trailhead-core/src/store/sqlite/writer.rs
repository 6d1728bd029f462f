//! The one writer: a thread that owns the write connection and commits what
//! every run asks for in batches, so that many concurrent runs share each
//! fsync (group commit).
//!
//! A request waits in the channel while the previous batch commits; when the
//! thread comes back it takes everything waiting (up to [`MAX_BATCH`]) into one
//! transaction. Idle, a write costs one commit; under load one commit serves
//! many runs. Each request runs under its own savepoint, so one refused write
//! (a step journaled twice) does not undo the others in its batch.
//!
//! The writer is also where leases are claimed and checked (see
//! [`crate::store::lease`]): a claim and every fenced write run in the
//! writer's `IMMEDIATE` transaction, which holds SQLite's write lock, so no
//! other process can claim the run between the check and the write.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::SystemTime;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::apply::apply;
use super::error::database_error;
use super::workers::Workers;
use crate::store::{
    AfterCompensation, ClaimOffer, Enqueue, Enqueued, RunOutcome, RunRecord, StepRecord, Value,
    WorkerId,
};
use crate::{RunId, StoreError};

/// Most writes committed together.
const MAX_BATCH: usize = 1024;

/// A change to the database.
#[derive(Debug)]
pub(super) enum Write {
    CreateRun(RunRecord),
    /// Claims an unfinished run for this worker: answers with the epoch.
    Claim {
        run: RunId,
    },
    Step {
        run: RunId,
        epoch: i64,
        record: StepRecord,
    },
    /// The run's next generation: its journal replaced by `marker`, its
    /// received signals removed, its input replaced.
    ContinueAsNew {
        run: RunId,
        epoch: i64,
        input: Value,
        marker: StepRecord,
    },
    /// A stream loop's checkpoint, replacing the one before under its key.
    Checkpoint {
        run: RunId,
        epoch: i64,
        record: StepRecord,
    },
    Finish {
        run: RunId,
        epoch: i64,
        outcome: RunOutcome,
        at: SystemTime,
    },
    Signal {
        run: RunId,
        name: String,
        payload: Value,
    },
    /// Records that cancelling the run was asked at `at`; a run that holds
    /// no lease is due from `at` at the latest.
    RequestCancel {
        run: RunId,
        at: SystemTime,
    },
    /// Receives a signal for a step: answers with its payload, if any.
    Receive {
        run: RunId,
        name: String,
        key: String,
    },
    /// Reopens a failed or cancelled run, retiring its failed step entries.
    Reopen {
        run: RunId,
        at: SystemTime,
    },
    /// Claims a running (or completed child) run and marks it compensating,
    /// to end as `then`: answers with the epoch.
    BeginCompensation {
        run: RunId,
        then: AfterCompensation,
    },
    /// Removes an ended run with everything recorded for it and its children.
    Remove {
        run: RunId,
    },
    /// Records a run with no owner, claimable from `at`: answers whether
    /// it did, or found the run its key names.
    Enqueue {
        record: RunRecord,
        options: Enqueue,
        at: SystemTime,
    },
    /// Claims due runs of the offer: answers with their ids and the next
    /// due time.
    ClaimDue {
        offer: ClaimOffer,
        now: SystemTime,
    },
    /// Reads the fleet's status (it needs the workers' liveness, which the
    /// writer knows): answers with it.
    Fleet,
    /// Hands the run back, claimable from `wake_at`.
    Release {
        run: RunId,
        epoch: i64,
        wake_at: SystemTime,
    },
    /// Changes schedule `name`: answers with its record after.
    Schedule {
        name: String,
        change: crate::store::ScheduleChange,
    },
}

/// What a write answers.
#[derive(Debug)]
pub(super) enum Answer {
    Done,
    /// A received signal's payload, if one was waiting.
    Signal(Option<Value>),
    /// The run is this worker's under this epoch; `None` if it has ended
    /// (nothing to claim: its journal takes no writes).
    Claimed(Option<i64>),
    /// The runs claimed for this worker, and when the next becomes due.
    ClaimedDue(Vec<RunId>, Option<SystemTime>),
    /// What an enqueue did.
    Enqueued(Enqueued),
    /// The fleet's status.
    Fleet(crate::store::FleetStatus),
    /// A schedule after a change.
    Schedule(Option<crate::store::ScheduleRecord>),
}

#[derive(Debug)]
struct Request {
    write: Write,
    reply: oneshot::Sender<Result<Answer, StoreError>>,
}

/// The handle runs use to ask the writer thread for writes.
#[derive(Debug)]
pub(super) struct Writer {
    requests: mpsc::Sender<Request>,
    path: PathBuf,
    commits: Arc<AtomicU64>,
    worker: WorkerId,
    /// The writer thread, joined when the last handle goes: its last writes
    /// are committed and the worker's lock released before the drop returns,
    /// so another store on the file can take the worker's runs over at once.
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the channel ends the thread once it has drained it.
        let (closed, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.requests, closed));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Writer {
    /// Starts the writer thread on `connection`, writing as `workers`' worker.
    /// The thread owns the worker's lock: it is held until the last handle
    /// is gone and the last write committed.
    pub(super) fn start(
        connection: Connection,
        path: PathBuf,
        workers: Workers,
    ) -> std::io::Result<Self> {
        let (requests, incoming) = mpsc::channel();
        let thread_path = path.clone();
        let commits = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&commits);
        let worker = workers.me().clone();
        let thread = std::thread::Builder::new()
            .name("trailhead-sqlite-writer".to_owned())
            .spawn(move || run(connection, &thread_path, &workers, &incoming, &counter))?;
        Ok(Writer {
            requests,
            path,
            commits,
            worker,
            thread: Some(thread),
        })
    }

    /// The worker this writer writes as.
    pub(super) fn worker(&self) -> &WorkerId {
        &self.worker
    }

    /// Transactions committed so far.
    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Commits `write`, durably, before returning.
    pub(super) async fn write(&self, write: Write) -> Result<Answer, StoreError> {
        let run = run_of(&write);
        let (reply, answer) = oneshot::channel();
        let gone = || StoreError::Database {
            store: Box::new(crate::store::StoreLocation::File(self.path.clone())),
            run: run.clone(),
            problem: crate::store::DatabaseProblem::Other(
                "the writer thread has stopped".to_owned(),
            ),
        };
        self.requests
            .send(Request { write, reply })
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

fn run(
    mut connection: Connection,
    path: &Path,
    workers: &Workers,
    incoming: &mpsc::Receiver<Request>,
    commits: &AtomicU64,
) {
    while let Ok(first) = incoming.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match incoming.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let outcomes = commit(&mut connection, path, workers, &batch);
        commits.fetch_add(1, Ordering::Relaxed);
        for (request, outcome) in batch.into_iter().zip(outcomes) {
            // A run that stopped waiting (cancelled) no longer needs the answer.
            let _ = request.reply.send(outcome);
        }
    }
}

/// Applies the batch in one transaction; the outcome of each request.
fn commit(
    connection: &mut Connection,
    path: &Path,
    workers: &Workers,
    batch: &[Request],
) -> Vec<Result<Answer, StoreError>> {
    let mut transaction =
        match connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
            Ok(transaction) => transaction,
            Err(error) => {
                return batch
                    .iter()
                    .map(|r| Err(database_error(path, run_of(&r.write), &error)))
                    .collect();
            }
        };
    let mut outcomes = Vec::with_capacity(batch.len());
    for request in batch {
        let outcome = match transaction.savepoint() {
            Ok(mut savepoint) => {
                let outcome = apply(&savepoint, path, workers, &request.write);
                if outcome.is_ok() {
                    savepoint
                        .commit()
                        .map_err(|error| database_error(path, run_of(&request.write), &error))
                        .and(outcome)
                } else {
                    let _ = savepoint.rollback();
                    outcome
                }
            }
            Err(error) => Err(database_error(path, run_of(&request.write), &error)),
        };
        outcomes.push(outcome);
    }
    if let Err(error) = transaction.commit() {
        return batch
            .iter()
            .map(|r| Err(database_error(path, run_of(&r.write), &error)))
            .collect();
    }
    outcomes
}

/// The run a write is for; `None` for a claim of many.
pub(super) fn run_of(write: &Write) -> Option<RunId> {
    Some(match write {
        Write::CreateRun(record) | Write::Enqueue { record, .. } => record.id.clone(),
        Write::ClaimDue { .. } | Write::Fleet | Write::Schedule { .. } => return None,
        Write::Claim { run }
        | Write::Step { run, .. }
        | Write::Checkpoint { run, .. }
        | Write::ContinueAsNew { run, .. }
        | Write::Finish { run, .. }
        | Write::Signal { run, .. }
        | Write::RequestCancel { run, .. }
        | Write::Receive { run, .. }
        | Write::Reopen { run, .. }
        | Write::BeginCompensation { run, .. }
        | Write::Release { run, .. }
        | Write::Remove { run } => run.clone(),
    })
}
