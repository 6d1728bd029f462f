//! The structural hash of a workflow definition.
//!
//! It covers what a journal depends on: the signature, every step and call site with
//! its key name and the function it calls, and the shape of branches and loops
//! (through the diagram text, which draws exactly that). Plain Rust between steps is
//! not hashed: changing a format string does not strand running workflows. The hash
//! is FNV-1a, written out here because it is ten lines and must never change between
//! releases (a dependency's hasher may).

use quote::ToTokens;

use crate::model::{Block, Else, LoopKind, Node, Rust, Stmt, Workflow};
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

fn targets(block: &Block<'_>, text: &mut String) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let {
                init: Some(node), ..
            }
            | Stmt::Expr { node, .. } => node_targets(node, text),
            Stmt::Let { init: None, .. } | Stmt::Item(_) => {}
        }
    }
}

fn node_targets(node: &Node<'_>, text: &mut String) {
    let target = |t: &Target, text: &mut String| {
        text.push('\n');
        match t {
            Target::Function { func, .. } => text.push_str(&func.to_token_stream().to_string()),
            Target::Method { method, .. } => {
                text.push('.');
                text.push_str(&method.to_string());
            }
        }
    };
    match node {
        Node::Step(step) => target(&step.syntax.target, text),
        Node::Call(call) => target(&call.syntax.target, text),
        Node::If(branch) => {
            rust_targets(&branch.cond, text);
            targets(&branch.then_branch, text);
            let mut rest = branch.else_branch.as_ref();
            while let Some(next) = rest {
                match next {
                    Else::If(inner) => {
                        rust_targets(&inner.cond, text);
                        targets(&inner.then_branch, text);
                        rest = inner.else_branch.as_ref();
                    }
                    Else::Block(block) => {
                        targets(block, text);
                        rest = None;
                    }
                }
            }
        }
        Node::Match(branch) => {
            rust_targets(&branch.scrutinee, text);
            for arm in &branch.arms {
                if let Some(guard) = &arm.guard {
                    rust_targets(guard, text);
                }
                node_targets(&arm.body, text);
            }
        }
        Node::Loop(looped) => {
            match &looped.kind {
                LoopKind::For { expr, .. } => rust_targets(expr, text),
                LoopKind::While { cond } => rust_targets(cond, text),
                LoopKind::Loop => {}
            }
            targets(&looped.body, text);
        }
        Node::FanOut(fan_out) => {
            rust_targets(&fan_out.expr, text);
            targets(&fan_out.body, text);
        }
        Node::Block(block) => targets(block, text),
        Node::Rust(rust) => rust_targets(rust, text),
    }
}

fn rust_targets(rust: &Rust<'_>, text: &mut String) {
    rust.sites.iter().for_each(|site| node_targets(site, text));
}

fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
    })
}
