//! What each journal entry becomes on the timeline: a step, a call, a sleep,
//! a signal wait or a compensation, with what the journal says of it.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value as Json, json};

use crate::RunId;
use crate::step::{signal, sleep};
use crate::store::{FailureCause, RunRecord, StepOutcome, StepRecord};

/// One journal entry as a slice, before it is given a track.
#[derive(Debug)]
pub(crate) struct Slice {
    pub(crate) name: String,
    pub(crate) cat: &'static str,
    pub(crate) start: SystemTime,
    pub(crate) end: SystemTime,
    pub(crate) args: Map<String, Json>,
    /// The child run a call step ran.
    pub(crate) child: Option<RunId>,
    /// What the slice is made of, drawn nested in it on its track: a
    /// retried step's attempts and the backoff waits between them.
    pub(crate) parts: Vec<Part>,
}

/// A part of a slice: one attempt of a retried step, or a wait between two.
#[derive(Debug)]
pub(crate) struct Part {
    pub(crate) name: String,
    pub(crate) cat: &'static str,
    pub(crate) start: SystemTime,
    pub(crate) end: SystemTime,
    pub(crate) args: Map<String, Json>,
}

/// The slices of `journal`, the journal of run `run`; `children` holds (at
/// least) the ids of its child runs.
///
/// A sleep lasts until its wake-up time, unless the run ended before that
/// (cancelled while asleep): then until the run's last sign of life, its end
/// or its last other entry, whichever is later. (Not the end alone: that is
/// the store's clock, the entries the engine's, and on a paused test clock
/// the two part.)
pub(crate) fn of_journal(
    run: &RunRecord,
    journal: &[StepRecord],
    children: &HashSet<RunId>,
) -> Vec<Slice> {
    let mut slices: Vec<Slice> = journal
        .iter()
        .map(|entry| of_entry(run, entry, children))
        .collect();
    if let Some(ended) = run.finished_at() {
        let last = slices
            .iter()
            .filter(|slice| slice.cat != "sleep")
            .map(|slice| slice.end)
            .fold(ended, SystemTime::max);
        for slice in slices.iter_mut().filter(|slice| slice.cat == "sleep") {
            slice.end = slice.end.min(last).max(slice.start);
        }
    }
    slices
}

/// The slice of `entry`, of run `run` whose child runs are `children`.
fn of_entry(run: &RunRecord, entry: &StepRecord, children: &HashSet<RunId>) -> Slice {
    let key = &entry.key;
    let mut args = Map::new();
    args.insert("key".into(), json!(key.to_string()));
    args.insert("attempts".into(), json!(entry.attempts));
    if entry.attempts > 1 && entry.retries.is_empty() {
        // Written before retries were journaled: its first start and last
        // end alone are known.
        args.insert(
            "attempt_times".into(),
            json!(
                "not journaled: the slice spans every attempt and the backoff waits between them"
            ),
        );
    }
    outcome_args(&entry.outcome, &mut args);
    let parts = attempts(entry);
    let start = entry.started_at;
    let mut end = entry.finished_at.max(start);
    let mut child = None;
    let cat = if let Some(undone) = key.undone() {
        args.insert("undoes".into(), json!(undone.to_string()));
        "compensation"
    } else if let Some(called) = Some(run.id.child(key)).filter(|id| children.contains(id)) {
        args.insert("child_run".into(), json!(called.as_str()));
        child = Some(called);
        "call"
    } else if let Some(wake_at) = entry
        .outcome
        .value()
        .and_then(|value| sleep::journaled_wake_at(key.name(), value))
    {
        args.insert("wake_at_unix_us".into(), json!(unix_us(wake_at)));
        // Journaled when it began; it lasts until it woke (or the run
        // ended: see `of_journal`).
        end = wake_at.max(start);
        "sleep"
    } else if let Some(received) = entry
        .outcome
        .value()
        .and_then(|value| signal::journaled_signal(&run.mermaid, key.name(), value))
    {
        args.insert(
            "signal".into(),
            json!(if received { "received" } else { "timed out" }),
        );
        "signal"
    } else {
        "step"
    };
    Slice {
        name: key.to_string(),
        cat,
        start,
        end,
        args,
        child,
        parts,
    }
}

/// A retried step's attempts, each followed by its backoff wait, and its
/// last attempt: none for a step journaled without retries.
fn attempts(entry: &StepRecord) -> Vec<Part> {
    let Some(last) = entry.retries.last() else {
        return Vec::new();
    };
    let mut parts = Vec::with_capacity(entry.retries.len() * 2 + 1);
    for (i, retry) in entry.retries.iter().enumerate() {
        let attempt = i + 1;
        let mut args = Map::new();
        args.insert("attempt".into(), json!(attempt));
        args.insert("outcome".into(), json!("failed"));
        args.insert("error".into(), json!(retry.error));
        parts.push(Part {
            name: format!("attempt {attempt}"),
            cat: "attempt",
            start: retry.started_at,
            end: retry.failed_at.max(retry.started_at),
            args,
        });
        let mut args = Map::new();
        args.insert("after_attempt".into(), json!(attempt));
        parts.push(Part {
            name: "backoff".to_owned(),
            cat: "backoff",
            start: retry.failed_at,
            end: retry.retried_at.max(retry.failed_at),
            args,
        });
    }
    let mut args = Map::new();
    args.insert("attempt".into(), json!(entry.attempts));
    outcome_args(&entry.outcome, &mut args);
    parts.push(Part {
        name: format!("attempt {}", entry.attempts),
        cat: "attempt",
        start: last.retried_at,
        end: entry.finished_at.max(last.retried_at),
        args,
    });
    parts
}

fn outcome_args(outcome: &StepOutcome, args: &mut Map<String, Json>) {
    match outcome {
        StepOutcome::Completed(_) => {
            args.insert("outcome".into(), json!("completed"));
        }
        StepOutcome::FellBack(_) => {
            args.insert("outcome".into(), json!("fell back"));
        }
        StepOutcome::Failed(failed) => {
            args.insert("outcome".into(), json!("failed"));
            args.insert("error".into(), json!(failed.message));
            let cause = match &failed.cause {
                FailureCause::Error(_) => "error",
                FailureCause::TimedOut(_) => "timed out",
                FailureCause::Panicked(_) => "panicked",
                _ => "other",
            };
            args.insert("cause".into(), json!(cause));
        }
    }
}

/// Microseconds since the Unix epoch at `at` (0 before it).
pub(super) fn unix_us(at: SystemTime) -> u64 {
    let micros = at
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros();
    u64::try_from(micros).unwrap_or(u64::MAX)
}
