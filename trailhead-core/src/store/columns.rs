//! Records as the columns of a database row and back, for every SQL store:
//! times as nanoseconds since the Unix epoch, statuses as their names,
//! outcomes as the journaled values around their own bytes, a step's
//! retries as JSON, and the rules for a status and an outcome that no run
//! can be in.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::store::{
    AfterCompensation, Codec, DatabaseProblem, Retry, RunOutcome, RunState, RunStatus, StepOutcome,
    Value,
};

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
    status.name()
}

pub(super) fn status_from_sql(text: &str) -> Result<RunStatus, DatabaseProblem> {
    RunStatus::from_name(text)
        .ok_or_else(|| DatabaseProblem::Malformed(format!("unknown run status `{text}`")))
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
pub(super) fn state_from_sql(
    status: &str,
    outcome: Option<(Codec, &[u8])>,
    finished_at: Option<i64>,
    created_at: i64,
) -> Result<RunState, DatabaseProblem> {
    let status = status_from_sql(status)?;
    let outcome = outcome
        .map(|(codec, bytes)| run_outcome_from_sql(codec, bytes))
        .transpose()?;
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

/// A step's outcome from its cell's codec and bytes.
pub(super) fn step_outcome_from_sql(
    codec: Codec,
    bytes: &[u8],
) -> Result<StepOutcome, DatabaseProblem> {
    match Value::split_entry(codec, bytes) {
        Some((key, value)) if key == COMPLETED => Ok(StepOutcome::Completed(value)),
        Some((key, value)) if key == FELL_BACK => Ok(StepOutcome::FellBack(value)),
        _ => decode_whole(codec, bytes, "step outcome"),
    }
}

fn run_outcome_from_sql(codec: Codec, bytes: &[u8]) -> Result<RunOutcome, DatabaseProblem> {
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

/// One retried attempt as its `retries` column holds it.
#[derive(serde::Serialize, serde::Deserialize)]
struct RetryCell<'a> {
    started_at: i64,
    failed_at: i64,
    retried_at: i64,
    #[serde(borrow)]
    error: std::borrow::Cow<'a, str>,
}

/// A step's retried attempts as its `retries` column: a JSON array, or
/// NULL for none (the column of every step that passed at its first try).
pub(super) fn retries_to_sql(retries: &[Retry]) -> Option<String> {
    if retries.is_empty() {
        return None;
    }
    let cells: Vec<RetryCell<'_>> = retries
        .iter()
        .map(|retry| RetryCell {
            started_at: time_to_sql(retry.started_at),
            failed_at: time_to_sql(retry.failed_at),
            retried_at: time_to_sql(retry.retried_at),
            error: std::borrow::Cow::Borrowed(&retry.error),
        })
        .collect();
    // Integers and strings only: serializing cannot fail.
    serde_json::to_string(&cells).ok()
}

/// A step's retried attempts from its `retries` column.
pub(super) fn retries_from_sql(cell: Option<&str>) -> Result<Vec<Retry>, DatabaseProblem> {
    let Some(text) = cell else {
        return Ok(Vec::new());
    };
    let cells: Vec<RetryCell<'_>> = serde_json::from_str(text)
        .map_err(|error| DatabaseProblem::Malformed(format!("a step's retries: {error}")))?;
    Ok(cells
        .into_iter()
        .map(|cell| Retry {
            started_at: time_from_sql(cell.started_at),
            failed_at: time_from_sql(cell.failed_at),
            retried_at: time_from_sql(cell.retried_at),
            error: cell.error.into_owned(),
        })
        .collect())
}
