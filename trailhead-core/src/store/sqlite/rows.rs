//! Records to rows and back.

use rusqlite::Row;
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};

use crate::store::columns::{retries_from_sql, state_from_sql, step_outcome_from_sql};
pub(super) use crate::store::columns::{
    retries_to_sql, run_outcome_to_sql, state_to_sql, status_to_sql, step_outcome_to_sql,
    time_from_sql, time_to_sql,
};
use crate::store::{Codec, DatabaseProblem, RunRecord, StepRecord, Value};
use crate::{RunId, StepKey};

/// The columns [`run_from_row`] reads, in order.
pub(super) const RUN_COLUMNS: &str = "id, workflow, definition_hash, parent, input, status, outcome, mermaid, created_at, finished_at, cancel_requested_at IS NOT NULL";

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
    let cancel_requested: bool = row.get(10)?;
    Ok((|| {
        Ok(RunRecord {
            id: RunId::new(id),
            workflow,
            definition_hash: definition_hash.cast_unsigned(),
            parent: parent.map(RunId::new),
            input: value_from_sql(input, "a run's input")?,
            state: state_from_sql(
                &status,
                match outcome {
                    ValueRef::Null => None,
                    outcome => Some(cell(outcome, "a run outcome")?),
                },
                finished_at,
                created_at,
            )?,
            mermaid,
            created_at: time_from_sql(created_at),
            cancel_requested,
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
    let retries: Option<String> = row.get(5)?;
    Ok((|| {
        Ok(StepRecord {
            key: key.parse::<StepKey>().map_err(|error| {
                DatabaseProblem::Malformed(format!("step key `{key}`: {error}"))
            })?,
            outcome: {
                let (codec, bytes) = cell(outcome, "a step outcome")?;
                step_outcome_from_sql(codec, bytes)?
            },
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            started_at: time_from_sql(started_at),
            finished_at: time_from_sql(finished_at),
            retries: retries_from_sql(retries.as_deref())?,
        })
    })())
}
