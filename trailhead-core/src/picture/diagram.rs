//! A run's picture as Mermaid: the workflow's flowchart, each box's label
//! followed by its state, and a status class on every node.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::graph::{GraphNode, NodeKind};
use super::state::{NodePicture, NodeState, RunPicture};

/// The status classes, in the order their `class` lines are written.
const CLASSES: &[(&str, &str)] = &[
    ("not_reached", "fill:#f5f5f5,stroke:#bdbdbd,color:#757575"),
    ("running", "fill:#dbeafe,stroke:#2563eb,stroke-width:2px"),
    ("retrying", "fill:#fef3c7,stroke:#d97706,stroke-width:2px"),
    ("completed", "fill:#dcfce7,stroke:#16a34a"),
    ("replayed", "fill:#e0f2fe,stroke:#0284c7"),
    ("failed", "fill:#fee2e2,stroke:#dc2626,stroke-width:2px"),
    ("fell_back", "fill:#ffedd5,stroke:#ea580c"),
    ("compensated", "fill:#ede9fe,stroke:#7c3aed"),
    (
        "skipped",
        "fill:#fafafa,stroke:#bdbdbd,stroke-dasharray:4 3,color:#9e9e9e",
    ),
];

/// The longest error text written in a box.
const ERROR_CHARS: usize = 60;

impl RunPicture {
    /// The run as a Mermaid flowchart: its workflow's chart with each box's
    /// state written under its label ("completed in 120ms", "running
    /// (attempt 2)", "×40: 32 done, 8 running, 0 failed", a call's child
    /// run), and `classDef`/`class` lines giving each node its state's class
    /// (`not_reached`, `running`, `retrying`, `completed`, `replayed`,
    /// `failed`, `fell_back`, `compensated`, `skipped`).
    ///
    /// The text is a pure function of the picture: the same picture gives
    /// the same text.
    pub fn to_mermaid(&self) -> String {
        let by_id: BTreeMap<&str, (&GraphNode, &NodePicture)> = self
            .graph
            .nodes()
            .iter()
            .zip(&self.nodes)
            .map(|(node, picture)| (node.id.as_str(), (node, picture)))
            .collect();
        let declarations: BTreeMap<String, String> = by_id
            .values()
            .map(|(node, picture)| (declaration(node, &node.label), relabel(node, picture)))
            .collect();
        let mut out = String::with_capacity(self.mermaid.len() * 2);
        for line in self.mermaid.lines() {
            match declarations.get(line) {
                Some(new) => out.push_str(new),
                None => out.push_str(line),
            }
            out.push('\n');
        }
        if by_id.is_empty() {
            return out;
        }
        for (class, style) in CLASSES {
            let _ = writeln!(out, "    classDef {class} {style}");
        }
        for (class, _) in CLASSES {
            let ids: Vec<&str> = self
                .nodes
                .iter()
                .filter(|picture| picture.state.name() == *class)
                .map(|picture| picture.id.as_str())
                .collect();
            if !ids.is_empty() {
                let _ = writeln!(out, "    class {} {class}", ids.join(","));
            }
        }
        out
    }
}

/// The node's declaration line with `label`.
fn declaration(node: &GraphNode, label: &str) -> String {
    let subgraph = if node.kind == NodeKind::FanOut {
        "subgraph "
    } else {
        ""
    };
    format!(
        "    {subgraph}{}{}{label}{}",
        node.id, node.open, node.close
    )
}

fn relabel(node: &GraphNode, picture: &NodePicture) -> String {
    match picture.status_text() {
        Some(status) => declaration(
            node,
            &format!("{}<br/><i>{}</i>", node.label, escape(&status)),
        ),
        None => declaration(node, &node.label),
    }
}

impl NodePicture {
    /// What the diagram writes under the node's label, if anything:
    /// "completed in 120ms", "running (attempt 2)", "retrying in 2s:
    /// attempt 1 failed: …", "×40: 32 done, 8 running, 0 failed", with a
    /// call's child run. `None` for a node not reached, and for the start.
    pub fn status_text(&self) -> Option<String> {
        status_text(self)
    }
}

fn status_text(picture: &NodePicture) -> Option<String> {
    let counts = picture.counts;
    let many = counts.total > 1
        || matches!(picture.kind, NodeKind::Loop | NodeKind::FanOut) && counts.total > 0;
    if many {
        let mut text = format!(
            "×{}: {} done, {} running, {} failed",
            counts.total, counts.done, counts.running, counts.failed
        );
        for (n, what) in [
            (counts.replayed, "replayed"),
            (counts.fell_back, "fell back"),
            (counts.compensated, "compensated"),
        ] {
            if n > 0 {
                let _ = write!(text, ", {n} {what}");
            }
        }
        return Some(text);
    }
    let text = match &picture.state {
        NodeState::NotReached => return None,
        _ if picture.kind == NodeKind::Start => return None,
        NodeState::Running { attempt: 0 } => "running".to_owned(),
        NodeState::Running { attempt } => match picture.kind {
            NodeKind::Sleep => "sleeping".to_owned(),
            NodeKind::Signal => "waiting".to_owned(),
            _ => format!("running (attempt {attempt})"),
        },
        NodeState::Retrying {
            attempt,
            error,
            delay_ms,
        } => format!(
            "retrying in {}: attempt {attempt} failed: {}",
            millis(*delay_ms),
            clip(error)
        ),
        NodeState::Completed { .. } if picture.kind == NodeKind::Branch => "taken".to_owned(),
        // The run's own time is the record's (wall clock), not the journal's.
        NodeState::Completed { .. } if picture.kind == NodeKind::End => "completed".to_owned(),
        NodeState::Completed { duration_ms } => format!("completed in {}", millis(*duration_ms)),
        NodeState::Replayed => "replayed".to_owned(),
        NodeState::Failed { error } => format!("failed: {}", clip(error)),
        NodeState::FellBack => "fell back".to_owned(),
        NodeState::Compensated => "compensated".to_owned(),
        NodeState::Skipped => "skipped".to_owned(),
    };
    Some(match picture.children.first() {
        Some(child) => format!("{text} · child run {child}"),
        None => text,
    })
}

fn millis(ms: u64) -> String {
    if ms >= 10_000 {
        format!("{}s", ms / 1000)
    } else if ms >= 1000 {
        format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
    } else {
        format!("{ms}ms")
    }
}

fn clip(text: &str) -> String {
    let first_line = text.lines().next().unwrap_or_default();
    if first_line.chars().count() > ERROR_CHARS {
        first_line.chars().take(ERROR_CHARS - 1).collect::<String>() + "…"
    } else {
        first_line.to_owned()
    }
}

/// Escapes text for a quoted Mermaid label (as the macro escapes labels).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '|' => out.push_str("#124;"),
            c => out.push(c),
        }
    }
    out
}
