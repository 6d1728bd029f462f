//! Time travel over a recorded run: its journal as a sequence of events
//! (each step's start and end), and the run's picture after any of them.

use std::time::SystemTime;

use serde::Serialize;

use super::graph::Graph;
use super::live::{LiveState, LiveStep};
use super::{PictureError, RunPicture};
use crate::StepKey;
use crate::store::{RunRecord, RunState, StepOutcome, StepRecord};

/// A recorded run's journal as events, first to last, to step through
/// forward and backward: [`Timeline::picture_at`] draws the run as it was
/// after any event, and each event says what its step produced.
///
/// Built from a run's record and journal alone (no workflow type, engine
/// or live state), for a finished, failed or running run.
///
/// # Examples
///
/// ```
/// use trailhead_core::picture::Timeline;
/// use trailhead_core::{Engine, Error, workflow};
///
/// async fn add(n: u32) -> Result<u32, Error> { Ok(n + 1) }
///
/// workflow! {
///     workflow twice(n: u32) -> Result<u32, Error> {
///         let a = step add(n);
///         let b = step add(a).name("again");
///         Ok(b)
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = Engine::new();
/// let handle = engine.start(twice, 1).await?;
/// let run = handle.id().clone();
/// handle.result().await?;
/// let record = engine.run_record(&run).await?.unwrap();
/// let timeline = Timeline::of(&record, &engine.journal(&run).await?)?;
/// // add started, add completed, again started, again completed.
/// assert_eq!(timeline.events().len(), 4);
/// assert_eq!(timeline.events()[1].value.as_deref(), Some("2"));
/// let after_add = timeline.picture_at(1);
/// let again = after_add.nodes.iter().find(|n| n.site.as_deref() == Some("again")).unwrap();
/// assert_eq!(again.state.name(), "not_reached");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Timeline {
    record: RunRecord,
    journal: Vec<StepRecord>,
    graph: Graph,
    mermaid: String,
    events: Vec<TimelineEvent>,
    /// For each journal entry, the index of its start event and its end's.
    spans: Vec<(usize, usize)>,
}

/// One event of a run's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TimelineEvent {
    /// Its position, from 0.
    pub index: usize,
    /// When it happened (in JSON: milliseconds since the Unix epoch).
    #[serde(serialize_with = "millis")]
    pub at: SystemTime,
    /// The step (or compensation) it happened to.
    pub key: String,
    /// What happened.
    pub kind: EventKind,
    /// For an end: the value the step produced, the value it fell back to,
    /// or its error, as text.
    pub value: Option<String>,
}

fn millis<S: serde::Serializer>(at: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    let since = at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    serializer.serialize_u64(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// What a timeline event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// The step's first attempt began.
    Started,
    /// It completed.
    Completed,
    /// It failed for good.
    Failed,
    /// It failed for good and its fallback gave its value.
    FellBack,
}

impl Timeline {
    /// The timeline of the run `record` describes, with journal `journal`.
    ///
    /// # Errors
    ///
    /// As [`from_records`](super::from_records): the run's record must keep
    /// its graph.
    pub fn of(record: &RunRecord, journal: &[StepRecord]) -> Result<Self, PictureError> {
        let (graph, mermaid) = Graph::recorded(&record.id, &record.mermaid)?;
        let mut events: Vec<(SystemTime, u8, usize, TimelineEvent)> = Vec::new();
        for (i, entry) in journal.iter().enumerate() {
            let key = entry.key.to_string();
            let kind = match &entry.outcome {
                StepOutcome::Completed(_) => EventKind::Completed,
                StepOutcome::FellBack(_) => EventKind::FellBack,
                StepOutcome::Failed(_) => EventKind::Failed,
            };
            let value = entry.outcome.text();
            let start = TimelineEvent {
                index: 0,
                at: entry.started_at,
                key: key.clone(),
                kind: EventKind::Started,
                value: None,
            };
            let end = TimelineEvent {
                index: 0,
                at: entry.finished_at,
                key,
                kind,
                value: Some(value),
            };
            // Ends before starts at one instant (a step that ended let the
            // next begin); an entry's start before its own end.
            events.push((entry.started_at, 1, i, start));
            events.push((entry.finished_at.max(entry.started_at), 2, i, end));
        }
        events.sort_by_key(|&(at, end, entry, _)| (at, end, entry));
        let mut spans = vec![(0, 0); journal.len()];
        let events = events
            .into_iter()
            .enumerate()
            .map(|(index, (_, end, entry, event))| {
                if end == 2 {
                    spans[entry].1 = index;
                } else {
                    spans[entry].0 = index;
                }
                TimelineEvent { index, ..event }
            })
            .collect();
        Ok(Self {
            record: record.clone(),
            journal: journal.to_vec(),
            graph,
            mermaid: mermaid.to_owned(),
            events,
            spans,
        })
    }

    /// The events, first to last.
    pub fn events(&self) -> &[TimelineEvent] {
        &self.events
    }

    /// The run's picture after event `index` (the last event's if `index`
    /// is past it): the steps ended by then with their outcome, the steps
    /// begun and not ended running; before its last event the run shows as
    /// running.
    pub fn picture_at(&self, index: usize) -> RunPicture {
        let Some(last) = self.events.len().checked_sub(1) else {
            return RunPicture::build(&self.graph, &self.mermaid, &self.record, &[], None);
        };
        let index = index.min(last);
        let at = self.events[index].at;
        let mut ended = Vec::new();
        let mut live = LiveState::default();
        for (entry, &(start, end)) in self.journal.iter().zip(&self.spans) {
            if end <= index {
                ended.push(entry.clone());
            } else if start <= index {
                let failed_before = entry.retries.iter().filter(|r| r.retried_at <= at).count();
                let step = LiveStep {
                    attempt: u32::try_from(failed_before).unwrap_or(u32::MAX) + 1,
                    retry: None,
                };
                live.running.insert(entry.key.clone(), step);
            }
        }
        if index == last {
            return RunPicture::build(
                &self.graph,
                &self.mermaid,
                &self.record,
                &ended,
                Some(&live),
            );
        }
        let mut record = self.record.clone();
        record.state = RunState::Running;
        RunPicture::build(&self.graph, &self.mermaid, &record, &ended, Some(&live))
    }

    /// Where the run's failure came from: the first event of a step that
    /// failed for good (and did not fall back), if one did.
    pub fn failure(&self) -> Option<&TimelineEvent> {
        self.events
            .iter()
            .find(|event| event.kind == EventKind::Failed && !event.key.starts_with("undo:"))
    }

    /// The key of event `index`'s step.
    pub fn key_at(&self, index: usize) -> Option<StepKey> {
        self.events.get(index)?.key.parse().ok()
    }
}
