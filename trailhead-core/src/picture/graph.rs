//! A workflow's graph: the nodes of its Mermaid flowchart as data, as
//! `workflow!` writes them ([`Workflow::GRAPH`](crate::Workflow::GRAPH)) and
//! as a run's record keeps them (after its flowchart, in a Mermaid comment).

use serde::{Deserialize, Serialize};

use super::PictureError;
use crate::RunId;

/// The comment line that starts a recorded graph inside a run's stored
/// flowchart ([`RunRecord::mermaid`](crate::store::RunRecord::mermaid)).
/// Mermaid ignores `%%` lines, so the stored text still renders as it is.
const MARKER: &str = "%% trailhead-graph ";

/// The nodes of a workflow's flowchart, in the order they are drawn.
///
/// Built from the JSON `workflow!` emits ([`Graph::from_json`]) or from a
/// run's record ([`Graph::recorded`]); serializes back to the same JSON.
///
/// # Examples
///
/// ```
/// use trailhead_core::picture::{Graph, NodeKind};
///
/// let json = r#"{"version":1,"nodes":[
///   {"id":"s0","kind":"step","site":"pay","target":"payments::charge","open":"[\"",
///    "label":"pay","close":"\"]","scope":null,"depth":0,"arm":null,"arms":[]}]}"#;
/// let graph = Graph::from_json(json).unwrap();
/// assert_eq!(graph.nodes()[0].kind, NodeKind::Step);
/// assert_eq!(graph.nodes()[0].site.as_deref(), Some("pay"));
/// assert_eq!(graph.nodes()[0].target.as_deref(), Some("payments::charge"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    version: u32,
    nodes: Vec<GraphNode>,
}

/// One node of a workflow's flowchart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GraphNode {
    /// Its Mermaid id: `s0`, `b1`, `l2`, `f3`, `u0`, `start`, `finish`, …
    pub id: String,
    /// What it is.
    pub kind: NodeKind,
    /// The step key name it stands for ([`StepKey::name`](crate::StepKey::name)):
    /// for a compensation or a value fallback, the step's; for a fallback
    /// step, `{step}.fallback`. `None` for branches, loops, fan-outs, start
    /// and end.
    pub site: Option<String>,
    /// The function it runs, as written in the workflow with the spaces
    /// between tokens dropped: for a step, the path of the function it calls
    /// (`step payments::charge(x).name("pay")` is `payments::charge`; a
    /// method step `step client.fetch(x)` is `.fetch`); for a fallback step,
    /// the fallback's function; for a call, the called workflow's path; for
    /// a compensation, its undo function. `None` for start, end, branches,
    /// loops, fan-outs, sleeps, signals and value fallbacks, and for every
    /// node of a graph recorded by a build before targets (which lacks the
    /// field). A compensation shares its step's `site`: to find the target
    /// at a step key, take the step, call or fallback node of that site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// What its box opens with in the flowchart (`["`, `[["`, `{"`, …).
    pub open: String,
    /// Its label as drawn (escaped for Mermaid).
    pub label: String,
    /// What its box closes with.
    pub close: String,
    /// The id of the innermost loop or fan-out around it.
    pub scope: Option<String>,
    /// For a loop or fan-out: the position of its index in a step key's
    /// path; for a step, call, sleep or signal: its keys' path length.
    pub depth: usize,
    /// The innermost branch arm it is under.
    pub arm: Option<ArmRef>,
    /// For a branch: its arms' labels (`yes`, `no`, or a `match`'s patterns).
    pub arms: Vec<String>,
}

/// An arm of a branch: the branch's node id and the arm's position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArmRef {
    /// The branch's node id.
    pub branch: String,
    /// The arm's position: 0 for `yes`, 1 for `no`, or the `match` arm's.
    pub index: usize,
}

/// What a node of the flowchart is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NodeKind {
    /// Where the run begins.
    Start,
    /// Where the run ends.
    End,
    /// A step.
    Step,
    /// A `call` of another workflow: a child run.
    Call,
    /// A durable `sleep`.
    Sleep,
    /// A wait for a `signal`.
    Signal,
    /// An `if` or a `match`.
    Branch,
    /// A loop.
    Loop,
    /// A `parallel for`.
    FanOut,
    /// A step's compensation, run when the run is rolled back.
    Compensation,
    /// What a step's `.fallback(..)` gives when it fails.
    Fallback,
}

impl Graph {
    /// The graph in the JSON [`Workflow::GRAPH`](crate::Workflow::GRAPH)
    /// holds; an empty text is a graph without nodes (a hand-written
    /// workflow).
    ///
    /// # Errors
    ///
    /// [`PictureError::BadGraph`] (naming no run) if the text is not such JSON.
    pub fn from_json(json: &str) -> Result<Self, PictureError> {
        Self::parse(json, None)
    }

