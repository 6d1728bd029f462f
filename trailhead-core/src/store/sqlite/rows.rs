//! Records to rows and back.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::Row;
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};

use crate::store::{
    AfterCompensation, Codec, DatabaseProblem, RunOutcome, RunRecord, RunState, RunStatus,
    StepOutcome, StepRecord, Value,
};
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

/// A journaled value as a cell: CBOR as a BLOB, JSON (written by older
/// builds) as TEXT, so each cell says its own codec. A run's input may be JSON
/// and its outcome CBOR, when an older build started it and this one ended it.
#[derive(Debug)]
pub(super) struct Cell<'a>(pub(super) &'a Value);

impl ToSql for Cell<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let bytes = self.0.bytes();
        Ok(ToSqlOutput::Borrowed(match self.0.codec() {
            Codec::Cbor => ValueRef::Blob(bytes),
            Codec::Json => ValueRef::Text(bytes),
        }))
    }
}

/// The codec of a cell that holds a journaled value, and its bytes.
pub(super) fn cell<'a>(
    cell: ValueRef<'a>,
    what: &str,
) -> Result<(Codec, &'a [u8]), DatabaseProblem> {
    match cell {
        ValueRef::Blob(bytes) => Ok((Codec::Cbor, bytes)),
        ValueRef::Text(text) => Ok((Codec::Json, text)),
        other => Err(DatabaseProblem::Malformed(format!(
            "{what} is {}, not a journaled value",
            other.data_type()
        ))),
    }
}

/// The cell of a value by itself: a run's input, a signal's payload.
pub(super) fn value_from_sql(value: ValueRef<'_>, what: &str) -> Result<Value, DatabaseProblem> {
    let (codec, bytes) = cell(value, what)?;
    Ok(Value::copy_from(codec, bytes))
}

/// The variant names that hold a journaled value, in outcomes' cells.
const COMPLETED: &str = "Completed";
const FELL_BACK: &str = "FellBack";

/// A step's outcome as its cell holds it: `{"Completed": value}` (or
/// `FellBack`) around the value's own bytes, in the value's codec; any other
/// outcome encoded whole.
pub(super) fn step_outcome_to_sql(outcome: &StepOutcome) -> Value {
    match outcome {
        StepOutcome::Completed(value) => Value::entry(COMPLETED, value),
        StepOutcome::FellBack(value) => Value::entry(FELL_BACK, value),
        other => Value::encode_unread(other).expect("an outcome without a value encodes"),
    }
}

/// A run's outcome as its cell holds it, as [`step_outcome_to_sql`] does.
pub(super) fn run_outcome_to_sql(outcome: &RunOutcome) -> Value {
    match outcome {
        RunOutcome::Completed(value) => Value::entry(COMPLETED, value),
        other => Value::encode_unread(other).expect("an outcome without a value encodes"),
    }
}

/// A run's state as its three columns hold it: `status`, `outcome` (how it
/// ended, or how a compensating run will end) and `finished_at`.
pub(super) fn state_to_sql(state: &RunState) -> (&'static str, Option<Value>, Option<i64>) {
    let status = status_to_sql(state.status());
    match state {
        RunState::Running => (status, None, None),
        RunState::Compensating(then) => {
            let then = RunOutcome::from(then.clone());
            (status, Some(run_outcome_to_sql(&then)), None)
        }
        RunState::Ended { outcome, at } => (
            status,
            Some(run_outcome_to_sql(outcome)),
            Some(time_to_sql(*at)),
        ),
    }
}

