//! The fleet on PostgreSQL: enqueuing runs, claiming due ones in batches
//! with `FOR UPDATE SKIP LOCKED` under the queues' limits, handing runs
//! back, the fleet's status, and the notices (`LISTEN`/`NOTIFY`) that wake
//! workers.
//!
//! `NOTIFY` takes a database-wide lock at commit, so it is sent only when a
//! worker has something to learn at once: a run enqueued or handed back to
//! run now, a signal sent, a cancel asked, a run ended (for handles in
//! other processes);
//! never on a journal write. [`PgStoreBuilder::notify`](super::PgStoreBuilder::notify)
//! turns it off, and workers poll.

use std::time::{Duration, SystemTime};

use sqlx::Row;
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::broadcast;

use super::PgStore;
use super::error::is_unique_violation;
use super::rows::run_from_row;
use super::sql::{RUN_COLUMNS, UNFINISHED};
use crate::store::columns::time_to_sql;
use crate::store::queue::Admission;
use crate::store::{
    ClaimOffer, Claimed, Enqueue, Enqueued, FleetStatus, Notice, QueueStatus, RunRecord, WorkerId,
    WorkerStatus,
};
use crate::{RunId, StoreError};

/// Runs fetched per claim beyond the limit, for those the queues' limits
/// turn away.
const SLACK: i64 = 32;

/// A hundred years in microseconds.
const CENTURY_MICROS: i64 = 100 * 365 * 24 * 3600 * 1_000_000;

