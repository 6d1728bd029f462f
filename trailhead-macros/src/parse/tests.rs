//! Parser unit tests: `syn::parse2(quote!{..})`, no compiler run.

use quote::quote;

use super::{Block, Node, Stmt, Target};
use crate::ctxt::Ctxt;
use crate::{check, mermaid, model};

fn parse_body(tokens: proc_macro2::TokenStream) -> syn::Result<Block> {
    syn::parse2(super::marker::mark_sites(quote!({ #tokens })))
}

fn error_of(tokens: proc_macro2::TokenStream) -> String {
    match parse_body(tokens) {
        Ok(_) => panic!("expected a parse error"),
        Err(error) => error.to_string(),
    }
}

/// Parses, lowers and checks one workflow; returns every error message.
fn check_errors(tokens: proc_macro2::TokenStream) -> Vec<String> {
    check::errors_of(tokens)
}

#[test]
fn a_full_workflow_parses() {
    let input = crate::parse::input_of(quote! {
        (::trailhead)
        /// Docs.
        pub workflow greet(name: String, times: u32) -> Result<String, MyError> {
            let user = step fetch_user(&name).retry(3, backoff = 100ms..10s).timeout(5s);
            step blocking hash(user.clone());
            if user.vip { step gift(&user); } else { step note(&user); }
            match user.tier { Tier::Gold => step gold(), _ => {} }
            for i in 0..times { step ping(i); }
            'outer: while times > 0 { break 'outer; }
            let child = call other(1);
            Ok(format!("{user:?}{child}"))
        }
        workflow other(x: u32) -> Result<u32, MyError> { Ok(x) }
    });
    assert_eq!(input.workflows.len(), 2);
    assert_eq!(input.workflows[0].name, "greet");
    assert_eq!(input.workflows[0].params.len(), 2);
    let body: Block = syn::parse2(input.workflows[0].body_group()).unwrap();
    assert_eq!(body.stmts.len(), 8);
    let Stmt::Let(first) = &body.stmts[0] else {
        panic!("first statement is a let")
    };
    let Some((_, Node::Step(step))) = &first.init else {
        panic!("bound to a step")
    };
    assert_eq!(step.options.written.len(), 2);
    assert!(matches!(step.target, Target::Function { .. }));
    assert!(matches!(
        body.stmts.last(),
        Some(Stmt::Expr(Node::Rust(_), None))
    ));
}

#[test]
fn method_steps_keep_their_receiver() {
    let body = parse_body(quote!(let page = step client.fetch(&url).timeout(2s);)).unwrap();
    let Stmt::Let(binding) = &body.stmts[0] else {
        panic!()
    };
    let Some((_, Node::Step(step))) = &binding.init else {
        panic!()
    };
    assert_eq!(step.target.default_name().unwrap(), "fetch");
    assert_eq!(step.options.written.len(), 1);
}

#[test]
fn a_step_needs_a_call() {
    assert!(error_of(quote!(step;)).contains("expected a function call after `step`"));
    assert!(error_of(quote!(step 5;)).contains("expected a function call after `step`"));
    assert!(error_of(quote!(step f().await;)).contains("remove this `.await`"));
    assert!(error_of(quote!(step f()?;)).contains("remove this `?`"));
}

#[test]
fn misspelled_constructs_are_named() {
    assert!(error_of(quote!(stpe f();)).contains("did you mean `step`?"));
    assert!(error_of(quote!(frobnicate f();)).contains("unknown construct `frobnicate`"));
}

#[test]
fn steps_stand_inside_expressions_too() {
    let body = parse_body(quote! {
        total += step price(&item).retry(3);
        if step ready(id) { step go(); }
        Ok(call finish(id))
    })
    .unwrap();
    let Stmt::Expr(Node::Rust(rust), Some(_)) = &body.stmts[0] else {
        panic!("a compound assignment is plain Rust with a step inside")
    };
    assert_eq!(rust.sites.len(), 1);
    let Stmt::Expr(Node::If(branch), None) = &body.stmts[1] else {
        panic!("an if")
    };
    assert_eq!(branch.cond.sites.len(), 1);
    let Stmt::Expr(Node::Rust(tail), None) = &body.stmts[2] else {
        panic!("the tail")
    };
    assert!(matches!(tail.sites[0], super::Site::Call(_)));
    let error = parse_body(quote!(step charge(step price(1));))
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("a step's argument cannot contain a step"),
        "{error}"
    );
}

#[test]
fn missing_semicolons_are_reported() {
    assert!(error_of(quote!(step f() step g();)).contains("expected `;`"));
}

#[test]
fn options_are_checked_together() {
    let errors = check_errors(quote! {
        workflow w() -> Result<(), E> {
            step a().retry(0);
            step b().timeout(0s);
            step c().retry(2).retry(3);
            step d().retyr(2);
            step e().timeout(5mx);
            Ok(())
        }
    });
    assert_eq!(errors.len(), 5, "{errors:#?}");
    assert!(errors[0].contains("at least 1 attempt"));
    assert!(errors[1].contains("greater than zero"));
    assert!(errors[2].contains("duplicate step option `retry`"));
    assert!(errors[3].contains("did you mean `retry`?"));
    assert!(errors[4].contains("unknown unit `mx`"));
}

#[test]
fn repeated_functions_get_numbered_keys_and_explicit_names_must_be_unique() {
    let input = crate::parse::input_of(quote! {
        (::trailhead)
        workflow w() -> Result<(), E> {
            step ping();
            step ping();
            step pong().name("x");
            Ok(())
        }
    });
    let body: Block = syn::parse2(input.workflows[0].body_group()).unwrap();
    let cx = Ctxt::new();
    let workflow = model::lower(&cx, &input.workflows[0], &body).unwrap();
    cx.check().unwrap();
    let names: Vec<&str> = workflow.sites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["ping", "ping#2", "x"]);

    let errors = check_errors(quote! {
        workflow w() -> Result<(), E> {
            step a().name("same");
            step b().name("same");
            Ok(())
        }
    });
    assert_eq!(errors.len(), 1);
    assert!(errors[0].contains("duplicate step name `same`"));
}

#[test]
fn non_determinism_and_awaits_are_refused() {
    let errors = check_errors(quote! {
        workflow w() -> Result<(), E> {
            let now = std::time::SystemTime::now();
            let roll = rand::random::<u8>();
            let page = fetch().await;
            step record(Instant::now());
            Ok(())
        }
    });
    assert_eq!(errors.len(), 4, "{errors:#?}");
    assert!(errors[0].contains("`std::time::SystemTime::now()` is not deterministic"));
    assert!(errors[1].contains("`rand::random()` is not deterministic"));
    assert!(errors[2].contains("`.await` outside a step"));
    assert!(errors[3].contains("`Instant::now()` is not deterministic"));
}

#[test]
fn code_after_return_is_refused() {
    let errors = check_errors(quote! {
        workflow w(x: u32) -> Result<(), E> {
            for i in 0..x {
                continue;
                step never(i);
            }
            return Ok(());
            step never_either();
        }
    });
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors.iter().all(|e| e.contains("unreachable code")));
}

