//! Workers on PostgreSQL, and how a store tells a live one from a dead one.
//!
//! Each [`PgStore`](super::PgStore) is a worker with a fresh id and a row in
//! `workers`. A worker is alive while its `expires_at` is ahead of the
//! database's clock (never a worker's own clock: one clock judges every
//! lease). The store renews it, `now() + lease`, every lease/3 from a task of
//! its own on a connection of its own, so a pool busy with journal writes
//! never delays a renewal. When the worker stops renewing (its process died,
//! froze, or lost the network) its row expires `lease` later and any other
//! worker may take its runs over; the old worker's late writes are refused
//! by their epoch (see [`crate::store::lease`]).
//!
//! The worker also learns when *its own* lease lapsed: a renewal that found
//! its row expired (or deleted), or no renewal confirmed for a whole `lease`
//! (the database was unreachable). Each time, the store's
//! [`lease_expiries`](super::PgStore::lease_expiries) count goes up: the runs
//! this worker drives may have been taken over and should stop. The next
//! renewal that succeeds makes the worker alive again, under the same id.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::sql::Statement;
use crate::store::WorkerId;

/// What the heartbeat needs: all owned, so the task holds no store.
#[derive(Debug, Clone)]
pub(super) struct Registration {
    pub(super) worker: WorkerId,
    /// The lease, in microseconds (what the SQL adds to `now()`).
    pub(super) lease_micros: i64,
    pub(super) host: Option<String>,
    pub(super) pid: i32,
}

impl Registration {
    pub(super) fn new(worker: WorkerId, lease: Duration) -> Self {
        Self {
            worker,
            lease_micros: i64::try_from(lease.as_micros()).unwrap_or(i64::MAX),
            host: host_name(),
            pid: i32::try_from(std::process::id()).unwrap_or(-1),
        }
    }

    /// Writes the worker's row: alive for one lease from now.
    pub(super) async fn register(
        &self,
        pool: &PgPool,
        statement: &Statement,
    ) -> Result<(), sqlx::Error> {
        statement
            .query()
            .bind(self.worker.as_str())
            .bind(self.lease_micros)
            .bind(self.host.as_deref())
            .bind(self.pid)
            .execute(pool)
            .await
            .map(drop)
    }

    /// Renews the worker's row; whether it was still alive.
    async fn renew(&self, pool: &PgPool, statement: &Statement) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar::<_, bool>(statement.text())
            .bind(self.worker.as_str())
            .bind(self.lease_micros)
            .bind(self.host.as_deref())
            .bind(self.pid)
            .fetch_one(pool)
            .await
    }
}

/// When the last renewal the database confirmed was sent, on this
/// process's monotonic clock: the worker's row lives at least a lease past
/// it. Read before every step, so a worker that was paused past its lease
/// (SIGSTOP, a long GC-like stall, a partition) starts nothing until it
/// knows it is alive.
#[derive(Debug)]
pub(super) struct Confirmed {
    origin: Instant,
    nanos: std::sync::atomic::AtomicU64,
}

impl Confirmed {
    /// Confirmed now (the registration).
    pub(super) fn now() -> Self {
        Self {
            origin: Instant::now(),
            nanos: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn set(&self, at: Instant) {
        let nanos = u64::try_from(at.duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX);
        self.nanos
            .fetch_max(nanos, std::sync::atomic::Ordering::AcqRel);
    }

    /// How long since the last confirmed renewal was sent.
    pub(super) fn age(&self) -> Duration {
        let at = self.origin
            + Duration::from_nanos(self.nanos.load(std::sync::atomic::Ordering::Acquire));
        at.elapsed()
    }
}

/// The running heartbeat: stopped when dropped.
#[derive(Debug)]
pub(super) struct Heartbeat {
    stop: CancellationToken,
}

impl Heartbeat {
    /// Renews `registration` every `lease`/3 on `pool` (a pool of its own),
    /// counting lapses of the lease in `expiries`.
    pub(super) fn start(
        registration: Registration,
        lease: Duration,
        pool: PgPool,
        statement: Statement,
        expiries: Arc<watch::Sender<u64>>,
        confirmed_at: Arc<Confirmed>,
    ) -> Self {
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let every = lease / 3;
        tokio::spawn(async move {
            // When the last renewal the database confirmed was sent: the row
            // lives at least `lease` past it.
            let mut confirmed = Instant::now();
            let mut reported = false;
            let lapsed = |expiries: &watch::Sender<u64>| expiries.send_modify(|n| *n += 1);
            loop {
                tokio::select! {
                    () = stopped.cancelled() => break,
                    () = tokio::time::sleep(every) => {}
                }
                let sent = Instant::now();
                let renewed = tokio::select! {
                    () = stopped.cancelled() => break,
                    renewed = tokio::time::timeout(every, registration.renew(&pool, &statement)) => renewed,
                };
                match renewed {
                    Ok(Ok(was_alive)) => {
                        if !was_alive && !reported {
                            tracing::warn!(worker = %registration.worker, "this worker's lease had expired");
                            lapsed(&expiries);
                        }
                        confirmed = sent;
                        confirmed_at.set(sent);
                        reported = false;
                    }
                    Ok(Err(error)) => {
                        tracing::warn!(worker = %registration.worker, %error, "cannot renew this worker's lease");
                    }
                    Err(_) => {
                        tracing::warn!(worker = %registration.worker, "renewing this worker's lease timed out");
                    }
                }
                if !reported && confirmed.elapsed() >= lease {
                    tracing::warn!(worker = %registration.worker, "no renewal of this worker's lease for a whole lease: it may have expired");
                    lapsed(&expiries);
                    reported = true;
                }
            }
        });
        Self { stop }
    }

    /// Stops renewing.
    pub(super) fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The machine's name, for operators reading `workers`.
fn host_name() -> Option<String> {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}
