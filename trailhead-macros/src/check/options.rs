//! Rules on the options of one site that depend on what the site is: a `call`
//! takes none of a step's policies, a step is either undone or irreversible.

use crate::ctxt::Ctxt;
use crate::model::walk::block_nodes;
use crate::model::{Node, Workflow};
use crate::parse::options::{
    BREAKER, COMPENSATE, FALLBACK, IRREVERSIBLE, RESOURCE, RETRY, TIMEOUT,
};

/// Options of a step that a call is not given: the called workflow's steps
/// carry their own.
const NOT_ON_CALLS: &[&str] = &[RETRY, TIMEOUT, RESOURCE, FALLBACK, BREAKER];

pub(super) fn site_options(cx: &Ctxt, workflow: &Workflow<'_>) {
    block_nodes(&workflow.body, &mut |node| match node {
        Node::Call(call) => {
            for raw in &call.syntax.options.written {
                let method = &raw.method;
                if method == COMPENSATE || method == IRREVERSIBLE {
                    cx.error(
                        method.span(),
                        format!(
                            "`{method}` is not supported on `call`: a call is undone by the compensations of the called workflow's steps"
                        ),
                    );
                }
                if NOT_ON_CALLS.iter().any(|option| method == option) {
                    cx.error(
                        method.span(),
                        format!(
                            "`{method}` is not supported on `call`: set it on the steps of the called workflow"
                        ),
                    );
                }
            }
        }
        Node::Step(step) => {
            if let (Some(_), Some(irreversible)) =
                (&step.options.compensate, &step.options.irreversible)
            {
                cx.error(
                    irreversible.span(),
                    "a step with a compensation is not irreversible: keep one of the two",
                );
            }
        }
        _ => {}
    });
}
