//! Removing finished runs from the SQLite store.
//!
//! Choosing what a [`Retention`] no longer keeps is a read (on the read
//! connection, through the `runs_ended` index); each removal is a write of its
//! own that checks again, in the writer's transaction, that the run and its
//! whole tree have ended. A run reopened between the two stays.

use std::path::Path;
use std::time::SystemTime;

use rusqlite::{Connection, OptionalExtension, params};

use super::error::database_error;
use super::rows::time_to_sql;
use crate::store::{Keep, Retention};
use crate::{RunId, StoreError};

/// The SQL status lists of the two kinds of finished run.
const COMPLETED: &str = "'completed'";
const FAILED: &str = "'failed', 'cancelled', 'compensation_failed'";

/// The ids of the ended top-level runs `retention` no longer keeps at `now`.
pub(super) fn expired(
    connection: &Connection,
    retention: &Retention,
    now: SystemTime,
) -> rusqlite::Result<Vec<String>> {
    let mut ids = Vec::new();
    for (statuses, keep) in [
        (COMPLETED, retention.completed()),
        (FAILED, retention.failed()),
    ] {
        expired_of(connection, statuses, keep, now, &mut ids)?;
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

fn expired_of(
    connection: &Connection,
    statuses: &str,
    keep: Keep,
    now: SystemTime,
    ids: &mut Vec<String>,
) -> rusqlite::Result<()> {
    if let Some(newest) = keep.newest() {
        let mut statement = connection.prepare_cached(&format!(
            "SELECT id FROM runs WHERE parent IS NULL AND status IN ({statuses})
             ORDER BY finished_at DESC, id DESC LIMIT -1 OFFSET ?1"
        ))?;
        let offset = i64::try_from(newest).unwrap_or(i64::MAX);
        for id in statement.query_map([offset], |row| row.get(0))? {
            ids.push(id?);
        }
    }
    if let Some(duration) = keep.duration() {
        let cutoff = now.checked_sub(duration).unwrap_or(SystemTime::UNIX_EPOCH);
        let mut statement = connection.prepare_cached(&format!(
            "SELECT id FROM runs WHERE parent IS NULL AND status IN ({statuses})
             AND finished_at < ?1"
        ))?;
        for id in statement.query_map([time_to_sql(cutoff)], |row| row.get(0))? {
            ids.push(id?);
        }
    }
    Ok(())
}

/// Removes `run`, its children's runs and everything recorded for them, if
/// all of them and `run`'s parent have ended.
pub(super) fn remove(connection: &Connection, path: &Path, run: &RunId) -> Result<(), StoreError> {
    let fail = |error: &rusqlite::Error| database_error(path, Some(run.clone()), error);
    let refuse = |unended: String| StoreError::NotRemovable {
        run: run.clone(),
        unended: RunId::new(unended),
    };
    let parent: Option<Option<(String, String)>> = connection
        .query_row(
            "SELECT parent.id, parent.status FROM runs LEFT JOIN runs AS parent ON parent.id = runs.parent
             WHERE runs.id = ?1",
            [run.as_str()],
            |row| Ok(row.get::<_, Option<String>>(0)?.zip(row.get(1)?)),
        )
        .optional()
        .map_err(|e| fail(&e))?;
    match parent {
        None => return Err(StoreError::UnknownRun { run: run.clone() }),
        Some(Some((parent, status))) if !ended(&status) => return Err(refuse(parent)),
        Some(_) => {}
    }
    let tree: Vec<(String, String)> = connection
        .prepare_cached(
            "WITH RECURSIVE tree(id) AS (
                 VALUES (?1)
                 UNION ALL SELECT runs.id FROM runs JOIN tree ON runs.parent = tree.id
             )
             SELECT runs.id, runs.status FROM tree JOIN runs ON runs.id = tree.id",
        )
        .and_then(|mut statement| {
            statement
                .query_map([run.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect()
        })
        .map_err(|e| fail(&e))?;
    if let Some((unended, _)) = tree.iter().find(|(_, status)| !ended(status)) {
        return Err(refuse(unended.clone()));
    }
    for (id, _) in &tree {
        for table in [
            "DELETE FROM steps WHERE run_id = ?1",
            "DELETE FROM signals WHERE run_id = ?1",
            "DELETE FROM retired_steps WHERE run_id = ?1",
            "DELETE FROM runs WHERE id = ?1",
        ] {
            connection
                .prepare_cached(table)
                .and_then(|mut statement| statement.execute(params![id]))
                .map_err(|e| fail(&e))?;
        }
    }
    Ok(())
}

/// Whether a run with this SQL status has ended.
fn ended(status: &str) -> bool {
    !matches!(status, "running" | "compensating")
}
