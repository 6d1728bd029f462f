//! The structural hash of a workflow definition.
//!
//! It covers what a journal depends on: the signature, every step and call site with
//! its key name and the function it calls, and the shape of branches and loops
//! (through the diagram text, which draws exactly that). Plain Rust between steps is
//! not hashed: changing a format string does not strand running workflows. The hash
//! is FNV-1a, written out here because it is ten lines and must never change between
//! releases (a dependency's hasher may).

use quote::ToTokens;

use crate::model::walk::block_nodes;
use crate::model::{Block, Node, Workflow};
use crate::parse::Target;

pub(crate) fn definition_hash(workflow: &Workflow<'_>, diagram: &str) -> u64 {
    let mut text = String::new();
    text.push_str(&workflow.def.name.to_string());
    for param in &workflow.def.params {
        text.push('|');
        text.push_str(&param.ty.to_token_stream().to_string());
    }
    text.push_str("->");
    text.push_str(&workflow.def.output.to_token_stream().to_string());
    text.push('\n');
    text.push_str(diagram);
    targets(&workflow.body, &mut text);
    fnv1a(text.as_bytes())
}

/// The function each step and call invokes, in definition order.
fn targets(block: &Block<'_>, text: &mut String) {
    block_nodes(block, &mut |node| {
        let target = match node {
            Node::Step(step) => &step.syntax.target,
            Node::Call(call) => &call.syntax.target,
            Node::Sleep(_) => {
                text.push_str("\nsleep");
                return;
            }
            Node::Signal(signal) => {
                text.push_str("\nsignal ");
                text.push_str(&signal.syntax.name.value());
                return;
            }
            _ => return,
        };
        text.push('\n');
        match target {
            Target::Function { func, .. } => text.push_str(&func.to_token_stream().to_string()),
            Target::Method { method, .. } => {
                text.push('.');
                text.push_str(&method.to_string());
            }
        }
    });
}

fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
    })
}
