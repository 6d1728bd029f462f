//! Records to rows and back.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::Row;

use crate::store::{DatabaseProblem, RunOutcome, RunRecord, RunStatus, StepOutcome, StepRecord};
use crate::{RunId, StepKey};

pub(super) fn time_to_sql(time: SystemTime) -> i64 {
    let nanos = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    i64::try_from(nanos).unwrap_or(i64::MAX)
}

pub(super) fn time_from_sql(nanos: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

pub(super) fn status_to_sql(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Running => "running",
        RunStatus::Completed => "completed",
        RunStatus::Failed => "failed",
        RunStatus::Cancelled => "cancelled",
        RunStatus::Compensating => "compensating",
        RunStatus::CompensationFailed => "compensation_failed",
        RunStatus::Compensated => "compensated",
    }
}

fn status_from_sql(text: &str) -> Result<RunStatus, DatabaseProblem> {
    Ok(match text {
        "running" => RunStatus::Running,
        "completed" => RunStatus::Completed,
        "failed" => RunStatus::Failed,
        "cancelled" => RunStatus::Cancelled,
        "compensating" => RunStatus::Compensating,
        "compensation_failed" => RunStatus::CompensationFailed,
        "compensated" => RunStatus::Compensated,
        other => {
            return Err(DatabaseProblem::Malformed(format!(
                "unknown run status `{other}`"
            )));
        }
    })
}

/// The columns [`run_from_row`] reads, in order.
pub(super) const RUN_COLUMNS: &str = "id, workflow, definition_hash, parent, input, status, outcome, mermaid, created_at, finished_at";

/// A step or run outcome and journaled values are kept as JSON text.
pub(super) fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("records serialize to JSON")
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, DatabaseProblem> {
    serde_json::from_str(text)
        .map_err(|error| DatabaseProblem::Malformed(format!("{what}: {error}")))
}

pub(super) fn run_from_row(row: &Row<'_>) -> rusqlite::Result<Result<RunRecord, DatabaseProblem>> {
    let id: String = row.get(0)?;
    let workflow: String = row.get(1)?;
    let definition_hash: i64 = row.get(2)?;
    let parent: Option<String> = row.get(3)?;
    let input: String = row.get(4)?;
    let status: String = row.get(5)?;
    let outcome: Option<String> = row.get(6)?;
    let mermaid: String = row.get(7)?;
    let created_at: i64 = row.get(8)?;
    let finished_at: Option<i64> = row.get(9)?;
    Ok((|| {
        Ok(RunRecord {
            id: RunId::new(id),
            workflow,
            definition_hash: definition_hash.cast_unsigned(),
            parent: parent.map(RunId::new),
            input: from_json(&input, "run input")?,
            status: status_from_sql(&status)?,
            outcome: outcome
                .map(|text| from_json::<RunOutcome>(&text, "run outcome"))
                .transpose()?,
            mermaid,
            created_at: time_from_sql(created_at),
            finished_at: finished_at.map(time_from_sql),
        })
    })())
}

pub(super) fn step_from_row(
    row: &Row<'_>,
) -> rusqlite::Result<Result<StepRecord, DatabaseProblem>> {
    let key: String = row.get(0)?;
    let outcome: String = row.get(1)?;
    let attempts: i64 = row.get(2)?;
    let started_at: i64 = row.get(3)?;
    let finished_at: i64 = row.get(4)?;
    Ok((|| {
        Ok(StepRecord {
            key: key.parse::<StepKey>().map_err(|error| {
                DatabaseProblem::Malformed(format!("step key `{key}`: {error}"))
            })?,
            outcome: from_json::<StepOutcome>(&outcome, "step outcome")?,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            started_at: time_from_sql(started_at),
            finished_at: time_from_sql(finished_at),
        })
    })())
}
