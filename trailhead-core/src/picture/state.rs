//! What a run's picture says: each node's state, its counts, its child runs.

use std::time::Duration;

use serde::Serialize;

use super::graph::{Graph, NodeKind};
use crate::RunId;
use crate::store::RunStatus;

/// A run drawn on its workflow's graph: every node of the flowchart with its
/// state from the journal and, for a run driven by this engine, from the
/// live engine.
///
/// Serializes to JSON for tools (`serde_json::to_string(&picture)`);
/// [`RunPicture::to_mermaid`] draws it as a flowchart with status classes.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RunPicture {
    /// The run.
    pub run: RunId,
    /// Its workflow's name.
    pub workflow: String,
    /// Where the run is.
    pub status: RunStatus,
    /// Why it failed, was cancelled or is being undone, if it did or is.
    pub error: Option<String>,
    /// Every node of the flowchart, in the order it is drawn.
    pub nodes: Vec<NodePicture>,
    /// Journal entries no node stands for (a hand-written workflow's steps,
    /// or keys of another definition).
    pub unplaced: Vec<StepPicture>,
    /// The flowchart the picture is drawn on (without status).
    #[serde(skip)]
    pub(super) mermaid: String,
    #[serde(skip)]
    pub(super) graph: Graph,
}

/// One node of the flowchart and what happened there.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct NodePicture {
    /// Its Mermaid id (`s0`, `b1`, `l2`, …).
    pub id: String,
    /// What it is.
    pub kind: NodeKind,
    /// The step key name it stands for, if it stands for one.
    pub site: Option<String>,
    /// Its state: for a node run many times (in a loop or fan-out), the
    /// most pressing of its executions' (running, retrying, failed, …).
    pub state: NodeState,
    /// Its executions (a loop's or fan-out's: its iterations) by state.
    pub counts: Counts,
    /// Each execution, by key (empty for branches, loops and fan-outs).
    pub steps: Vec<StepPicture>,
    /// The child runs of a call, one per execution started.
    pub children: Vec<RunId>,
}

/// One execution of a step, call, sleep, signal or compensation.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StepPicture {
    /// Its key's text form (`assign_seat[3]`; `undo:charge` for a compensation).
    pub key: String,
    /// Its state.
    pub state: NodeState,
    /// Attempts made (journaled) or the attempt running.
    pub attempts: u32,
    /// The child run, for a call.
    pub child: Option<RunId>,
}

/// The state of a node, or of one execution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum NodeState {
    /// Nothing has happened there yet.
    NotReached,
    /// An attempt is running (a sleep sleeping, a signal awaited, a child
    /// run running).
    Running {
        /// The attempt, from 1.
        attempt: u32,
    },
    /// An attempt failed and the next waits for its backoff.
    Retrying {
        /// The attempt that failed.
        attempt: u32,
        /// Its failure's text.
        error: String,
        /// The wait before the next attempt, in milliseconds.
        delay_ms: u64,
    },
    /// It completed.
    Completed {
        /// From its first attempt's start to its end (for many executions:
        /// from the first start to the last end), in milliseconds.
        duration_ms: u64,
    },
    /// Its outcome was taken from the journal when the run was resumed.
    Replayed,
    /// It failed for good.
    Failed {
        /// The failure's text.
        error: String,
    },
    /// It failed for good and its `.fallback(..)` gave its value instead.
    FellBack,
    /// It completed, and the run's rollback then undid it.
    Compensated,
    /// It is under a branch arm the run did not take.
    Skipped,
}

impl NodeState {
    /// The state's name, as the diagram's class and the JSON's `state` say it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NotReached => "not_reached",
            Self::Running { .. } => "running",
            Self::Retrying { .. } => "retrying",
            Self::Completed { .. } => "completed",
            Self::Replayed => "replayed",
            Self::Failed { .. } => "failed",
            Self::FellBack => "fell_back",
            Self::Compensated => "compensated",
            Self::Skipped => "skipped",
        }
    }

    /// Whether it happened and is over, without failing.
    pub(super) fn is_done(&self) -> bool {
        matches!(
            self,
            Self::Completed { .. } | Self::Replayed | Self::FellBack | Self::Compensated
        )
    }

    pub(super) fn completed(duration: Duration) -> Self {
        Self::Completed {
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// A node's executions by state: "assign_seat ×40: 32 done, 8 running, 0 failed".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Counts {
    /// Executions known (journaled or live).
    pub total: u32,
    /// Over without failing: completed, replayed, fell back or compensated.
    pub done: u32,
    /// Running or waiting for a retry.
    pub running: u32,
    /// Failed for good.
    pub failed: u32,
    /// Of `done`: those that fell back.
    pub fell_back: u32,
    /// Of `done`: those undone by a rollback.
    pub compensated: u32,
    /// Of `done`: those replayed from the journal.
    pub replayed: u32,
}

impl Counts {
    pub(super) fn add(&mut self, state: &NodeState) {
        self.total += 1;
        match state {
            NodeState::Running { .. } | NodeState::Retrying { .. } => self.running += 1,
            NodeState::Failed { .. } => self.failed += 1,
            NodeState::FellBack => self.fell_back += 1,
            NodeState::Compensated => self.compensated += 1,
            NodeState::Replayed => self.replayed += 1,
            NodeState::Completed { .. } | NodeState::NotReached | NodeState::Skipped => {}
        }
        if state.is_done() {
            self.done += 1;
        }
    }
}

impl RunPicture {
    /// The workflow's graph the picture is drawn on: each node's label,
    /// shape, loop and branch arm.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Node `id`, if the graph has one.
    pub fn node(&self, id: &str) -> Option<&NodePicture> {
        self.nodes.iter().find(|node| node.id == id)
    }

    /// The first node that stands for step key name `site`.
    pub fn site(&self, site: &str) -> Option<&NodePicture> {
        self.nodes
            .iter()
            .find(|node| node.site.as_deref() == Some(site) && node.kind != NodeKind::Compensation)
    }
}
