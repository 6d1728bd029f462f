//! The JSON the `--json` flags print. Field names are stable: tools read
//! them. Times are RFC 3339 strings, durations whole milliseconds, values
//! (outputs) the JSON form of what the journal holds.

use serde_json::{Value, json};
use trailhead_core::picture::TimelineEvent;
use trailhead_core::store::{RunRecord, StepRecord};

use crate::format;

/// A run's record: `id`, `workflow`, `status`, `parent`, `created_at`,
/// `finished_at`, `duration_ms`, `output`, `error`, `cause`,
/// `definition_hash`.
pub(crate) fn run(run: &RunRecord) -> Value {
    json!({
        "id": run.id.as_str(),
        "workflow": run.workflow,
        "status": run.status().name(),
        "parent": run.parent.as_ref().map(|parent| parent.as_str()),
        "created_at": format::time(run.created_at),
        "finished_at": run.finished_at().map(format::time),
        "duration_ms": millis(format::run_duration(run)),
        "output": format::run_output(run),
        "error": format::run_error(run),
        "cause": format::run_cause(run),
        "definition_hash": format!("{:016x}", run.definition_hash),
    })
}

/// A schedule: `name`, `workflow`, `spec`, `next_tick`, `last_tick`,
/// `paused`, `runs_started`, `runs_skipped`.
pub(crate) fn schedule(schedule: &trailhead_core::ScheduleInfo) -> Value {
    json!({
        "name": schedule.name,
        "workflow": schedule.workflow,
        "spec": schedule.spec,
        "next_tick": schedule.next_tick.map(format::time),
        "last_tick": schedule.last_tick.map(format::time),
        "paused": schedule.paused,
        "runs_started": schedule.runs_started,
        "runs_skipped": schedule.runs_skipped,
    })
}

/// A journal entry: `key`, `outcome`, `attempts`, `started_at`,
/// `finished_at`, `duration_ms`, `output`, `error`, and `retries` (each
/// failed attempt that was retried: `started_at`, `failed_at`,
/// `retried_at`, `error`).
pub(crate) fn step(step: &StepRecord) -> Value {
    json!({
        "key": step.key.to_string(),
        "outcome": format::step_outcome(&step.outcome),
        "attempts": step.attempts,
        "started_at": format::time(step.started_at),
        "finished_at": format::time(step.finished_at),
        "duration_ms": millis(format::between(step.started_at, step.finished_at)),
        "output": step.outcome.value().map(trailhead_core::store::Value::to_json),
        "error": step.outcome.failure(),
        "retries": step.retries.iter().map(|retry| json!({
            "started_at": format::time(retry.started_at),
            "failed_at": format::time(retry.failed_at),
            "retried_at": format::time(retry.retried_at),
            "error": retry.error,
        })).collect::<Vec<_>>(),
    })
}

/// A timeline event: `index`, `at`, `key`, `kind` (`started`, `completed`,
/// `failed`, `fell_back`), `value` (an end's value or error, as text; null
/// for a start).
pub(crate) fn event(event: &TimelineEvent) -> Value {
    json!({
        "index": event.index,
        "at": format::time(event.at),
        "key": event.key,
        "kind": format::event_kind(event.kind),
        "value": event.value,
    })
}

fn millis(span: std::time::Duration) -> u64 {
    u64::try_from(span.as_millis()).unwrap_or(u64::MAX)
}
