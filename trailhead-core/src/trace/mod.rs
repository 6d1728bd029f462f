//! A run's timeline as a trace: open it in Perfetto or `chrome://tracing`.
//!
//! [`of_run`] reads a run's record and journal, and those of its child runs,
//! from any [`Store`] (no workflow type needed, so a tool that opened a store
//! file can call it) and gives a [`Trace`] in the Chrome trace-event JSON
//! format. Save [`Trace::to_json`] as a `.json` file and open it in
//! <https://ui.perfetto.dev> (it runs in your browser; the file is not
//! uploaded) or `chrome://tracing`.
//!
//! # What is drawn
//!
//! - Each run is a process, named after its workflow and id; track 0 holds
//!   one slice for the whole run (from when it was created to when it ended,
//!   or now if it has not).
//! - Each journal entry is a slice on the tracks below: steps (`cat: step`),
//!   calls (`call`), durable sleeps (`sleep`, until the wake-up time),
//!   signal waits (`signal`) and compensations (`compensation`, keys
//!   `undo:…`). Steps that ran at once get tracks of their own, so no two
//!   slices of one track overlap.
//! - A call's child run is the next process, its run slice within the call
//!   step's, with a flow arrow from the call step to it; its children follow
//!   in turn.
//! - A retried step's (or compensation's) slice holds, nested on its
//!   track, each attempt (`cat: attempt`, with its error) and the backoff
//!   wait after each failed one (`cat: backoff`), from the retries its entry
//!   journals
//!   ([`StepRecord::retries`](crate::store::StepRecord::retries)).
//! - Args carry what the journal says: attempts, outcome, the error and its
//!   cause, the child run, the wake-up time.
//!
//! # What is not
//!
//! Steps still running are not journaled yet, so a live run's trace shows
//! the steps that finished (a run's live picture shows the rest:
//! [`picture`](crate::picture)). Entries written before retries were
//! journaled (SQLite schema 11, PostgreSQL migration 5) are one slice
//! spanning their attempts and the waits between them, with `attempts` in
//! their args. (For every attempt as it happens, record the engine's
//! `step` spans with a `tracing` layer such as `tracing-chrome`.)
//!
//! Step times are read from the engine's clock and run times from the
//! store's; where the two disagree slightly, a child run's slice is drawn
//! within its call step's, and a run's steps within the run's.
//!
//! # Examples
//!
//! ```
//! # extern crate trailhead_core as trailhead;
//! use trailhead::{Engine, Error, workflow};
//!
//! async fn price(item: u32) -> Result<u32, Error> {
//!     Ok(item * 10)
//! }
//!
//! workflow! {
//!     workflow quote(items: Vec<u32>) -> Result<u32, Error> {
//!         let prices = parallel for item in &items {
//!             step price(*item)
//!         };
//!         Ok(prices.into_iter().sum())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::new();
//! let handle = engine.start(quote, vec![1, 2, 3]).await?;
//! let run = handle.id().clone();
//! handle.result().await?;
//!
//! // Or `trailhead::trace::of_run(&store, &run)` on a store opened without an engine.
//! let trace = engine.trace(&run).await?;
//! assert_eq!(trace.slices().filter(|slice| slice.cat == "step").count(), 3);
//! std::fs::write(std::env::temp_dir().join("quote.json"), trace.to_json())?;
//! # Ok(())
//! # }
//! ```

mod format;
pub(crate) mod slices;
mod tracks;

use std::collections::{HashSet, VecDeque};
use std::time::SystemTime;

use serde_json::{Map, json};

use crate::store::{RunRecord, Store};
use crate::{Engine, EngineError, RunId, StoreError};
pub use format::{Phase, Trace, TraceEvent};
use slices::{Slice, unix_us};

