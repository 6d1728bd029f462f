//! Removing finished runs from the PostgreSQL store.
//!
//! Choosing what a [`Retention`] no longer keeps is a read (through the
//! `runs_ended` index); each removal is a transaction of its own that locks
//! the run's whole tree and checks again that all of it, and the run's
//! parent, have ended. A run reopened between the two stays.

use std::time::SystemTime;

use sqlx::{AssertSqlSafe, Row};

use super::PgStore;
use crate::store::columns::time_to_sql;
use crate::store::{Keep, Retention};
use crate::{RunId, StoreError};

/// The SQL status lists of the two kinds of finished run.
const COMPLETED: &str = "('completed')";
const FAILED: &str = "('failed', 'cancelled', 'compensation_failed')";

/// The ids of the ended top-level runs `retention` no longer keeps at `now`.
pub(super) async fn expired(
    store: &PgStore,
    retention: &Retention,
    now: SystemTime,
) -> Result<Vec<String>, StoreError> {
    let mut ids = Vec::new();
    for (statuses, keep) in [
        (COMPLETED, retention.completed()),
        (FAILED, retention.failed()),
    ] {
        expired_of(store, statuses, keep, now, &mut ids)
            .await
            .map_err(|error| store.fail(None, &error))?;
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

async fn expired_of(
    store: &PgStore,
    statuses: &str,
    keep: Keep,
    now: SystemTime,
    ids: &mut Vec<String>,
) -> Result<(), sqlx::Error> {
    let s = &store.inner.sql.schema;
    let pool = &store.inner.pool;
    if let Some(newest) = keep.newest() {
        let found: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT id FROM {s}.runs WHERE parent IS NULL AND status IN {statuses}
             ORDER BY finished_at DESC, id DESC OFFSET $1"
        )))
        .bind(i64::try_from(newest).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await?;
        ids.extend(found);
    }
    if let Some(duration) = keep.duration() {
        let cutoff = now.checked_sub(duration).unwrap_or(SystemTime::UNIX_EPOCH);
        let found: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT id FROM {s}.runs WHERE parent IS NULL AND status IN {statuses}
             AND finished_at < $1"
        )))
        .bind(time_to_sql(cutoff))
        .fetch_all(pool)
        .await?;
        ids.extend(found);
    }
    Ok(())
}

/// Removes `run`, its children's runs and everything recorded for them, if
/// all of them and `run`'s parent have ended.
pub(super) async fn remove(store: &PgStore, run: &RunId) -> Result<(), StoreError> {
    let fail = |error: sqlx::Error| store.fail(Some(run), &error);
    let refuse = |unended: String| StoreError::NotRemovable {
        run: run.clone(),
        unended: RunId::new(unended),
    };
    let s = &store.inner.sql.schema;
    let mut transaction = store.inner.pool.begin().await.map_err(fail)?;
    // The parent's row is read FOR SHARE: it cannot be reopened meanwhile.
    let parent = sqlx::query(AssertSqlSafe(format!(
        "SELECT parent.id, parent.status FROM {s}.runs AS runs
         LEFT JOIN {s}.runs AS parent ON parent.id = runs.parent
         WHERE runs.id = $1 FOR SHARE OF runs"
    )))
    .bind(run.as_str())
    .fetch_optional(&mut *transaction)
    .await
    .map_err(fail)?;
    let Some(parent) = parent else {
        return Err(StoreError::UnknownRun { run: run.clone() });
    };
    let parent: Option<(String, String)> = parent
        .try_get::<Option<String>, _>(0)
        .map_err(fail)?
        .zip(parent.try_get::<Option<String>, _>(1).map_err(fail)?);
    if let Some((parent, status)) = parent
        && !ended(&status)
    {
        return Err(refuse(parent));
    }
    let tree: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "WITH RECURSIVE tree(id) AS (
             VALUES ($1::text)
             UNION ALL SELECT runs.id FROM {s}.runs AS runs JOIN tree ON runs.parent = tree.id
         )
         SELECT id FROM tree"
    )))
    .bind(run.as_str())
    .fetch_all(&mut *transaction)
    .await
    .map_err(fail)?;
    // Locked, then checked: a run of the tree reopened meanwhile stays.
    let statuses = sqlx::query(AssertSqlSafe(format!(
        "SELECT id, status FROM {s}.runs WHERE id = ANY($1) ORDER BY id FOR UPDATE"
    )))
    .bind(&tree)
    .fetch_all(&mut *transaction)
    .await
    .map_err(fail)?;
    for row in &statuses {
        let status: &str = row.try_get(1).map_err(fail)?;
        if !ended(status) {
            return Err(refuse(row.try_get(0).map_err(fail)?));
        }
    }
    for table in ["steps", "signals", "retired_steps"] {
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {s}.{table} WHERE run_id = ANY($1)"
        )))
        .bind(&tree)
        .execute(&mut *transaction)
        .await
        .map_err(fail)?;
    }
    sqlx::query(AssertSqlSafe(format!(
        "DELETE FROM {s}.runs WHERE id = ANY($1)"
    )))
    .bind(&tree)
    .execute(&mut *transaction)
    .await
    .map_err(fail)?;
    transaction.commit().await.map_err(fail)
}

/// Whether a run with this SQL status has ended.
fn ended(status: &str) -> bool {
    !matches!(status, "running" | "compensating")
}
