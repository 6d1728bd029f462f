//! Unit tests of the graph phases: which blocks run as a graph, and what each
//! statement waits for.

use proc_macro2::TokenStream;
use quote::quote;

use super::Plan;
use crate::model::with_workflow;

/// The plan of the body of `workflow w() -> Result<u32, E> { body }`, as
/// `(groups, waits per statement)`; `None` when the body runs in order.
type Waits = Vec<(usize, Vec<(usize, Vec<String>)>)>;

fn plan_of(body: TokenStream) -> Option<(Vec<Vec<usize>>, Waits)> {
    with_workflow(
        quote!(workflow w(n: u32) -> Result<u32, E> { #body }),
        |workflow| workflow.body.plan.as_ref().map(summary),
    )
}

fn summary(plan: &Plan) -> (Vec<Vec<usize>>, Waits) {
    let waits = plan
        .stmts
        .iter()
        .filter(|(_, stmt)| !stmt.waits.is_empty())
        .map(|(&i, stmt)| {
            let on = stmt
                .waits
                .iter()
                .map(|(&j, names)| (j, names.iter().cloned().collect()))
                .collect();
            (i, on)
        })
        .collect();
    (plan.groups.clone(), waits)
}

#[test]
fn independent_steps_run_as_a_graph() {
    let (groups, waits) = plan_of(quote! {
        let a = step fetch(n);
        let b = step price(n);
        Ok(a + b)
    })
    .expect("a graph");
    assert_eq!(groups, vec![vec![0], vec![1]]);
    assert!(waits.is_empty(), "{waits:?}");
}

#[test]
fn a_reader_waits_for_the_statements_it_reads() {
    let (groups, waits) = plan_of(quote! {
        let a = step fetch(n);
        let b = step price(n);
        let c = step total(a, b);
        Ok(c)
    })
    .expect("a graph");
    assert_eq!(groups.len(), 3);
    assert_eq!(
        waits,
        vec![(
            2,
            vec![(0, vec!["a".to_owned()]), (1, vec!["b".to_owned()])]
        )]
    );
}

#[test]
fn a_chain_runs_in_order() {
    assert!(
        plan_of(quote! {
            let a = step fetch(n);
            let b = step price(a);
            Ok(b)
        })
        .is_none()
    );
}

#[test]
fn statements_sharing_a_mut_binding_form_one_group() {
    let (groups, _) = plan_of(quote! {
        let mut total = 0;
        total += step fetch(n);
        total += step price(n);
        let other = step audit(n);
        Ok(total + other)
    })
    .expect("a graph");
    assert_eq!(groups, vec![vec![0, 1, 2], vec![3]]);
}

#[test]
fn after_a_step_is_a_wait_without_bindings() {
    // `.after(fetch)` names the step, not a binding: nothing is read from it.
    let (_, waits) = plan_of(quote! {
        let a = step fetch(n);
        let b = step price(n).after(fetch);
        let c = step audit(n);
        Ok(a + b + c)
    })
    .expect("a graph");
    assert_eq!(waits, vec![(1, vec![(0, Vec::new())])]);
}

#[test]
fn sleeps_exits_missing_values_and_sequential_blocks_run_in_order() {
    let ineligible = [
        quote! { let a = step fetch(n); sleep 5s; let b = step price(n); Ok(a + b) },
        quote! {
            let a = step fetch(n);
            if a > 1 { return Ok(a); }
            let b = step price(n);
            Ok(a + b)
        },
        quote! { let c; let a = step fetch(n); let b = step price(n); c = a; Ok(b + c) },
        quote! { sequential { let a = step fetch(n); let b = step price(n); Ok(a + b) } },
    ];
    for body in ineligible {
        let text = body.to_string();
        let plan = with_workflow(
            quote!(workflow w(n: u32) -> Result<u32, E> { #body }),
            |workflow| {
                // A `sequential { .. }` block is the body's only statement.
                let block = match workflow.body.stmts.as_slice() {
                    [
                        crate::model::Stmt::Expr {
                            node: crate::model::Node::Block(inner),
                            ..
                        },
                    ] => inner,
                    _ => &workflow.body,
                };
                block.plan.as_ref().map(summary)
            },
        );
        assert!(plan.is_none(), "{text}: {plan:?}");
    }
}
