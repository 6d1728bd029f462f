//! The diagram's nodes as data: for each node drawn, its id, what it is, the
//! step key name it stands for, the function it runs, the loop or fan-out
//! around it and the branch arm it is under. Written as JSON (`Workflow::GRAPH`), so that a run's
//! picture can be drawn from its journal by the runtime, and by tools that
//! have only the store. Collected by the same walk that draws the chart, so
//! the ids are the chart's by construction.

use std::fmt::Write as _;

/// What a drawn node is.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    Start,
    End,
    Step,
    Call,
    Sleep,
    Signal,
    Branch,
    Loop,
    FanOut,
    Compensation,
    Fallback,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Start => "start",
            Kind::End => "end",
            Kind::Step => "step",
            Kind::Call => "call",
            Kind::Sleep => "sleep",
            Kind::Signal => "signal",
            Kind::Branch => "branch",
            Kind::Loop => "loop",
            Kind::FanOut => "fan_out",
            Kind::Compensation => "compensation",
            Kind::Fallback => "fallback",
        }
    }
}

/// One drawn node.
pub(super) struct GraphNode {
    pub(super) id: String,
    pub(super) kind: Kind,
    /// The step key name it stands for (for a compensation or a value
    /// fallback: the step's).
    pub(super) site: Option<String>,
    /// The function it runs as written, spaces dropped (`payments::charge`):
    /// a step's, a fallback step's, a compensation's undo, or the workflow a
    /// call runs. `None` for every other node; written only when `Some`.
    pub(super) target: Option<String>,
    /// Its box as declared: `open`, the label (escaped), `close`.
    pub(super) shape: (String, String, String),
    /// The innermost loop or fan-out around it.
    pub(super) scope: Option<String>,
    /// For a loop or fan-out: the position of its index in a key's path; for
    /// a site: the length of its keys' paths.
    pub(super) depth: usize,
    /// The innermost branch arm it is under: the branch's id and the arm's
    /// position.
    pub(super) arm: Option<(String, usize)>,
    /// For a branch: its arms' labels.
    pub(super) arms: Vec<String>,
}

/// Where the walk is: the loops and arms around the node being drawn.
#[derive(Default)]
pub(super) struct Context {
    scopes: Vec<String>,
    arms: Vec<(String, usize)>,
}

impl Context {
    pub(super) fn enter_scope(&mut self, id: &str) {
        self.scopes.push(id.to_owned());
    }

    pub(super) fn leave_scope(&mut self) {
        self.scopes.pop();
    }

    pub(super) fn enter_arm(&mut self, branch: &str, arm: usize) {
        self.arms.push((branch.to_owned(), arm));
    }

    pub(super) fn leave_arm(&mut self) {
        self.arms.pop();
    }

    pub(super) fn scope(&self) -> Option<String> {
        self.scopes.last().cloned()
    }

    pub(super) fn arm(&self) -> Option<(String, usize)> {
        self.arms.last().cloned()
    }
}

/// The nodes as the JSON `Workflow::GRAPH` holds:
/// `{"version":1,"nodes":[{"id":"s0","kind":"step",…},…]}`. A node's
/// `target` is left out when it has none, so that the JSON of a graph without
/// targets is the same as before there were any.
pub(super) fn json(nodes: &[GraphNode]) -> String {
    let mut out = String::from("{\"version\":1,\"nodes\":[");
    for (i, node) in nodes.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let (open, label, close) = &node.shape;
        // After `site`, where `trailhead_core::picture::GraphNode` writes it.
        let target = node.target.as_deref().map_or_else(String::new, |target| {
            format!(",\"target\":{}", string(target))
        });
        let _ = write!(
            out,
            "{{\"id\":{},\"kind\":{},\"site\":{}{target},\"open\":{},\"label\":{},\
             \"close\":{},\"scope\":{},\"depth\":{},\"arm\":{},\"arms\":[{}]}}",
            string(&node.id),
            string(node.kind.as_str()),
            node.site
                .as_deref()
                .map_or_else(|| "null".to_owned(), string),
            string(open),
            string(label),
            string(close),
            node.scope
                .as_deref()
                .map_or_else(|| "null".to_owned(), string),
            node.depth,
            node.arm.as_ref().map_or_else(
                || "null".to_owned(),
                |(branch, arm)| format!("{{\"branch\":{},\"index\":{arm}}}", string(branch))
            ),
            node.arms
                .iter()
                .map(|arm| string(arm))
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    out.push_str("]}");
    out
}

/// A JSON string literal.
fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(string("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
    }

    #[test]
    fn nodes_are_written_with_every_field() {
        let node = GraphNode {
            id: "s0".to_owned(),
            kind: Kind::Step,
            site: Some("charge".to_owned()),
            target: Some("payments::charge".to_owned()),
            shape: ("[\"".to_owned(), "charge".to_owned(), "\"]".to_owned()),
            scope: Some("l1".to_owned()),
            depth: 1,
            arm: Some(("b2".to_owned(), 0)),
            arms: Vec::new(),
        };
        assert_eq!(
            json(&[node]),
            "{\"version\":1,\"nodes\":[{\"id\":\"s0\",\"kind\":\"step\",\"site\":\"charge\",\
             \"target\":\"payments::charge\",\"open\":\"[\\\"\",\"label\":\"charge\",\"close\":\"\\\"]\",\"scope\":\"l1\",\
             \"depth\":1,\"arm\":{\"branch\":\"b2\",\"index\":0},\"arms\":[]}]}"
        );
    }

    #[test]
    fn a_node_without_a_target_is_written_as_before_targets() {
        let node = GraphNode {
            id: "b0".to_owned(),
            kind: Kind::Branch,
            site: None,
            target: None,
            shape: ("{\"".to_owned(), "if ok".to_owned(), "\"}".to_owned()),
            scope: None,
            depth: 0,
            arm: None,
            arms: vec!["yes".to_owned(), "no".to_owned()],
        };
        assert_eq!(
            json(&[node]),
            "{\"version\":1,\"nodes\":[{\"id\":\"b0\",\"kind\":\"branch\",\"site\":null,\
             \"open\":\"{\\\"\",\"label\":\"if ok\",\"close\":\"\\\"}\",\"scope\":null,\
             \"depth\":0,\"arm\":null,\"arms\":[\"yes\",\"no\"]}]}"
        );
    }
}
