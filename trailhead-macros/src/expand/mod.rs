//! Expansion: the model as Rust code.
//!
//! Each workflow becomes a unit struct named like the workflow (a generic one a
//! tuple struct, see `generic`), implementing the runtime's `Workflow` trait; its body becomes one `async` block in which every step
//! and call goes through the run's context. Generated code names the runtime only as
//! `$crate::__private::…` and its own locals with mixed-site hygiene, so neither can
//! clash with the user's names.

mod block;
mod continued;
mod fan_out;
mod generic;
mod graph;
mod paths;
mod policy;
mod shared;
mod skeleton;
mod step;
mod stream;
mod workflow;

use proc_macro2::TokenStream;

use crate::ctxt::Ctxt;
use crate::parse::{self, Input};
use crate::{check, hash, mermaid, model};

pub(crate) use paths::Paths;

/// The whole `workflow!` call: every workflow, or its skeleton and errors.
pub(crate) fn workflows(input: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let input = match Input::parse(&cx, input) {
        Ok(input) => input,
        Err(error) => {
            cx.push(error);
            return cx
                .check()
                .err()
                .map(|e| e.to_compile_error())
                .unwrap_or_default();
        }
    };
    check::input(&cx, &input);
    let paths = Paths::new(input.krate.clone());
    let mut out = TokenStream::new();
    let mut names = std::collections::HashSet::new();
    for def in &input.workflows {
        // A second workflow of the same name is reported by `check::input`;
        // expanding it too would only add the compiler's "defined twice".
        if !names.insert(def.name.to_string()) {
            continue;
        }
        let errors_before = cx.error_count();
        let body = parse::body(&cx, def);
        let expanded = body.as_ref().and_then(|body| {
            model::lower(&cx, def, body).and_then(|workflow| {
                check::workflow(&cx, &workflow);
                (cx.error_count() == errors_before).then(|| {
                    let diagram = mermaid::render(&workflow);
                    let hash = hash::definition_hash(&workflow);
                    workflow::expand(&paths, &workflow, &diagram, hash)
                })
            })
        });
        out.extend(expanded.unwrap_or_else(|| skeleton::skeleton(&paths, def)));
    }
    if let Err(errors) = cx.check() {
        out.extend(errors.to_compile_error());
    }
    out
}
