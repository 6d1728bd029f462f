//! A run's picture drawn as SVG: the workflow's graph laid out by
//! `layout-rs`, each box filled by its state and labelled with what the
//! picture says there.
//!
//! Each box's group carries `data-node` (its Mermaid id) and `data-state`
//! (its state's name, `completed`, `running`, …) and the class
//! `state-{name}`, for the page's style and for tests; a node where the
//! debugger holds a step paused has the class `paused` too.

use std::collections::HashMap;

use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;
use trailhead_core::picture::{Edge, NodeKind, NodeState, RunPicture};

/// The text size of the labels, in pixels.
const FONT: usize = 14;

/// The picture as an SVG element (no XML declaration: it goes inline into
/// the page, and serves as a file as it is), the nodes `paused` (their ids)
/// marked.
pub(crate) fn draw(picture: &RunPicture, paused: &[&str]) -> String {
    if picture.nodes.is_empty() {
        return String::new();
    }
    let mut graph = VisualGraph::new(Orientation::TopToBottom);
    let mut handles = HashMap::new();
    for (node, drawn) in picture.graph().nodes().iter().zip(&picture.nodes) {
        let mut label = node.text();
        if let Some(status) = drawn.status_text() {
            label.push('\n');
            label.push_str(&status);
        }
        let shape = ShapeKind::new_box(&label);
        let size = get_shape_size(Orientation::TopToBottom, &shape, FONT, false);
        let (fill, line) = colors(&drawn.state);
        let rounded = match node.kind {
            NodeKind::Start | NodeKind::End => 18,
            NodeKind::Branch | NodeKind::Loop | NodeKind::FanOut => 8,
            _ => 3,
        };
        let look = StyleAttr::new(line, 2, Some(fill), rounded, FONT);
        let state = drawn.state.name();
        let mark = if paused.contains(&node.id.as_str()) {
            " paused"
        } else {
            ""
        };
        let properties = format!(
            "class=\"node state-{state}{mark}\" data-node=\"{}\" data-state=\"{state}\"",
            attribute(&node.id)
        );
        let element = Element::create_with_properties(
            shape,
            look,
            Orientation::TopToBottom,
            size,
            properties,
        );
        handles.insert(node.id.clone(), graph.add_node(element));
    }
    for edge in leave_from_bodies(picture) {
        let (Some(&from), Some(&to)) = (handles.get(&edge.from), handles.get(&edge.to)) else {
            continue;
        };
        let style = if edge.dotted {
            LineStyleKind::Dashed
        } else {
            LineStyleKind::Normal
        };
        let arrow = Arrow::new(
            LineEndKind::None,
            LineEndKind::Arrow,
            style,
            edge.label.as_deref().unwrap_or_default(),
            &StyleAttr::new(Color::new(0x6b7280ff), 2, None, 0, FONT - 2),
            &None,
            &None,
        );
        graph.add_edge(arrow, from, to);
    }
    let mut svg = SVGWriter::new();
    graph.do_it(false, false, false, &mut svg);
    let text = svg.finalize();
    match text.find("<svg") {
        Some(at) => text[at..].to_owned(),
        None => text,
    }
}

/// The picture's arrows, an arrow that leaves a fan-out leaving from the
/// end of its body instead: without Mermaid's box around the body, the
/// body reads as the step between the fan-out and what follows it.
fn leave_from_bodies(picture: &RunPicture) -> Vec<Edge> {
    let edges = picture.edges();
    let graph = picture.graph();
    let inside = |node: &str, fan_out: &str| {
        let mut scope = graph.node(node).and_then(|node| node.scope.clone());
        while let Some(around) = scope {
            if around == fan_out {
                return true;
            }
            scope = graph.node(&around).and_then(|node| node.scope.clone());
        }
        false
    };
    let mut drawn = Vec::with_capacity(edges.len());
    for edge in &edges {
        let is_fan_out = graph
            .node(&edge.from)
            .is_some_and(|node| node.kind == NodeKind::FanOut);
        if !is_fan_out || inside(&edge.to, &edge.from) {
            drawn.push(edge.clone());
            continue;
        }
        // The body's last nodes: inside the fan-out, with no arrow to
        // another node inside it.
        let ends: Vec<&str> = graph
            .nodes()
            .iter()
            .filter(|node| node.scope.as_deref() == Some(edge.from.as_str()))
            .filter(|node| {
                !edges
                    .iter()
                    .any(|next| next.from == node.id && inside(&next.to, &edge.from))
            })
            .map(|node| node.id.as_str())
            .collect();
        if ends.is_empty() {
            drawn.push(edge.clone());
        }
        for end in ends {
            let mut rerouted = edge.clone();
            rerouted.from = end.to_owned();
            drawn.push(rerouted);
        }
    }
    drawn
}

/// A box's fill and line colours for `state` (the diagram's classes'
/// colours, as `RunPicture::to_mermaid` writes them).
fn colors(state: &NodeState) -> (Color, Color) {
    let (fill, line) = match state {
        NodeState::NotReached => (0xf5f5f5, 0xbdbdbd),
        NodeState::Running { .. } => (0xdbeafe, 0x2563eb),
        NodeState::Retrying { .. } => (0xfef3c7, 0xd97706),
        NodeState::Completed { .. } => (0xdcfce7, 0x16a34a),
        NodeState::Replayed => (0xe0f2fe, 0x0284c7),
        NodeState::Failed { .. } => (0xfee2e2, 0xdc2626),
        NodeState::FellBack => (0xffedd5, 0xea580c),
        NodeState::Compensated => (0xede9fe, 0x7c3aed),
        _ => (0xfafafa, 0xbdbdbd),
    };
    (Color::new(fill << 8 | 0xff), Color::new(line << 8 | 0xff))
}

/// `text` safe inside a double-quoted XML attribute.
fn attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}
