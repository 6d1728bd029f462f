//! Drawing a run on its graph: each node's executions from the journal and
//! the live table, then branches, loops and fan-outs from what is under them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, SystemTime};

use super::graph::{Graph, GraphNode, NodeKind};
use super::live::{LiveState, LiveStep};
use super::state::{Counts, NodePicture, NodeState, RunPicture, StepPicture};
use crate::StepKey;
use crate::store::{RunOutcome, RunRecord, RunState, StepOutcome, StepRecord};

/// When an execution started and ended.
type Span = (SystemTime, SystemTime);

/// What is kept of an execution for the loops and branches around it: its
/// state, its key's path, its span.
type Seen = (NodeState, Vec<u32>, Option<Span>);

/// One execution, with its times for the spans of many.
struct Execution {
    picture: StepPicture,
    path: Vec<u32>,
    span: Option<(SystemTime, SystemTime)>,
}

impl RunPicture {
    /// The picture of the run `record` describes, with journal `journal`,
    /// drawn on `graph` (whose flowchart is `mermaid`), and `live`: what the
    /// engine driving the run knows beyond the journal (none for a run read
    /// from a store alone: running attempts then do not show, and replayed
    /// steps show as completed).
    ///
    /// Journal entries whose name no node stands for are listed in
    /// [`unplaced`](RunPicture::unplaced).
    pub fn build(
        graph: &Graph,
        mermaid: &str,
        record: &RunRecord,
        journal: &[StepRecord],
        live: Option<&LiveState>,
    ) -> Self {
        let empty = LiveState::default();
        let live = live.unwrap_or(&empty);
        let mut builder = Builder::new(graph, record, journal, live);
        let nodes = graph
            .nodes()
            .iter()
            .map(|node| builder.executions(node))
            .collect::<Vec<_>>();
        let mut pictures: Vec<NodePicture> = graph
            .nodes()
            .iter()
            .zip(nodes)
            .map(|(node, executions)| builder.site_picture(node, executions))
            .collect();
        builder.structure(&mut pictures);
        let unplaced = builder.unplaced();
        RunPicture {
            run: record.id.clone(),
            workflow: record.workflow.clone(),
            status: record.status(),
            error: run_error(&record.state),
            nodes: pictures,
            unplaced,
            mermaid: mermaid.to_owned(),
            graph: graph.clone(),
        }
    }
}

struct Builder<'a> {
    graph: &'a Graph,
    record: &'a RunRecord,
    live: &'a LiveState,
    /// Journal entries of steps, by name.
    steps: HashMap<&'a str, Vec<&'a StepRecord>>,
    /// Compensation entries, by the key they undid.
    undone: HashMap<StepKey, &'a StepRecord>,
    /// Names some node stands for.
    placed: HashSet<&'a str>,
    /// Per node: the spans and paths of its executions, kept for the
    /// loops and branches around it.
    executions: HashMap<String, Vec<Seen>>,
    journal: &'a [StepRecord],
}

impl<'a> Builder<'a> {
    fn new(
        graph: &'a Graph,
        record: &'a RunRecord,
        journal: &'a [StepRecord],
        live: &'a LiveState,
    ) -> Self {
        let mut steps: HashMap<&str, Vec<&StepRecord>> = HashMap::new();
        let mut undone = HashMap::new();
        for entry in journal {
            match entry.key.undone() {
                // A compensation that failed for good left its step done.
                Some(step) if matches!(entry.outcome, StepOutcome::Completed(_)) => {
                    undone.insert(step, entry);
                }
                Some(_) => {}
                None => steps.entry(entry.key.name()).or_default().push(entry),
            }
        }
        let placed = graph
            .nodes()
            .iter()
            .filter_map(|node| node.site.as_deref())
            .collect();
        Self {
            graph,
            record,
            live,
            steps,
            undone,
            placed,
            executions: HashMap::new(),
            journal,
        }
    }