/// A run's state from its columns; a pair no run can be in (a running run
/// with an outcome or an end time, an ended one without an outcome or with
/// another status's outcome, a compensating one headed for an end a rollback
/// does not lead to) is malformed. Rows from older builds read as they
/// meant: a compensating run without an outcome was cancelled, an ended one
/// without a time ended when it was created.
fn state_from_sql(
    status: &str,
    outcome: ValueRef<'_>,
    finished_at: Option<i64>,
    created_at: i64,
) -> Result<RunState, DatabaseProblem> {
    let status = status_from_sql(status)?;
    let outcome = match outcome {
        ValueRef::Null => None,
        outcome => Some(run_outcome_from_sql(outcome)?),
    };
    let impossible = |what: &str| {
        DatabaseProblem::Malformed(format!(
            "a {} run {what}",
            status_to_sql(status).replace('_', " ")
        ))
    };
    match status {
        RunStatus::Running if outcome.is_some() => Err(impossible("has an outcome")),
        RunStatus::Running | RunStatus::Compensating if finished_at.is_some() => {
            Err(impossible("has an end time"))
        }
        RunStatus::Running => Ok(RunState::Running),
        RunStatus::Compensating => match outcome.map(AfterCompensation::try_from) {
            None => Ok(RunState::Compensating(AfterCompensation::Cancelled)),
            Some(Ok(then)) => Ok(RunState::Compensating(then)),
            Some(Err(outcome)) => Err(impossible(&format!(
                "is to end {}",
                status_to_sql(outcome.status()).replace('_', " ")
            ))),
        },
        ended => match outcome {
            None => Err(impossible("has no outcome")),
            Some(outcome) if outcome.status() != ended => Err(impossible(&format!(
                "has a {} outcome",
                status_to_sql(outcome.status()).replace('_', " ")
            ))),
            Some(outcome) => Ok(RunState::ended(
                outcome,
                time_from_sql(finished_at.unwrap_or(created_at)),
            )),
        },
    }
}

fn step_outcome_from_sql(value: ValueRef<'_>) -> Result<StepOutcome, DatabaseProblem> {
    let (codec, bytes) = cell(value, "a step outcome")?;
    match Value::split_entry(codec, bytes) {
        Some((key, value)) if key == COMPLETED => Ok(StepOutcome::Completed(value)),
        Some((key, value)) if key == FELL_BACK => Ok(StepOutcome::FellBack(value)),
        _ => decode_whole(codec, bytes, "step outcome"),
    }
}

fn run_outcome_from_sql(value: ValueRef<'_>) -> Result<RunOutcome, DatabaseProblem> {
    let (codec, bytes) = cell(value, "a run outcome")?;
    match Value::split_entry(codec, bytes) {
        Some((key, value)) if key == COMPLETED => Ok(RunOutcome::Completed(value)),
        _ => decode_whole(codec, bytes, "run outcome"),
    }
}

fn decode_whole<T: serde::de::DeserializeOwned>(
    codec: Codec,
    bytes: &[u8],
    what: &str,
) -> Result<T, DatabaseProblem> {
    Value::copy_from(codec, bytes)
        .decode()
        .map_err(|error| DatabaseProblem::Malformed(format!("{what}: {error}")))
}

pub(super) fn run_from_row(row: &Row<'_>) -> rusqlite::Result<Result<RunRecord, DatabaseProblem>> {
    let id: String = row.get(0)?;
    let workflow: String = row.get(1)?;
    let definition_hash: i64 = row.get(2)?;
    let parent: Option<String> = row.get(3)?;
    let input = row.get_ref(4)?;
    let status: String = row.get(5)?;
    let outcome = row.get_ref(6)?;
    let mermaid: String = row.get(7)?;
    let created_at: i64 = row.get(8)?;
    let finished_at: Option<i64> = row.get(9)?;
    Ok((|| {
        Ok(RunRecord {
            id: RunId::new(id),
            workflow,
            definition_hash: definition_hash.cast_unsigned(),
            parent: parent.map(RunId::new),
            input: value_from_sql(input, "a run's input")?,
            state: state_from_sql(&status, outcome, finished_at, created_at)?,
            mermaid,
            created_at: time_from_sql(created_at),
        })
    })())
}

pub(super) fn step_from_row(
    row: &Row<'_>,
) -> rusqlite::Result<Result<StepRecord, DatabaseProblem>> {
    let key: String = row.get(0)?;
    let outcome = row.get_ref(1)?;
    let attempts: i64 = row.get(2)?;
    let started_at: i64 = row.get(3)?;
    let finished_at: i64 = row.get(4)?;
    Ok((|| {
        Ok(StepRecord {
            key: key.parse::<StepKey>().map_err(|error| {
                DatabaseProblem::Malformed(format!("step key `{key}`: {error}"))
            })?,
            outcome: step_outcome_from_sql(outcome)?,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            started_at: time_from_sql(started_at),
            finished_at: time_from_sql(finished_at),
        })
    })())
}
