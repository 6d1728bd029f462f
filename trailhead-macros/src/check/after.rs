//! `.after(x)`: the binding or step a site waits for must exist before its
//! statement, in its block or outside it.

use std::collections::BTreeSet;

use crate::ctxt::Ctxt;
use crate::model::scope::{pattern_bindings, stmt_used_names};
use crate::model::walk::{block_nodes, child_blocks, stmt_own_sites, stmt_sites};
use crate::model::{Block, Stmt, Workflow};
use crate::suggest::did_you_mean;

/// Checks the `.after(..)` of every block of `workflow`, nested ones included.
pub(super) fn afters(cx: &Ctxt, workflow: &Workflow<'_>) {
    block(cx, workflow, &workflow.body);
    block_nodes(&workflow.body, &mut |node| {
        for inner in child_blocks(node) {
            block(cx, workflow, inner);
        }
    });
}

fn block(cx: &Ctxt, workflow: &Workflow<'_>, block: &Block<'_>) {
    let made = made_per_stmt(workflow, block);
    let outside = outside_names(workflow, block);
    for (i, stmt) in block.stmts.iter().enumerate() {
        // Nested blocks' sites are checked by their own block's pass.
        stmt_own_sites(stmt, &mut |_, options| {
            for ident in options.after.iter().flatten() {
                let name = ident.to_string();
                if made[..i].iter().any(|names| names.contains(&name)) {
                    continue;
                }
                let message = if made[i].contains(&name) {
                    format!("a statement cannot wait for itself (`{name}`)")
                } else if let Some(later) =
                    made[i + 1..].iter().position(|names| names.contains(&name))
                {
                    let needs_this = stmt_used_names(&block.stmts[i + 1 + later])
                        .iter()
                        .any(|used| made[i].contains(used));
                    if needs_this {
                        format!(
                            "ordering cycle: `{name}` needs what this statement makes, so this statement cannot wait for it"
                        )
                    } else {
                        format!(
                            "`{name}` comes later in the block: move this statement below it to wait for it"
                        )
                    }
                } else if outside.contains(&name) {
                    continue;
                } else {
                    let known: Vec<&str> = made
                        .iter()
                        .flatten()
                        .chain(outside.iter())
                        .map(String::as_str)
                        .collect();
                    match did_you_mean(&name, &known) {
                        Some(near) => format!(
                            "`.after({name})`: no binding or step `{name}`; did you mean `{near}`?"
                        ),
                        None => format!(
                            "`.after({name})`: no binding or step `{name}` before this statement"
                        ),
                    }
                };
                cx.error(ident.span(), message);
            }
        });
    }
}

/// What each statement of the block makes: bindings and step names.
fn made_per_stmt(workflow: &Workflow<'_>, block: &Block<'_>) -> Vec<BTreeSet<String>> {
    block
        .stmts
        .iter()
        .map(|stmt| {
            let mut names = BTreeSet::new();
            if let Stmt::Let { syntax, .. } = stmt {
                let mut bindings = Vec::new();
                pattern_bindings(&syntax.pat, &mut bindings);
                names.extend(bindings.iter().map(|b| b.ident.to_string()));
            }
            stmt_sites(stmt, &mut |site, _| {
                names.insert(workflow.sites[site].name.clone());
            });
            names
        })
        .collect()
}

/// The names a site may wait for from outside its block: the bindings visible
/// there and the steps defined before the block ends.
fn outside_names(workflow: &Workflow<'_>, block: &Block<'_>) -> BTreeSet<String> {
    let mut last_site = None;
    for stmt in &block.stmts {
        stmt_sites(stmt, &mut |site, _| last_site = last_site.max(Some(site)));
    }
    let before_end = last_site.map_or(0, |site| site + 1);
    block
        .outer
        .iter()
        .cloned()
        .chain(
            workflow.sites[..before_end]
                .iter()
                .map(|site| site.name.clone()),
        )
        .collect()
}