    /// The executions of a node that stands for a step key name.
    fn executions(&self, node: &GraphNode) -> Vec<Execution> {
        let Some(site) = node.site.as_deref() else {
            return Vec::new();
        };
        match node.kind {
            NodeKind::Compensation => self.compensations(site),
            NodeKind::Fallback if !site.ends_with(".fallback") => self.fallback_values(site),
            _ => self.step_executions(node, site),
        }
    }

    fn step_executions(&self, node: &GraphNode, site: &str) -> Vec<Execution> {
        let mut by_key: BTreeMap<StepKey, Execution> = BTreeMap::new();
        for entry in self.steps.get(site).into_iter().flatten() {
            let waiting = matches!(node.kind, NodeKind::Sleep | NodeKind::Signal)
                && self.live.running.contains_key(&entry.key);
            let state = match &entry.outcome {
                // A sleep is journaled when it begins: live, it still sleeps.
                StepOutcome::Completed(_) if waiting => NodeState::Running { attempt: 1 },
                StepOutcome::Completed(_) if self.undone.contains_key(&entry.key) => {
                    NodeState::Compensated
                }
                StepOutcome::Completed(_) if self.live.replayed.contains(&entry.key) => {
                    NodeState::Replayed
                }
                StepOutcome::Completed(_) => NodeState::completed(elapsed(entry)),
                StepOutcome::Failed(failed) => NodeState::Failed {
                    error: failed.message.clone(),
                },
                StepOutcome::FellBack(_) => NodeState::FellBack,
            };
            by_key.insert(
                entry.key.clone(),
                self.execution(node, &entry.key, state, entry.attempts, Some(entry)),
            );
        }
        for (key, step) in &self.live.running {
            if key.name() != site || by_key.contains_key(key) {
                continue;
            }
            by_key.insert(
                key.clone(),
                self.execution(node, key, live_state(step), step.attempt, None),
            );
        }
        by_key.into_values().collect()
    }

    fn execution(
        &self,
        node: &GraphNode,
        key: &StepKey,
        state: NodeState,
        attempts: u32,
        entry: Option<&StepRecord>,
    ) -> Execution {
        let child = (node.kind == NodeKind::Call).then(|| self.record.id.child(key));
        Execution {
            picture: StepPicture {
                key: key.to_string(),
                state,
                attempts,
                child,
            },
            path: key.path().to_vec(),
            span: entry.map(|entry| (entry.started_at, entry.finished_at)),
        }
    }

    /// A value fallback's executions: the step's entries that fell back.
    fn fallback_values(&self, site: &str) -> Vec<Execution> {
        self.steps
            .get(site)
            .into_iter()
            .flatten()
            .filter(|entry| matches!(entry.outcome, StepOutcome::FellBack(_)))
            .map(|entry| Execution {
                picture: StepPicture {
                    key: entry.key.to_string(),
                    state: NodeState::completed(Duration::ZERO),
                    attempts: 1,
                    child: None,
                },
                path: entry.key.path().to_vec(),
                span: Some((entry.finished_at, entry.finished_at)),
            })
            .collect()
    }

    /// A compensation's executions: its journal entries, and the one that
    /// failed for good if the run ended so.
    fn compensations(&self, site: &str) -> Vec<Execution> {
        let mut executions: Vec<Execution> = self
            .journal
            .iter()
            .filter(|entry| entry.key.undone().is_some_and(|step| step.name() == site))
            .map(|entry| Execution {
                picture: StepPicture {
                    key: entry.key.to_string(),
                    state: match &entry.outcome {
                        StepOutcome::Failed(failed) => NodeState::Failed {
                            error: failed.message.clone(),
                        },
                        _ => NodeState::completed(elapsed(entry)),
                    },
                    attempts: entry.attempts,
                    child: None,
                },
                path: entry.key.path().to_vec(),
                span: Some((entry.started_at, entry.finished_at)),
            })
            .collect();
        for (undo, step) in &self.live.running {
            let here = undo.undone().is_some_and(|step| step.name() == site);
            let journaled = || executions.iter().any(|e| e.picture.key == undo.to_string());
            if !here || journaled() {
                continue;
            }
            executions.push(Execution {
                picture: StepPicture {
                    key: undo.to_string(),
                    state: live_state(step),
                    attempts: step.attempt,
                    child: None,
                },
                path: undo.path().to_vec(),
                span: None,
            });
        }
        // A store from before failed compensations were journaled has only
        // the run's outcome to say which failed.
        if let Some(RunOutcome::CompensationFailed { step, error, .. }) = self.record.outcome()
            && step.name() == site
            && !executions
                .iter()
                .any(|e| e.picture.key == step.undo().to_string())
        {
            executions.push(Execution {
                picture: StepPicture {
                    key: step.undo().to_string(),
                    state: NodeState::Failed {
                        error: error.clone(),
                    },
                    attempts: 0,
                    child: None,
                },
                path: step.path().to_vec(),
                span: None,
            });
        }
        executions
    }