/// The timeline of run `run` and its child runs, as recorded in `store`.
///
/// # Errors
///
/// [`StoreError::UnknownRun`] if there is no such run, and the store's
/// error if it fails.
///
/// # Cancel safety
///
/// Cancel safe: it only reads.
pub async fn of_run(store: &dyn Store, run: &RunId) -> Result<Trace, StoreError> {
    let root = store
        .run(run)
        .await?
        .ok_or_else(|| StoreError::UnknownRun { run: run.clone() })?;
    let mut writer = Writer::default();
    // Runs to draw, each with the call step's interval it lies within and
    // where that step's slice is (for the flow arrow).
    let mut pending = VecDeque::from([(root, None)]);
    let mut origin = None;
    while let Some((record, within)) = pending.pop_front() {
        let journal = store.journal(&record.id).await?;
        let children = store.children(&record.id).await?;
        let child_ids: HashSet<RunId> = children.iter().map(|child| child.id.clone()).collect();
        let slices = slices::of_journal(&record, &journal, &child_ids);
        let (mut start, mut end) = run_interval(&record, &slices);
        if let Some(Within {
            start: outer,
            end: outer_end,
            ..
        }) = within
        {
            (start, end) = (start.clamp(outer, outer_end), end.clamp(outer, outer_end));
        }
        let origin = *origin.get_or_insert(start);
        let calls = writer.run(&record, origin, (start, end), slices, within);
        for (child, call) in calls {
            if let Some(child) = children.iter().find(|record| record.id == child) {
                pending.push_back((child.clone(), Some(call)));
            }
        }
        // Children whose call step is not journaled yet (the parent waits
        // for them): drawn without an interval to lie within.
        for child in children {
            let drawn = pending.iter().any(|(queued, _)| queued.id == child.id)
                || writer.drawn.contains(&child.id);
            if !drawn {
                pending.push_back((child, None));
            }
        }
    }
    let origin = origin.unwrap_or(SystemTime::UNIX_EPOCH);
    let mut other_data = Map::new();
    other_data.insert("run".into(), json!(run.as_str()));
    other_data.insert("started_at_unix_us".into(), json!(unix_us(origin)));
    Ok(Trace {
        events: writer.events,
        display_time_unit: "ms".to_owned(),
        other_data,
    })
}

impl Engine {
    /// The timeline of run `run` and its child runs: [`trace::of_run`](of_run)
    /// on this engine's store.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] with [`StoreError::UnknownRun`] if there is no
    /// such run, and if the store fails.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn trace(&self, run: &RunId) -> Result<Trace, EngineError> {
        Ok(of_run(&**self.store(), run).await?)
    }
}

/// When a run began and ended on the timeline: from its creation (or its
/// first entry, if the clocks disagree) to its end (or now, if it has not
/// ended), and never short of an entry's end.
fn run_interval(record: &RunRecord, slices: &[Slice]) -> (SystemTime, SystemTime) {
    let start = slices
        .iter()
        .map(|slice| slice.start)
        .fold(record.created_at, SystemTime::min);
    let ended = record.finished_at().unwrap_or_else(SystemTime::now);
    let end = slices
        .iter()
        .map(|slice| slice.end)
        .fold(ended, SystemTime::max);
    (start, end.max(start))
}

/// A call step's slice: the interval its child run lies within and where
/// the flow arrow to the child starts.
#[derive(Clone, Copy, Debug)]
struct Within {
    start: SystemTime,
    end: SystemTime,
    pid: u32,
    tid: u32,
    ts: u64,
}

/// The events written so far.
#[derive(Debug, Default)]
struct Writer {
    events: Vec<TraceEvent>,
    drawn: HashSet<RunId>,
    /// The last process given to a run.
    pid: u32,
    /// The last flow arrow's id.
    flow: u64,
}

