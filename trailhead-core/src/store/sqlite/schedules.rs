//! Schedules in the SQLite store: one row per schedule, its
//! [`ScheduleRecord`] as JSON. A change is read, applied
//! ([`ScheduleChange::apply`]) and written back in the writer's
//! transaction, which holds SQLite's write lock: engines in several
//! processes change a schedule one at a time.

use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use super::writer::{Answer, Write};
use crate::StoreError;
use crate::store::{DatabaseProblem, ScheduleChange, ScheduleRecord};

/// A row's record; a record that does not read back is damage.
fn decode(json: &str) -> Result<ScheduleRecord, DatabaseProblem> {
    serde_json::from_str(json)
        .map_err(|error| DatabaseProblem::Malformed(format!("a schedule's record: {error}")))
}

/// Applies `change` to schedule `name` inside the writer's transaction.
pub(super) fn apply(
    connection: &Connection,
    name: &str,
    change: &ScheduleChange,
) -> Result<Result<Option<ScheduleRecord>, DatabaseProblem>, rusqlite::Error> {
    let before: Option<String> = connection
        .prepare_cached("SELECT record FROM schedules WHERE name = ?1")?
        .query_row([name], |row| row.get(0))
        .optional()?;
    let before = match before.as_deref().map(decode).transpose() {
        Ok(before) => before,
        Err(problem) => return Ok(Err(problem)),
    };
    let after = change.apply(before);
    match &after {
        Some(record) => {
            let json = serde_json::to_string(record)
                .map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))?;
            connection
                .prepare_cached(
                    "INSERT INTO schedules (name, workflow, record) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET workflow = ?2, record = ?3",
                )?
                .execute(params![name, record.workflow, json])?;
        }
        None => {
            connection
                .prepare_cached("DELETE FROM schedules WHERE name = ?1")?
                .execute([name])?;
        }
    }
    Ok(Ok(after))
}

impl SqliteStore {
    pub(super) async fn change_schedule_row(
        &self,
        name: &str,
        change: ScheduleChange,
    ) -> Result<Option<ScheduleRecord>, StoreError> {
        let write = Write::Schedule {
            name: name.to_owned(),
            change,
        };
        match self.write(write).await? {
            Answer::Schedule(record) => Ok(record),
            other => unreachable!("a schedule change answers with the schedule, not {other:?}"),
        }
    }

    pub(super) async fn schedule_rows(
        &self,
        name: Option<String>,
    ) -> Result<Vec<ScheduleRecord>, StoreError> {
        let rows: Vec<String> = self
            .read(None, move |connection| {
                let mut statement = connection.prepare_cached(
                    "SELECT record FROM schedules WHERE ?1 IS NULL OR name = ?1 ORDER BY name",
                )?;
                statement
                    .query_map([name], |row| row.get(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
        rows.iter()
            .map(|json| decode(json).map_err(|problem| self.malformed(None, problem)))
            .collect()
    }
}