    /// The picture of one node from its executions (start and end from the
    /// run's state; branches, loops and fan-outs are done by `structure`).
    fn site_picture(&mut self, node: &GraphNode, executions: Vec<Execution>) -> NodePicture {
        let mut counts = Counts::default();
        for execution in &executions {
            counts.add(&execution.picture.state);
        }
        let state = match node.kind {
            NodeKind::Start => NodeState::completed(Duration::ZERO),
            NodeKind::End => end_state(self.record),
            _ => aggregate(&executions),
        };
        self.executions.insert(
            node.id.clone(),
            executions
                .iter()
                .map(|e| (e.picture.state.clone(), e.path.clone(), e.span))
                .collect(),
        );
        let children = executions
            .iter()
            .filter_map(|e| e.picture.child.clone())
            .collect();
        NodePicture {
            id: node.id.clone(),
            kind: node.kind,
            site: node.site.clone(),
            state,
            counts,
            steps: executions.into_iter().map(|e| e.picture).collect(),
            children,
        }
    }

    /// A stream loop's state and items from its checkpoint (its steps are
    /// not journaled one by one): done once it ended, running while the
    /// run is, else failed where it stopped.
    fn stream_progress(&self, node: &GraphNode) -> Option<(NodeState, Counts)> {
        let site = node.site.as_deref()?;
        let entry = self.steps.get(site)?.last()?;
        let StepOutcome::Completed(value) = &entry.outcome else {
            return None;
        };
        let checkpoint = value.decode::<crate::stream::Checkpoint>().ok()?;
        let items = u32::try_from(checkpoint.items).unwrap_or(u32::MAX);
        let mut counts = Counts {
            total: items,
            done: items,
            ..Counts::default()
        };
        let state = if checkpoint.done {
            NodeState::completed(elapsed(entry))
        } else if !self.record.state.is_ended() {
            counts.running = 1;
            NodeState::Running { attempt: 0 }
        } else {
            NodeState::Failed {
                error: format!("stopped after {} items", checkpoint.items),
            }
        };
        Some((state, counts))
    }

