//! Syntax: the tokens of a `workflow!` call, with their spans, one file per construct.

mod block;
mod branch;
mod call;
mod duration;
mod fan_out;
mod loops;
pub(crate) mod marker;
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
pub(crate) use options::{Backoff, Retry, RetryPolicy, StepOptions, Timeout};
pub(crate) use rust::{Rust, Site};
pub(crate) use signal::{Signal, SignalTimeout};
pub(crate) use sleep::{Sleep, SleepFor};
pub(crate) use step::{RawOption, Step, Target};
pub(crate) use workflow::WorkflowDef;

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream};

/// `($crate) workflow_def*`: what the public `workflow!` passes on.
pub(crate) struct Input {
    /// The path of the runtime crate, as seen from the caller (`$crate`).
    pub(crate) krate: TokenStream,
    pub(crate) workflows: Vec<WorkflowDef>,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let krate;
        syn::parenthesized!(krate in input);
        let krate: TokenStream = krate.parse()?;
        let mut workflows = Vec::new();
        while !input.is_empty() {
            workflows.push(input.parse()?);
        }
        if workflows.is_empty() {
            return Err(
                input.error("expected at least one `workflow name(..) -> Result<T, E> { .. }`")
            );
        }
        Ok(Input { krate, workflows })
    }
}

#[cfg(test)]
mod tests;