impl PgStore {
    pub(super) async fn enqueue(
        &self,
        record: RunRecord,
        options: &Enqueue,
    ) -> Result<Enqueued, StoreError> {
        self.check_open(&record.id)?;
        let fail = |error: sqlx::Error| self.fail(Some(&record.id), &error);
        let s = &self.inner.sql.schema;
        let inserted = sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH made AS (
                 INSERT INTO {s}.runs (id, workflow, definition_hash, parent, input, input_codec, status,
                     mermaid, created_at, lease_epoch, run_at, priority, queue, dedup_key)
                 VALUES ($1, $2, $3, NULL, $4, $5, 'running', $6, $7, 0, now(), $8, $9, $10)
                 ON CONFLICT ((coalesce(queue, '')), dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
                 RETURNING id)
             SELECT id, CASE WHEN $11 THEN pg_notify($12, 'runnable')::text END FROM made"
        )))
        .bind(record.id.as_str())
        .bind(&record.workflow)
        .bind(record.definition_hash.cast_signed())
        .bind(record.input.bytes())
        .bind(record.input.codec().name())
        .bind(&record.mermaid)
        .bind(time_to_sql(record.created_at))
        .bind(options.priority())
        .bind(options.queue())
        .bind(options.dedup_key())
        .bind(self.inner.notify.is_some())
        .bind(&self.inner.channel)
        .fetch_optional(&self.inner.pool)
        .await;
        match inserted {
            Ok(Some(_)) => return Ok(Enqueued::New),
            Ok(None) => {}
            Err(error) if is_unique_violation(&error) => {
                return Err(StoreError::RunExists { run: record.id });
            }
            Err(error) => return Err(fail(error)),
        }
        // The key was taken: the run it names.
        let existing: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM {s}.runs WHERE coalesce(queue, '') = coalesce($1, '') AND dedup_key = $2"
        )))
        .bind(options.queue())
        .bind(options.dedup_key())
        .fetch_optional(&self.inner.pool)
        .await
        .map_err(fail)?;
        match existing {
            Some(id) => Ok(Enqueued::Existing(RunId::new(id))),
            // Removed between the two statements: try again.
            None => Box::pin(self.enqueue(record, options)).await,
        }
    }

    pub(super) async fn claim_due(&self, offer: &ClaimOffer) -> Result<Claimed, StoreError> {
        if self.inner.closed.load(std::sync::atomic::Ordering::Acquire) || offer.limit == 0 {
            return Ok(Claimed::default());
        }
        let fail = |error: sqlx::Error| self.fail(None, &error);
        let s = &self.inner.sql.schema;
        let definitions: Vec<String> = offer
            .definitions
            .iter()
            .map(|(name, hash)| format!("{name}:{}", hash.cast_signed()))
            .collect();
        let served: Vec<&str> = offer.queues.iter().map(|queue| queue.name()).collect();
        let mut transaction = self.inner.pool.begin().await.map_err(fail)?;
        // Limited queues are counted under a lock of their own, so that two
        // workers claiming at once cannot both see the same room.
        let mut limited: Vec<&str> = offer
            .queues
            .iter()
            .filter(|queue| queue.concurrency().is_some() || queue.rate().is_some())
            .map(|queue| queue.name())
            .collect();
        limited.sort_unstable();
        for queue in &limited {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(format!("trailhead queue {s} {queue}"))
                .execute(&mut *transaction)
                .await
                .map_err(fail)?;
        }
        let mut counts = Vec::new();
        for queue in &offer.queues {
            if !limited.contains(&queue.name()) {
                continue;
            }
            // A window PostgreSQL's intervals hold: at most a century.
            let window = queue
                .rate()
                .map(|rate| micros(rate.per).min(CENTURY_MICROS));
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT count(*) FILTER (WHERE started_at IS NOT NULL AND status IN {UNFINISHED}),
                        count(*) FILTER (WHERE $2::bigint IS NOT NULL
                                         AND started_at > now() - $2 * interval '1 microsecond')
                 FROM {s}.runs WHERE queue = $1"
            )))
            .bind(queue.name())
            .bind(window)
            .fetch_one(&mut *transaction)
            .await
            .map_err(fail)?;
            let count = |at: usize| -> Result<usize, StoreError> {
                let n: i64 = row.try_get(at).map_err(fail)?;
                Ok(usize::try_from(n).unwrap_or(0))
            };
            counts.push((queue.name().to_owned(), (count(0)?, count(1)?)));
        }
        let mut admission = Admission::new(offer, |queue| {
            Ok::<_, StoreError>(
                counts
                    .iter()
                    .find(|(name, _)| name == queue.name())
                    .map_or((0, 0), |(_, counted)| *counted),
            )
        })?;
        let limit = i64::try_from(offer.limit).unwrap_or(i64::MAX / 2);
        let candidates = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT r.id, r.queue, r.started_at IS NOT NULL FROM {s}.runs AS r
             WHERE r.parent IS NULL AND r.status IN {UNFINISHED}
               AND (r.workflow || ':' || r.definition_hash::text) = ANY($1)
               AND (r.queue IS NULL OR r.queue = ANY($2))
               AND ((r.lease_owner IS NULL AND r.run_at <= now())
                    OR (r.lease_owner <> $3 AND NOT EXISTS (
                        SELECT 1 FROM {s}.workers AS w
                        WHERE w.id = r.lease_owner AND w.expires_at > now())))
             ORDER BY (r.lease_owner IS NULL), r.priority DESC, r.run_at, r.created_at, r.id
             LIMIT $4 FOR UPDATE OF r SKIP LOCKED"
        )))
        .bind(&definitions)
        .bind(&served)
        .bind(self.inner.worker.as_str())
        // Rows are locked as they are read: read no more than can be
        // claimed, or a concurrent claimer skips runs nobody takes. Only a
        // queue's limits turn candidates away, and those claims are one at
        // a time (the queue's lock).
        .bind(if limited.is_empty() {
            limit
        } else {
            limit.saturating_add(SLACK)
        })
        .fetch_all(&mut *transaction)
        .await
        .map_err(fail)?;
        let mut chosen = Vec::new();
        for row in &candidates {
            if chosen.len() >= offer.limit {
                break;
            }
            let id: String = row.try_get(0).map_err(fail)?;
            let queue: Option<String> = row.try_get(1).map_err(fail)?;
            let started: bool = row.try_get(2).map_err(fail)?;
            if admission.admit(queue.as_deref(), started) {
                chosen.push(id);
            }
        }
        let mut claimed = Claimed::default();
        if !chosen.is_empty() {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {s}.runs SET lease_owner = $2, lease_epoch = lease_epoch + 1, run_at = now(),
                     started_at = coalesce(started_at, now()), claimed_at = now()
                 WHERE id = ANY($1) RETURNING {RUN_COLUMNS}"
            )))
            .bind(&chosen)
            .bind(self.inner.worker.as_str())
            .fetch_all(&mut *transaction)
            .await
            .map_err(fail)?;
            for row in &rows {
                claimed
                    .runs
                    .push(run_from_row(row).map_err(|error| self.row_error(None, error))?);
            }
            claimed
                .runs
                .sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        }
        let next: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT (extract(epoch FROM min(run_at)) * 1000000)::bigint FROM {s}.runs
             WHERE lease_owner IS NULL AND parent IS NULL AND status IN {UNFINISHED}
               AND run_at > now()
               AND (workflow || ':' || definition_hash::text) = ANY($1)
               AND (queue IS NULL OR queue = ANY($2))"
        )))
        .bind(&definitions)
        .bind(&served)
        .fetch_one(&mut *transaction)
        .await
        .map_err(fail)?;
        transaction.commit().await.map_err(fail)?;
        claimed.next_due = next.map(from_micros);
        Ok(claimed)
    }

    pub(super) async fn release(
        &self,
        run: &RunId,
        epoch: i64,
        wake_at: Option<SystemTime>,
    ) -> Result<bool, StoreError> {
        let fail = |error: sqlx::Error| self.fail(Some(run), &error);
        let s = &self.inner.sql.schema;
        let wake = wake_at.map(|at| at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, micros));
        let released = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {s}.runs SET lease_owner = NULL,
                 run_at = coalesce(to_timestamp($4::float8 / 1000000), now())
             WHERE id = $1 AND lease_owner = $2 AND lease_epoch = $3 AND status IN {UNFINISHED}"
        )))
        .bind(run.as_str())
        .bind(self.inner.worker.as_str())
        .bind(epoch)
        .bind(wake)
        .execute(&self.inner.pool)
        .await
        .map_err(fail)?;
        if released.rows_affected() == 0 {
            return Ok(false);
        }
        let now = wake_at.is_none_or(|at| at <= SystemTime::now());
        if now {
            self.notify("runnable").await;
        }
        Ok(true)
    }

    /// Tells the fleet `payload`, if notices are on; a notice is a hint, so
    /// one that cannot be sent is only logged.
    pub(super) async fn notify(&self, payload: &str) {
        if self.inner.notify.is_none() {
            return;
        }
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&self.inner.channel)
            .bind(payload)
            .execute(&self.inner.pool)
            .await;
        if let Err(error) = sent {
            tracing::debug!(%error, "could not notify the fleet; workers poll");
        }
    }

    pub(super) async fn fleet_status(&self) -> Result<FleetStatus, StoreError> {
        let fail = |error: sqlx::Error| self.fail(None, &error);
        let s = &self.inner.sql.schema;
        let workers = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT coalesce(w.id, h.owner), coalesce(w.expires_at > now(), false),
                    coalesce(h.runs, 0), h.oldest
             FROM {s}.workers AS w
             FULL JOIN (SELECT lease_owner AS owner, count(*) AS runs,
                               (extract(epoch FROM min(claimed_at)) * 1000000)::bigint AS oldest
                        FROM {s}.runs WHERE lease_owner IS NOT NULL AND status IN {UNFINISHED}
                        GROUP BY lease_owner) AS h ON h.owner = w.id
             WHERE w.expires_at > now() OR h.runs > 0
             ORDER BY 1"
        )))
        .fetch_all(&self.inner.pool)
        .await
        .map_err(fail)?;
        let mut status = FleetStatus::default();
        for row in &workers {
            let id: String = row.try_get(0).map_err(fail)?;
            let alive: bool = row.try_get(1).map_err(fail)?;
            let runs: i64 = row.try_get(2).map_err(fail)?;
            let oldest: Option<i64> = row.try_get(3).map_err(fail)?;
            let mut worker = WorkerStatus::new(WorkerId::new(id), alive);
            worker.runs = usize::try_from(runs).unwrap_or(0);
            worker.oldest_lease = oldest.map(from_micros);
            status.workers.push(worker);
        }
        let queues = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT queue, count(*) FILTER (WHERE started_at IS NULL),
                    count(*) FILTER (WHERE started_at IS NOT NULL)
             FROM {s}.runs WHERE parent IS NULL AND status IN {UNFINISHED}
             GROUP BY queue ORDER BY queue NULLS FIRST"
        )))
        .fetch_all(&self.inner.pool)
        .await
        .map_err(fail)?;
        for row in &queues {
            let mut queue = QueueStatus::new(row.try_get(0).map_err(fail)?);
            let waiting: i64 = row.try_get(1).map_err(fail)?;
            let in_flight: i64 = row.try_get(2).map_err(fail)?;
            queue.waiting = usize::try_from(waiting).unwrap_or(0);
            queue.in_flight = usize::try_from(in_flight).unwrap_or(0);
            status.queues.push(queue);
        }
        Ok(status)
    }
}