    /// Loops, fan-outs and branches from what is under them; then what is
    /// under an arm the run did not take is skipped.
    fn structure(&self, pictures: &mut [NodePicture]) {
        let nodes = self.graph.nodes();
        // Loops and fan-outs: their iterations, by key path prefix.
        for (i, node) in nodes.iter().enumerate() {
            if !matches!(node.kind, NodeKind::Loop | NodeKind::FanOut) {
                continue;
            }
            let mut iterations: BTreeMap<Vec<u32>, Vec<&NodeState>> = BTreeMap::new();
            let mut spans = Vec::new();
            for inner in nodes.iter().filter(|n| self.in_scope(n, &node.id)) {
                for (state, path, span) in self.executions.get(&inner.id).into_iter().flatten() {
                    if path.len() > node.depth {
                        iterations
                            .entry(path[..=node.depth].to_vec())
                            .or_default()
                            .push(state);
                        spans.extend(*span);
                    }
                }
            }
            let mut counts = Counts::default();
            let mut failure = None;
            for states in iterations.values() {
                let state = if states.iter().any(|s| is_running(s)) {
                    NodeState::Running { attempt: 0 }
                } else if let Some(failed) = states
                    .iter()
                    .find(|s| matches!(s, NodeState::Failed { .. }))
                {
                    failure.get_or_insert_with(|| (*failed).clone());
                    (*failed).clone()
                } else {
                    NodeState::completed(Duration::ZERO)
                };
                counts.add(&state);
            }
            if counts.total == 0
                && let Some((state, counts)) = self.stream_progress(node)
            {
                pictures[i].state = state;
                pictures[i].counts = counts;
                continue;
            }
            pictures[i].counts = counts;
            pictures[i].state = if counts.running > 0 {
                NodeState::Running { attempt: 0 }
            } else if let Some(failed) = failure {
                failed
            } else if counts.total > 0 {
                NodeState::completed(span_of(spans.iter().copied()))
            } else {
                NodeState::NotReached
            };
        }
        // Branches: reached when something under them or after them was.
        let active: Vec<bool> = pictures
            .iter()
            .map(|p| {
                !matches!(p.state, NodeState::NotReached)
                    && !matches!(p.kind, NodeKind::Start | NodeKind::Compensation)
            })
            .collect();
        let ended_done = matches!(
            self.record.outcome(),
            Some(RunOutcome::Completed(_) | RunOutcome::Compensated { .. })
        );
        let mut decided: HashMap<&str, bool> = HashMap::new();
        let mut taken: HashSet<(&str, usize)> = HashSet::new();
        for (i, node) in nodes.iter().enumerate() {
            if node.kind != NodeKind::Branch {
                continue;
            }
            let mut under = false;
            for (j, inner) in nodes.iter().enumerate() {
                if !active[j] {
                    continue;
                }
                if let Some(arm) = self.arm_of(inner, &node.id) {
                    taken.insert((node.id.as_str(), arm));
                    under = true;
                }
            }
            let passed = nodes.iter().enumerate().skip(i + 1).any(|(j, inner)| {
                active[j] && inner.kind != NodeKind::End && self.arm_of(inner, &node.id).is_none()
            });
            decided.insert(&node.id, under || passed || ended_done);
            if under || passed {
                let running = nodes.iter().enumerate().any(|(j, inner)| {
                    self.arm_of(inner, &node.id).is_some() && is_running(&pictures[j].state)
                });
                pictures[i].state = if running {
                    NodeState::Running { attempt: 0 }
                } else {
                    NodeState::completed(Duration::ZERO)
                };
            }
        }
        for (node, picture) in nodes.iter().zip(pictures.iter_mut()) {
            if picture.state != NodeState::NotReached {
                continue;
            }
            let mut arm = node.arm.as_ref();
            while let Some(at) = arm {
                if decided.get(at.branch.as_str()) == Some(&true)
                    && !taken.contains(&(at.branch.as_str(), at.index))
                {
                    picture.state = NodeState::Skipped;
                    break;
                }
                arm = self.graph.node(&at.branch).and_then(|b| b.arm.as_ref());
            }
        }
    }

    /// Whether `node` is inside loop or fan-out `scope`.
    fn in_scope(&self, node: &GraphNode, scope: &str) -> bool {
        let mut at = node.scope.as_deref();
        while let Some(id) = at {
            if id == scope {
                return true;
            }
            at = self.graph.node(id).and_then(|n| n.scope.as_deref());
        }
        false
    }

    /// The arm of branch `branch` that `node` is under, if it is under one.
    fn arm_of(&self, node: &GraphNode, branch: &str) -> Option<usize> {
        let mut arm = node.arm.as_ref();
        while let Some(at) = arm {
            if at.branch == branch {
                return Some(at.index);
            }
            arm = self.graph.node(&at.branch).and_then(|b| b.arm.as_ref());
        }
        None
    }

    /// Journal entries no node stands for.
    fn unplaced(&self) -> Vec<StepPicture> {
        self.journal
            .iter()
            .filter(|entry| {
                let name = entry.key.undone().map_or_else(
                    || entry.key.name().to_owned(),
                    |step| step.name().to_owned(),
                );
                !self.placed.contains(name.as_str())
            })
            .map(|entry| StepPicture {
                key: entry.key.to_string(),
                state: match &entry.outcome {
                    StepOutcome::Completed(_) => NodeState::completed(elapsed(entry)),
                    StepOutcome::Failed(failed) => NodeState::Failed {
                        error: failed.message.clone(),
                    },
                    StepOutcome::FellBack(_) => NodeState::FellBack,
                },
                attempts: entry.attempts,
                child: None,
            })
            .collect()
    }
}

