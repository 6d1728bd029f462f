//! Rows to records. Each journaled value is a `bytea` beside the name of its
//! codec; everything else about a record's columns is shared with the SQLite
//! store (`store::columns`).

use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::store::columns::{
    retries_from_sql, state_from_sql, step_outcome_from_sql, time_from_sql,
};
use crate::store::{Codec, DatabaseProblem, RunRecord, StepRecord, Value};
use crate::{RunId, StepKey};

/// Why a row does not read as a record: a column that does not decode as its
/// type (the schema changed under the store), or values no record has.
#[derive(Debug)]
pub(super) enum RowError {
    Column(sqlx::Error),
    Malformed(DatabaseProblem),
}

impl From<sqlx::Error> for RowError {
    fn from(error: sqlx::Error) -> Self {
        Self::Column(error)
    }
}

impl From<DatabaseProblem> for RowError {
    fn from(problem: DatabaseProblem) -> Self {
        Self::Malformed(problem)
    }
}

/// The codec named in a row.
pub(super) fn codec(name: &str, what: &str) -> Result<Codec, DatabaseProblem> {
    Codec::from_name(name)
        .ok_or_else(|| DatabaseProblem::Malformed(format!("{what} has unknown codec `{name}`")))
}

/// A value from its bytes and its codec's name.
pub(super) fn value(bytes: &[u8], codec_name: &str, what: &str) -> Result<Value, DatabaseProblem> {
    Ok(Value::copy_from(codec(codec_name, what)?, bytes))
}

/// A run's record from the [`RUN_COLUMNS`](super::sql::RUN_COLUMNS).
pub(super) fn run_from_row(row: &PgRow) -> Result<RunRecord, RowError> {
    let id: String = row.try_get(0)?;
    let workflow: String = row.try_get(1)?;
    let definition_hash: i64 = row.try_get(2)?;
    let parent: Option<String> = row.try_get(3)?;
    let input: &[u8] = row.try_get(4)?;
    let input_codec: &str = row.try_get(5)?;
    let status: &str = row.try_get(6)?;
    let outcome: Option<&[u8]> = row.try_get(7)?;
    let outcome_codec: Option<&str> = row.try_get(8)?;
    let mermaid: String = row.try_get(9)?;
    let created_at: i64 = row.try_get(10)?;
    let finished_at: Option<i64> = row.try_get(11)?;
    let cancel_requested: bool = row.try_get(12)?;
    let outcome = match (outcome, outcome_codec) {
        (None, _) => None,
        (Some(bytes), Some(name)) => Some((codec(name, "a run outcome")?, bytes)),
        (Some(_), None) => {
            return Err(DatabaseProblem::Malformed("a run outcome has no codec".into()).into());
        }
    };
    Ok(RunRecord {
        id: RunId::new(id),
        workflow,
        definition_hash: definition_hash.cast_unsigned(),
        parent: parent.map(RunId::new),
        input: value(input, input_codec, "a run's input")?,
        state: state_from_sql(status, outcome, finished_at, created_at)?,
        mermaid,
        created_at: time_from_sql(created_at),
        cancel_requested,
    })
}

/// A journal entry from the [`STEP_COLUMNS`](super::sql::STEP_COLUMNS).
pub(super) fn step_from_row(row: &PgRow) -> Result<StepRecord, RowError> {
    let key: &str = row.try_get(0)?;
    let outcome: &[u8] = row.try_get(1)?;
    let codec_name: &str = row.try_get(2)?;
    let attempts: i64 = row.try_get(3)?;
    let started_at: i64 = row.try_get(4)?;
    let finished_at: i64 = row.try_get(5)?;
    let retries: Option<&str> = row.try_get(6)?;
    Ok(StepRecord {
        key: key
            .parse::<StepKey>()
            .map_err(|error| DatabaseProblem::Malformed(format!("step key `{key}`: {error}")))?,
        outcome: step_outcome_from_sql(codec(codec_name, "a step outcome")?, outcome)?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        started_at: time_from_sql(started_at),
        finished_at: time_from_sql(finished_at),
        retries: retries_from_sql(retries)?,
    })
}
