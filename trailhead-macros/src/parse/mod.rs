//! Syntax: the tokens of a `workflow!` call, with their spans, one file per construct.

mod block;
mod branch;
mod call;
mod duration;
mod fan_out;
mod loops;
pub(crate) mod marker;
mod mistakes;
pub(crate) mod options;
mod rust;
mod signal;
mod sleep;
mod step;
mod workflow;

pub(crate) use block::{Block, Let, Node, Stmt};
pub(crate) use branch::{Arm, Else, If, Match};
pub(crate) use call::Call;
pub(crate) use duration::DurationLit;
pub(crate) use fan_out::FanOut;
pub(crate) use rust::{Rust, Site};
pub(crate) use signal::Signal;
pub(crate) use sleep::Sleep;
pub(crate) use step::{RawOption, Step, Target};
pub(crate) use workflow::WorkflowDef;

use proc_macro2::TokenStream;
use syn::parse::{ParseStream, Parser};

use crate::ctxt::Ctxt;

/// `($crate) workflow_def*`: what the public `workflow!` passes on.
pub(crate) struct Input {
    /// The path of the runtime crate, as seen from the caller (`$crate`).
    pub(crate) krate: TokenStream,
    pub(crate) workflows: Vec<WorkflowDef>,
}

impl Input {
    /// Parses the whole call. A workflow whose signature cannot be read is reported
    /// to `cx` and skipped up to its body, so that the workflows after it still
    /// expand; `Err` only when not even `($crate)` is there.
    pub(crate) fn parse(cx: &Ctxt, tokens: TokenStream) -> syn::Result<Self> {
        let parser = |input: ParseStream<'_>| {
            let krate;
            syn::parenthesized!(krate in input);
            let krate: TokenStream = krate.parse()?;
            let mut workflows = Vec::new();
            let mut mistakes = false;
            while !input.is_empty() {
                match WorkflowDef::parse_with(cx, input) {
                    Ok(def) => workflows.push(def),
                    Err(error) => {
                        cx.push(error);
                        mistakes = true;
                        skip_past_body(input);
                    }
                }
            }
            if workflows.is_empty() && !mistakes {
                cx.push(
                    input.error("expected at least one `workflow name(..) -> Result<T, E> { .. }`"),
                );
            }
            Ok(Input { krate, workflows })
        };
        parser.parse2(tokens)
    }
}

/// The body of `def`, parsed, with every mistake in it reported to `cx`;
/// `None` when it does not parse.
pub(crate) fn body(cx: &Ctxt, def: &WorkflowDef) -> Option<Block> {
    match syn::parse2::<Block>(def.body_group()) {
        Ok(body) => {
            mistakes::block(cx, &body);
            Some(body)
        }
        Err(error) => {
            cx.push(error);
            None
        }
    }
}

/// Skips the rest of a definition that did not parse: up to and including the
/// next `{ .. }` (its body), or to the end.
fn skip_past_body(input: ParseStream<'_>) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tree, next)) = rest.token_tree() {
            rest = next;
            if matches!(&tree, proc_macro2::TokenTree::Group(group)
                if group.delimiter() == proc_macro2::Delimiter::Brace)
            {
                break;
            }
        }
        Ok(((), rest))
    });
}

/// For unit tests: the workflows of `tokens` (after `($crate)`), which must parse.
#[cfg(test)]
pub(crate) fn input_of(tokens: TokenStream) -> Input {
    let cx = Ctxt::new();
    let input = Input::parse(&cx, tokens).expect("`($crate)` is there");
    cx.check().expect("the signatures parse");
    input
}

#[cfg(test)]
mod tests;