fn is_running(state: &NodeState) -> bool {
    matches!(
        state,
        NodeState::Running { .. } | NodeState::Retrying { .. }
    )
}

/// The most pressing state of a node's executions.
fn aggregate(executions: &[Execution]) -> NodeState {
    let states: Vec<&NodeState> = executions.iter().map(|e| &e.picture.state).collect();
    if states.is_empty() {
        return NodeState::NotReached;
    }
    let attempt = states
        .iter()
        .filter_map(|s| match s {
            NodeState::Running { attempt } => Some(*attempt),
            _ => None,
        })
        .max();
    if let Some(attempt) = attempt {
        return NodeState::Running { attempt };
    }
    for wanted in ["retrying", "failed"] {
        if let Some(state) = states.iter().find(|s| s.name() == wanted) {
            return (*state).clone();
        }
    }
    for uniform in [
        NodeState::Compensated,
        NodeState::Replayed,
        NodeState::FellBack,
    ] {
        if states.iter().all(|s| **s == uniform) {
            return uniform;
        }
    }
    NodeState::completed(span_of(executions.iter().filter_map(|e| e.span)))
}

/// From the first start to the last end.
fn span_of(spans: impl Iterator<Item = (SystemTime, SystemTime)>) -> Duration {
    let mut first: Option<SystemTime> = None;
    let mut last: Option<SystemTime> = None;
    for (start, end) in spans {
        first = Some(first.map_or(start, |f| f.min(start)));
        last = Some(last.map_or(end, |l| l.max(end)));
    }
    match (first, last) {
        (Some(first), Some(last)) => last.duration_since(first).unwrap_or_default(),
        _ => Duration::ZERO,
    }
}

fn elapsed(entry: &StepRecord) -> Duration {
    entry
        .finished_at
        .duration_since(entry.started_at)
        .unwrap_or_default()
}

/// The end node: how the run ended, if it has.
fn end_state(record: &RunRecord) -> NodeState {
    match &record.state {
        RunState::Running | RunState::Compensating(_) => NodeState::NotReached,
        RunState::Ended { outcome, at } => match outcome {
            RunOutcome::Completed(_) => {
                NodeState::completed(at.duration_since(record.created_at).unwrap_or_default())
            }
            RunOutcome::Compensated { .. } => NodeState::Compensated,
            RunOutcome::Failed(_)
            | RunOutcome::Cancelled
            | RunOutcome::CompensationFailed { .. } => NodeState::Failed {
                error: run_error(&record.state).unwrap_or_default(),
            },
        },
    }
}

/// Why the run failed, was cancelled or is being undone.
fn run_error(state: &RunState) -> Option<String> {
    match state {
        RunState::Running => None,
        RunState::Compensating(then) => Some(then.cause().to_owned()),
        RunState::Ended { outcome, .. } => match outcome {
            RunOutcome::Completed(_) => None,
            RunOutcome::Failed(error) => Some(error.clone()),
            RunOutcome::Cancelled => Some("cancelled".to_owned()),
            RunOutcome::CompensationFailed { step, error, cause } => Some(format!(
                "{cause}; then the compensation of `{step}` failed: {error}"
            )),
            RunOutcome::Compensated { cause, .. } => Some(cause.clone()),
        },
    }
}

/// The state of an attempt running or a retry waiting.
fn live_state(step: &LiveStep) -> NodeState {
    match &step.retry {
        Some(retry) => NodeState::Retrying {
            attempt: step.attempt,
            error: retry.error.clone(),
            delay_ms: u64::try_from(retry.delay.as_millis()).unwrap_or(u64::MAX),
        },
        None => NodeState::Running {
            attempt: step.attempt,
        },
    }
}