impl Writer {
    /// Writes run `record`'s process, its slice over `interval` and its
    /// entries' `slices`; returns the child runs its call steps ran, each
    /// with its call step's slice.
    fn run(
        &mut self,
        record: &RunRecord,
        origin: SystemTime,
        (start, end): (SystemTime, SystemTime),
        slices: Vec<Slice>,
        within: Option<Within>,
    ) -> Vec<(RunId, Within)> {
        self.drawn.insert(record.id.clone());
        self.pid += 1;
        let pid = self.pid;
        let at = |time: SystemTime| micros_since(origin, time);
        let label = format!("{} {}", record.workflow, record.id);
        self.metadata(pid, 0, "process_name", &label);
        self.metadata_value(pid, 0, "process_sort_index", json!(pid));
        self.metadata(pid, 0, "thread_name", "run");
        let mut args = Map::new();
        args.insert("run".into(), json!(record.id.as_str()));
        args.insert("workflow".into(), json!(record.workflow));
        args.insert(
            "definition_hash".into(),
            json!(format!("{:#018x}", record.definition_hash)),
        );
        args.insert("status".into(), json!(format!("{:?}", record.status())));
        if let Some(parent) = &record.parent {
            args.insert("parent".into(), json!(parent.as_str()));
        }
        let (ts, run_end) = (at(start), at(end));
        self.events.push(slice_event(
            format!("run {}", record.id),
            "run",
            (ts, run_end),
            (pid, 0),
            args,
        ));
        if let Some(call) = within {
            self.flow += 1;
            self.events.push(flow(
                Phase::FlowStart,
                self.flow,
                call.ts,
                call.pid,
                call.tid,
            ));
            self.events
                .push(flow(Phase::FlowEnd, self.flow, ts, pid, 0));
        }
        // Each entry within the run's slice, then on a track of its own.
        let spans: Vec<(u64, u64)> = slices
            .iter()
            .map(|slice| {
                let (a, b) = (at(slice.start), at(slice.end));
                (
                    a.clamp(ts, run_end),
                    b.clamp(ts, run_end).max(a.clamp(ts, run_end)),
                )
            })
            .collect();
        let tracks = tracks::assign(&spans);
        let used = tracks.iter().copied().max().map_or(0, |last| last + 1);
        for track in 1..=used {
            self.metadata(pid, track, "thread_name", &format!("steps {track}"));
        }
        let mut calls = Vec::new();
        for ((slice, span), track) in slices.into_iter().zip(spans).zip(tracks) {
            let tid = track + 1;
            if let Some(child) = slice.child {
                let within = Within {
                    start: slice.start.max(start).min(end),
                    end: slice.end.max(start).min(end),
                    pid,
                    tid,
                    ts: span.0,
                };
                calls.push((child, within));
            }
            self.events.push(slice_event(
                slice.name,
                slice.cat,
                span,
                (pid, tid),
                slice.args,
            ));
            // Nested in the slice: each within it, on its track.
            for part in slice.parts {
                let (a, b) = (at(part.start), at(part.end));
                let a = a.clamp(span.0, span.1);
                self.events.push(slice_event(
                    part.name,
                    part.cat,
                    (a, b.clamp(a, span.1)),
                    (pid, tid),
                    part.args,
                ));
            }
        }
        calls
    }

    fn metadata(&mut self, pid: u32, tid: u32, name: &str, value: &str) {
        self.metadata_value(pid, tid, name, json!(value));
    }

    fn metadata_value(&mut self, pid: u32, tid: u32, name: &str, value: serde_json::Value) {
        let key = if name.ends_with("sort_index") {
            "sort_index"
        } else {
            "name"
        };
        let mut args = Map::new();
        args.insert(key.into(), value);
        self.events.push(TraceEvent {
            name: name.to_owned(),
            cat: String::new(),
            ph: Phase::Metadata,
            ts: 0,
            dur: None,
            pid,
            tid,
            id: None,
            bp: None,
            args,
        });
    }
}

fn slice_event(
    name: String,
    cat: &str,
    (start, end): (u64, u64),
    (pid, tid): (u32, u32),
    args: Map<String, serde_json::Value>,
) -> TraceEvent {
    TraceEvent {
        name,
        cat: cat.to_owned(),
        ph: Phase::Complete,
        ts: start,
        dur: Some(end.saturating_sub(start)),
        pid,
        tid,
        id: None,
        bp: None,
        args,
    }
}

fn flow(ph: Phase, id: u64, ts: u64, pid: u32, tid: u32) -> TraceEvent {
    TraceEvent {
        name: "call".to_owned(),
        cat: "call".to_owned(),
        ph,
        ts,
        dur: None,
        pid,
        tid,
        id: Some(id),
        bp: (ph == Phase::FlowEnd).then(|| "e".to_owned()),
        args: Map::new(),
    }
}

/// Whole microseconds from `origin` to `time` (0 if before it).
fn micros_since(origin: SystemTime, time: SystemTime) -> u64 {
    let micros = time.duration_since(origin).unwrap_or_default().as_micros();
    u64::try_from(micros).unwrap_or(u64::MAX)
}
