//! What the CLI reads from the graph a run's record keeps
//! ([`picture::Graph::recorded`](trailhead_core::picture::Graph::recorded)):
//! how many step sites the workflow has, and which signals it waits for. A
//! run recorded without a graph (by a build before pictures, or of a
//! hand-written workflow) has neither.

use trailhead_core::picture::{Graph, NodeKind};
use trailhead_core::store::RunRecord;

/// The graph `run` recorded, empty if it recorded none.
fn graph_of(run: &RunRecord) -> Graph {
    Graph::recorded(&run.id, &run.mermaid)
        .map(|(graph, _)| graph)
        .unwrap_or_default()
}

/// The number of sites (steps, sleeps, signals, calls) in `run`'s graph.
pub(crate) fn sites(run: &RunRecord) -> usize {
    graph_of(run)
        .nodes()
        .iter()
        .filter(|node| {
            matches!(
                node.kind,
                NodeKind::Step | NodeKind::Call | NodeKind::Sleep | NodeKind::Signal
            )
        })
        .count()
}

/// The names of the signals `run`'s workflow waits for, in the order drawn
/// (a signal's site is named after it: `approval`, `approval#2`, …).
pub(crate) fn signals(run: &RunRecord) -> Vec<String> {
    graph_of(run)
        .nodes()
        .iter()
        .filter(|node| node.kind == NodeKind::Signal)
        .filter_map(|node| node.site.as_deref())
        .map(|site| site.split('#').next().unwrap_or(site).to_owned())
        .collect()
}
