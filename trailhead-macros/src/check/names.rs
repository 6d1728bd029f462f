//! Names that must be unique: workflows in one macro call, steps in one workflow.

use std::collections::HashSet;

use crate::ctxt::Ctxt;
use crate::model::Workflow;
use crate::parse::Input;

/// Two sites with one name would share a journal key: the second would replay the
/// first's output.
pub(super) fn unique_step_names(cx: &Ctxt, workflow: &Workflow<'_>) {
    let mut seen = HashSet::new();
    for site in &workflow.sites {
        if !seen.insert(site.name.as_str()) {
            cx.error(
                site.span,
                format!(
                    "duplicate step name `{}`: step names are journal keys and must be unique within a workflow",
                    site.name
                ),
            );
        }
    }
}

pub(super) fn unique_workflow_names(cx: &Ctxt, input: &Input) {
    let mut seen = HashSet::new();
    for def in &input.workflows {
        if !seen.insert(def.name.to_string()) {
            cx.error(
                def.name.span(),
                format!("duplicate workflow name `{}`", def.name),
            );
        }
    }
}
