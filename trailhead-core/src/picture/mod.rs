//! A run's picture: its workflow's graph with each node's state.
//!
//! `workflow!` knows each workflow's graph at compile time: the nodes of
//! its Mermaid flowchart ([`Workflow::MERMAID`](crate::Workflow::MERMAID)),
//! each with the step key name it stands for, the function (or workflow)
//! it runs, the loop or fan-out around it and the branch arm it is under
//! ([`Graph`]); [`replay`](crate::replay) compares a run's recorded graph
//! with the code's. A [`RunPicture`] lays a run's
//! journal (and, for a run this engine drives, its live attempts) on that
//! graph: every node is not reached, running (attempt k), retrying,
//! completed (with its duration), replayed, failed (with the error), fell
//! back, compensated, or skipped (under an arm the run did not take); loops
//! and fan-outs count their iterations ("×40: 32 done, 8 running, 0
//! failed"); calls name their child runs.
//!
//! Three ways to one:
//! - [`Engine::picture`](crate::Engine::picture) and
//!   [`Engine::diagram`](crate::Engine::diagram), with the workflow's type;
//! - [`Engine::picture_of`](crate::Engine::picture_of) and
//!   [`Engine::diagram_of`](crate::Engine::diagram_of), by run id alone;
//! - [`from_records`], from a run's record and journal alone: what a tool
//!   that opens a store without the workflows' types uses. Every run's
//!   record keeps its graph after its flowchart, in a Mermaid comment line
//!   (`%% trailhead-graph {json}`), so the stored flowchart still renders
//!   as it is and no store schema changed.
//!
//! The picture serializes to JSON ([`serde::Serialize`]) and draws itself
//! as Mermaid with status classes ([`RunPicture::to_mermaid`]); a tool that
//! draws it itself takes the nodes, their [`NodePicture::status_text`] and
//! the arrows ([`RunPicture::edges`]).

mod build;
mod diagram;
mod edges;
mod error;
mod graph;
mod live;
mod state;
mod timeline;

pub use edges::Edge;
pub(crate) use edges::arrows;
pub use error::PictureError;
pub use graph::{ArmRef, Graph, GraphNode, NodeKind};
pub use live::{LiveRetry, LiveState, LiveStep};
pub use state::{Counts, NodePicture, NodeState, RunPicture, StepPicture};
pub use timeline::{EventKind, Timeline, TimelineEvent};

pub(crate) use graph::recorded_mermaid;
pub(crate) use live::{LiveSteps, NO_SLOT};

use crate::store::{RunRecord, StepRecord};

/// The picture of the run `record` describes, with journal `journal`, from
/// the graph its record keeps: no workflow type, engine or live state
/// needed (running attempts then do not show, replayed steps show as
/// completed).
///
/// # Errors
///
/// [`PictureError::NoGraph`] for a run recorded without a graph (by an
/// older build, or of a hand-written workflow), [`PictureError::BadGraph`]
/// if the recorded graph does not parse.
///
/// # Examples
///
/// ```
/// use trailhead_core::picture;
/// use trailhead_core::store::{RunRecord, Value};
/// use trailhead_core::RunId;
///
/// let record = RunRecord::new(RunId::new("old"), "order", Value::encode(&1_u32).unwrap());
/// let error = picture::from_records(&record, &[]).unwrap_err();
/// assert!(matches!(error, picture::PictureError::NoGraph { .. }));
/// ```
pub fn from_records(
    record: &RunRecord,
    journal: &[StepRecord],
) -> Result<RunPicture, PictureError> {
    let (graph, mermaid) = Graph::recorded(&record.id, &record.mermaid)?;
    Ok(RunPicture::build(&graph, mermaid, record, journal, None))
}
