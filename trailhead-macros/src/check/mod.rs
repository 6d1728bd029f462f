//! Checks: rules that need a whole workflow (or the whole macro input) to judge.
//!
//! Simple mistakes are reported while parsing; what is here looks across the model:
//! names that must be unique, code that cannot run, and plain code that would make a
//! replayed run differ from the original; and in a `#[saga]`, steps that
//! could not be undone.

mod after;
mod concurrency;
mod determinism;
mod names;
mod options;
mod reachability;
mod saga;

use crate::ctxt::Ctxt;
use crate::model::Workflow;
use crate::parse::Input;

/// Every rule on one workflow.
pub(crate) fn workflow(cx: &Ctxt, workflow: &Workflow<'_>) {
    options::site_options(cx, workflow);
    after::afters(cx, workflow);
    names::unique_step_names(cx, workflow);
    reachability::no_code_after_exit(cx, &workflow.body);
    determinism::deterministic_body(cx, workflow);
    concurrency::fan_outs(cx, &workflow.body);
    saga::every_step_undoable(cx, workflow);
}

/// Rules on the macro input as a whole.
pub(crate) fn input(cx: &Ctxt, input: &Input) {
    names::unique_workflow_names(cx, input);
}

/// For unit tests: every error that parsing, lowering and checking the
/// workflows of `tokens` report, in order.
#[cfg(test)]
pub(crate) fn errors_of(tokens: proc_macro2::TokenStream) -> Vec<String> {
    let cx = Ctxt::new();
    let input = Input::parse(&cx, quote::quote!((::trailhead) #tokens)).expect("`($crate)`");
    self::input(&cx, &input);
    for def in &input.workflows {
        let body = crate::parse::body(&cx, def).expect("the body parses");
        if let Some(workflow) = crate::model::lower(&cx, def, &body) {
            self::workflow(&cx, &workflow);
        }
    }
    match cx.check() {
        Ok(()) => Vec::new(),
        Err(errors) => errors.into_iter().map(|e| e.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests;
