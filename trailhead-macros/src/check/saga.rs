//! `#[saga]`: every step either compensates or says it needs no undoing.

use crate::ctxt::Ctxt;
use crate::model::walk::block_nodes;
use crate::model::{Node, Workflow};

/// In a workflow marked `#[saga]`, reports each step that has neither
/// `.compensate(..)` nor `.irreversible()`. Calls are undone by the called
/// workflow's own compensations; sleeps and signals change nothing outside.
pub(super) fn every_step_undoable(cx: &Ctxt, workflow: &Workflow<'_>) {
    if workflow.def.saga.is_none() {
        return;
    }
    block_nodes(&workflow.body, &mut |node| {
        if let Node::Step(step) = node
            && step.options.compensate.is_none()
            && step.options.irreversible.is_none()
        {
            let name = &workflow.sites[step.site].name;
            cx.error(
                step.syntax.target.span(),
                format!(
                    "step `{name}` has no compensation: `#[saga]` asks every step for \
                     `.compensate(undo)`, or `.irreversible()` when nothing needs undoing"
                ),
            );
        }
    });
}