/// Listens on the store's channel and passes what comes as [`Notice`]s,
/// until every receiver and the store are gone. The listener reconnects on
/// its own; what was sent meanwhile is lost, so a reconnect is passed on as
/// [`Notice::Runnable`] (workers then look: for runs to claim and for the
/// cancels asked of theirs). So is the moment it first listens: a notice
/// sent while its connection was being opened (a cancel of a run a worker
/// claimed by its first look) was not heard either.
pub(super) async fn listen(pool: PgPool, channel: String, notices: broadcast::WeakSender<Notice>) {
    let mut listener = loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(&channel).await {
                Ok(()) => {
                    if let Some(sender) = notices.upgrade() {
                        let _ = sender.send(Notice::Runnable);
                    }
                    break listener;
                }
                Err(error) => tracing::warn!(%error, "could not listen for the fleet's notices"),
            },
            Err(error) => tracing::warn!(%error, "could not listen for the fleet's notices"),
        }
        if notices.upgrade().is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    loop {
        let received = listener.try_recv().await;
        let Some(sender) = notices.upgrade() else {
            return;
        };
        let notice = match received {
            Ok(Some(notification)) => parse(notification.payload()),
            // The connection was lost and is being reopened.
            Ok(None) => Some(Notice::Runnable),
            Err(error) => {
                tracing::warn!(%error, "the fleet's notices were cut off; reconnecting");
                drop(sender);
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        if let Some(notice) = notice {
            let _ = sender.send(notice);
        }
    }
}

/// A notice's payload: `runnable`, `signal:<run>`, `ended:<run>` or
/// `cancel:<run>`.
fn parse(payload: &str) -> Option<Notice> {
    match payload.split_once(':') {
        None if payload == "runnable" => Some(Notice::Runnable),
        Some(("signal", run)) => Some(Notice::Signal(RunId::new(run))),
        Some(("ended", run)) => Some(Notice::Ended(RunId::new(run))),
        Some(("cancel", run)) => Some(Notice::Cancel(RunId::new(run))),
        _ => None,
    }
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

fn from_micros(micros: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_micros(micros.max(0).cast_unsigned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_read_as_notices() {
        assert_eq!(parse("runnable"), Some(Notice::Runnable));
        assert_eq!(parse("signal:r-1"), Some(Notice::Signal(RunId::new("r-1"))));
        assert_eq!(parse("ended:a:b"), Some(Notice::Ended(RunId::new("a:b"))));
        assert_eq!(parse("cancel:r-2"), Some(Notice::Cancel(RunId::new("r-2"))));
        assert_eq!(parse("other"), None);
    }
}
