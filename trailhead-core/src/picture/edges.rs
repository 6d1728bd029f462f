//! The arrows of a run's flowchart, as data: what a tool that draws the
//! picture itself (the dashboard's SVG) lays out.

use serde::Serialize;

use super::graph::{GraphNode, NodeKind};
use super::state::RunPicture;

/// An arrow of the flowchart: from node `from` to node `to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Edge {
    /// The node it leaves.
    pub from: String,
    /// The node it enters.
    pub to: String,
    /// Its label (a branch arm's `yes`/`no`, a `match` pattern,
    /// `compensate`), as plain text.
    pub label: Option<String>,
    /// Whether it is drawn dotted: to a compensation or a fallback.
    pub dotted: bool,
}

impl RunPicture {
    /// The flowchart's arrows, in the order they are drawn, plus one dotted
    /// arrow from a fan-out to each node inside it that no arrow enters
    /// (Mermaid draws those inside the fan-out's box instead).
    pub fn edges(&self) -> Vec<Edge> {
        let mut edges: Vec<Edge> = arrows(&self.mermaid).collect();
        for node in self.graph.nodes() {
            let Some(scope) = &node.scope else { continue };
            let is_fan_out = self
                .graph
                .node(scope)
                .is_some_and(|around| around.kind == NodeKind::FanOut);
            if is_fan_out && !edges.iter().any(|edge| edge.to == node.id) {
                edges.push(Edge {
                    from: scope.clone(),
                    to: node.id.clone(),
                    label: None,
                    dotted: true,
                });
            }
        }
        edges
    }
}

impl GraphNode {
    /// Its label as plain text: Mermaid's escapes undone, a `<br/>` a line
    /// break.
    pub fn text(&self) -> String {
        unescape(&self.label)
    }
}

/// The arrows flowchart text `mermaid` draws, in order (without the
/// fan-outs' implied ones).
pub(crate) fn arrows(mermaid: &str) -> impl Iterator<Item = Edge> + '_ {
    mermaid.lines().filter_map(parse)
}

/// The arrow a flowchart line draws, if it draws one: `a --> b`,
/// `a -.-> b`, `a -->|"label"| b`, as `workflow!` writes them.
fn parse(line: &str) -> Option<Edge> {
    let line = line.trim();
    let (from, rest) = line.split_once(' ')?;
    let (dotted, rest) = if let Some(rest) = rest.strip_prefix("-.->") {
        (true, rest)
    } else {
        (false, rest.strip_prefix("-->")?)
    };
    let (label, to) = match rest.strip_prefix("|\"") {
        Some(labelled) => {
            let (label, to) = labelled.split_once("\"|")?;
            (Some(unescape(label)), to)
        }
        None => (None, rest),
    };
    let to = to.trim();
    let is_id =
        |id: &str| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (is_id(from) && is_id(to)).then(|| Edge {
        from: from.to_owned(),
        to: to.to_owned(),
        label,
        dotted,
    })
}

/// Undoes the flowchart's escapes (`#quot;`, `#lt;`, `#gt;`, `#124;`) and
/// makes `<br/>` a line break.
fn unescape(text: &str) -> String {
    text.replace("<br/>", "\n")
        .replace("#quot;", "\"")
        .replace("#lt;", "<")
        .replace("#gt;", ">")
        .replace("#124;", "|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrows_read_with_their_labels_and_style() {
        assert_eq!(
            parse("    s0 -->|\"yes #124; no\"| s1"),
            Some(Edge {
                from: "s0".into(),
                to: "s1".into(),
                label: Some("yes | no".into()),
                dotted: false,
            })
        );
        let dotted = parse("    s0 -.->|\"compensate\"| u0").unwrap();
        assert!(dotted.dotted);
        assert_eq!(parse("    start --> f0").unwrap().to, "f0");
        assert_eq!(parse("    s0[\"a --> b\"]"), None);
        assert_eq!(parse("    classDef running fill:#dbeafe"), None);
        assert_eq!(parse("    end"), None);
    }

    #[test]
    fn labels_lose_their_escapes() {
        assert_eq!(unescape("#quot;a#quot; #lt;b#gt;<br/>c"), "\"a\" <b>\nc");
    }
}