    /// The graph recorded in a run's stored flowchart
    /// ([`RunRecord::mermaid`](crate::store::RunRecord::mermaid)) of run
    /// `run`, and the flowchart without it.
    ///
    /// # Errors
    ///
    /// [`PictureError::NoGraph`] if the text holds no graph (a run recorded
    /// by a build before pictures, or of a hand-written workflow), and
    /// [`PictureError::BadGraph`] if it holds one that does not parse.
    pub fn recorded<'m>(run: &RunId, mermaid: &'m str) -> Result<(Self, &'m str), PictureError> {
        let Some(at) = mermaid.find(MARKER) else {
            return Err(PictureError::NoGraph { run: run.clone() });
        };
        let json = mermaid[at + MARKER.len()..].trim_end();
        Ok((Self::parse(json, Some(run))?, &mermaid[..at]))
    }

    fn parse(json: &str, run: Option<&RunId>) -> Result<Self, PictureError> {
        if json.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(json).map_err(|source| PictureError::BadGraph {
            run: run.cloned(),
            reason: source.to_string(),
        })
    }

    /// The nodes, in the order they are drawn.
    pub fn nodes(&self) -> &[GraphNode] {
        &self.nodes
    }

    /// Node `id`, if there is one.
    pub fn node(&self, id: &str) -> Option<&GraphNode> {
        self.nodes.iter().find(|node| node.id == id)
    }

    /// The node each step key name runs at, with its site: steps, calls and
    /// fallback steps. A compensation or a value fallback shares its step's
    /// site and is not the step.
    pub fn step_nodes(&self) -> impl Iterator<Item = (&str, &GraphNode)> {
        self.nodes.iter().filter_map(|node| {
            let site = node.site.as_deref()?;
            let runs_there = match node.kind {
                NodeKind::Step | NodeKind::Call => true,
                NodeKind::Fallback => site.ends_with(".fallback"),
                _ => false,
            };
            runs_there.then_some((site, node))
        })
    }
}

/// The flowchart a run's record keeps: `mermaid`, then `graph` in a Mermaid
/// comment line (nothing when the graph is empty).
pub(crate) fn recorded_mermaid(mermaid: &str, graph: &str) -> String {
    if graph.is_empty() {
        return mermaid.to_owned();
    }
    let mut text = String::with_capacity(mermaid.len() + MARKER.len() + graph.len() + 2);
    text.push_str(mermaid);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(MARKER);
    text.push_str(graph);
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRAPH: &str = r#"{"version":1,"nodes":[{"id":"s0","kind":"call","site":"ship","open":"[[\"","label":"call ship","close":"\"]]","scope":"l1","depth":1,"arm":{"branch":"b2","index":1},"arms":[]}]}"#;

    #[test]
    fn a_recorded_graph_reads_back_with_the_flowchart_before_it() {
        let stored = recorded_mermaid("flowchart TD\n    s0[[\"call ship\"]]\n", GRAPH);
        let run = RunId::new("r");
        let (graph, mermaid) = Graph::recorded(&run, &stored).unwrap();
        assert_eq!(mermaid, "flowchart TD\n    s0[[\"call ship\"]]\n");
        assert_eq!(graph, Graph::from_json(GRAPH).unwrap());
        let node = graph.node("s0").unwrap();
        assert_eq!(node.kind, NodeKind::Call);
        assert_eq!(node.arm.as_ref().unwrap().index, 1);
        assert_eq!(serde_json::to_string(&graph).unwrap(), GRAPH);
    }

    #[test]
    fn a_flowchart_without_a_graph_is_a_typed_error_naming_the_run() {
        let error = Graph::recorded(&RunId::new("old"), "flowchart TD\n").unwrap_err();
        assert!(matches!(&error, PictureError::NoGraph { run } if run.as_str() == "old"));
        assert!(error.to_string().contains("`old`"), "{error}");
        let bad = recorded_mermaid("flowchart TD\n", "{not json");
        let error = Graph::recorded(&RunId::new("bad"), &bad).unwrap_err();
        assert!(matches!(error, PictureError::BadGraph { run: Some(_), .. }));
    }

    #[test]
    fn a_node_keeps_its_target_and_an_older_graph_without_targets_still_reads() {
        // GRAPH as recorded before targets: no `target` field.
        let old = Graph::from_json(GRAPH).unwrap();
        assert_eq!(old.nodes()[0].target, None);
        let json = GRAPH.replace(
            r#""site":"ship","#,
            r#""site":"ship","target":"orders::ship","#,
        );
        let graph = Graph::from_json(&json).unwrap();
        assert_eq!(graph.nodes()[0].target.as_deref(), Some("orders::ship"));
        assert_eq!(serde_json::to_string(&graph).unwrap(), json);
    }
}
