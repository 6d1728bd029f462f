//! The Chrome trace-event format's JSON object form, as far as a run's
//! timeline needs it: complete slices (`X`), names for processes and threads
//! (`M`), and flow arrows (`s` → `f`) from a call step to its child run.
//!
//! The format is Google's "Trace Event Format" document; Perfetto
//! (<https://ui.perfetto.dev>) and `chrome://tracing` both read it.

use serde::{Deserialize, Serialize};

/// A run's timeline in the Chrome trace-event / Perfetto JSON format: what
/// [`of_run`](super::of_run) gives.
///
/// Serializes as the format's JSON object form
/// (`{"traceEvents": […], "displayTimeUnit": "ms", "otherData": {…}}`);
/// [`to_json`](Trace::to_json) gives that text, to save as a `.json` file and
/// open in <https://ui.perfetto.dev> or `chrome://tracing`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Trace {
    /// The events, metadata first, then each run's slices.
    #[serde(rename = "traceEvents")]
    pub events: Vec<TraceEvent>,
    /// How viewers show times: `"ms"`.
    #[serde(rename = "displayTimeUnit")]
    pub display_time_unit: String,
    /// What the trace is of: the run's id and the wall-clock time its
    /// timestamps count from (`started_at_unix_us`).
    #[serde(rename = "otherData")]
    pub other_data: serde_json::Map<String, serde_json::Value>,
}

impl Trace {
    /// The trace as JSON text, ready to be opened by Perfetto.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a trace of strings and numbers serializes")
    }

    /// The complete slices (`"ph": "X"`): runs, steps, sleeps, signal waits,
    /// compensations and calls.
    pub fn slices(&self) -> impl Iterator<Item = &TraceEvent> {
        self.events
            .iter()
            .filter(|event| event.ph == Phase::Complete)
    }
}

/// One event of a [`Trace`].
///
/// Times are whole microseconds since the traced run started
/// ([`Trace::other_data`] says when that was).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TraceEvent {
    /// The slice's name: a step key (`charge[2]`, `undo:charge[2]`), or
    /// `run <id>` for a run; for metadata, what it names (`process_name`).
    pub name: String,
    /// The slice's kind: `run`, `step`, `call`, `sleep`, `signal`,
    /// `compensation` (empty for metadata).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cat: String,
    /// The event's phase.
    pub ph: Phase,
    /// When it begins, in microseconds since the traced run started.
    pub ts: u64,
    /// How long the slice lasts, in microseconds (complete slices only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dur: Option<u64>,
    /// The process: one per run (the traced run is 1, its child runs follow).
    pub pid: u32,
    /// The track within the run's process: 0 holds the run's own slice,
    /// 1 and up its steps, as many as ran at once.
    pub tid: u32,
    /// The flow a flow event belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// A flow end's binding point: `"e"`, the enclosing slice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bp: Option<String>,
    /// What the journal says of it: attempts, outcome, error, child run, …
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub args: serde_json::Map<String, serde_json::Value>,
}

impl TraceEvent {
    /// When the slice ends, in microseconds since the traced run started
    /// (its start, for an event that is not a slice).
    pub fn end(&self) -> u64 {
        self.ts + self.dur.unwrap_or(0)
    }
}

/// What kind of event a [`TraceEvent`] is (the format's `ph`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Phase {
    /// A slice with a start and a duration (`"X"`).
    #[serde(rename = "X")]
    Complete,
    /// A name for a process or a track (`"M"`).
    #[serde(rename = "M")]
    Metadata,
    /// Where a flow arrow starts (`"s"`): in a call step's slice.
    #[serde(rename = "s")]
    FlowStart,
    /// Where a flow arrow ends (`"f"`): in the child run's slice.
    #[serde(rename = "f")]
    FlowEnd,
}