#[test]
fn workflow_names_and_return_types_are_checked() {
    let errors = check_errors(quote! {
        workflow w() -> Result<(), E> { Ok(()) }
        workflow w() -> u32 { 5 }
    });
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].contains("duplicate workflow name `w`"));
    assert!(errors[1].contains("must return `Result<T, E>`"));
}

#[test]
fn the_diagram_draws_steps_branches_loops_and_calls() {
    let input = crate::parse::input_of(quote! {
        (::trailhead)
        workflow order(order: Order) -> Result<(), E> {
            let paid = step charge(&order).retry(3, backoff = 100ms..10s);
            if order.express {
                step ship_fast(&order);
            }
            for item in &order.items {
                step pack(item).timeout(5s);
            }
            call notify(&order);
            Ok(())
        }
    });
    let body: Block = syn::parse2(input.workflows[0].body_group()).unwrap();
    let cx = Ctxt::new();
    let workflow = model::lower(&cx, &input.workflows[0], &body).unwrap();
    cx.check().unwrap();
    let diagram = mermaid::render(&workflow);
    // Every statement reads only `order`, so all run at once from the start.
    let expected = r#"flowchart TD
    start(["order(order)"])
    s0["charge<br/><small>retry 3 (100ms..10s)</small>"]
    start --> s0
    b0{"if order.express"}
    start --> b0
    s1["ship_fast"]
    b0 -->|"yes"| s1
    l1{{"for item in &order.items"}}
    start --> l1
    s2["pack<br/><small>timeout 5s</small>"]
    l1 -->|"each"| s2
    s2 -.->|"next"| l1
    s3[["call notify"]]
    start --> s3
    finish(["end"])
    s0 --> finish
    s1 --> finish
    b0 -->|"no"| finish
    l1 -->|"done"| finish
    s3 --> finish
"#;
    assert_eq!(diagram.text, expected);
    let again = mermaid::render(&workflow);
    assert_eq!(diagram.text, again.text, "the diagram is a pure function");
}
