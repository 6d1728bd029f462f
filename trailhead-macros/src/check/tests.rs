//! Unit tests of the rules: each mistake a rule reports, and the code it accepts.

use quote::quote;

use super::errors_of;

#[test]
fn after_must_name_an_earlier_binding_or_step() {
    let errors = errors_of(quote! {
        workflow w(n: u32) -> Result<u32, E> {
            let paid = step charge(n);
            let shipped = step ship(n).after(paid);
            let noted = step note(n).after(charge, shiped);
            let later = step audit(n).after(afterwards);
            let own = step own(n).after(own);
            let afterwards = step last(n);
            Ok(paid + shipped + noted + later + own + afterwards)
        }
    });
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors[0].contains("did you mean `shipped`?"), "{errors:#?}");
    assert!(
        errors[1].contains("`afterwards` comes later"),
        "{errors:#?}"
    );
    assert!(errors[2].contains("cannot wait for itself"), "{errors:#?}");
}

#[test]
fn an_after_in_a_nested_block_is_checked_once_in_its_own_block() {
    let errors = errors_of(quote! {
        workflow w(n: u32) -> Result<u32, E> {
            if n > 1 {
                step first(n);
                step second(n).after(first);
                step third(n).after(missing);
            }
            Ok(n)
        }
    });
    // Waiting for an earlier step of the same block is fine; the unknown
    // name is one error, not one per enclosing block.
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains("no binding or step `missing`"),
        "{errors:#?}"
    );
}

#[test]
fn after_may_name_what_is_outside_the_block() {
    let errors = errors_of(quote! {
        workflow w(n: u32) -> Result<u32, E> {
            let paid = step charge(n);
            if n > 1 {
                step ship(n).after(paid);
                step note(n).after(charge, n);
            }
            Ok(paid)
        }
    });
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn waiting_for_a_statement_that_needs_this_one_is_a_cycle() {
    let errors = errors_of(quote! {
        workflow w(n: u32) -> Result<u32, E> {
            let a = step first(n).after(b);
            let b = step second(a);
            Ok(b)
        }
    });
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("ordering cycle"), "{errors:#?}");
}

#[test]
fn a_call_takes_no_step_policy() {
    let errors = errors_of(quote! {
        workflow w(n: u32) -> Result<u32, E> {
            let a = call other(n).retry(3).irreversible().name("child");
            Ok(a)
        }
    });
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].contains("`retry` is not supported on `call`: set it on the steps"),
        "{errors:#?}"
    );
    assert!(
        errors[1].contains("`irreversible` is not supported on `call`: a call is undone"),
        "{errors:#?}"
    );
}

#[test]
fn a_step_is_either_compensated_or_irreversible() {
    let errors = errors_of(quote! {
        workflow w(n: u32) -> Result<u32, E> {
            let a = step charge(n).compensate(refund).irreversible();
            let b = step ship(n).irreversible();
            Ok(a + b)
        }
    });
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("not irreversible"), "{errors:#?}");
}

#[test]
fn a_saga_asks_every_step_for_an_undo() {
    let errors = errors_of(quote! {
        #[saga]
        workflow w(n: u32) -> Result<u32, E> {
            let a = step charge(n).compensate(refund);
            let b = step ship(n).irreversible();
            let c = step note(n);
            let d = call other(n);
            Ok(a + b + c + d)
        }
    });
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains("step `note` has no compensation"),
        "{errors:#?}"
    );
}

#[test]
fn names_must_be_unique() {
    let errors = errors_of(quote! {
        workflow w(n: u32) -> Result<u32, E> {
            let a = step charge(n).name("pay");
            let b = step ship(n).name("pay");
            Ok(a + b)
        }
        workflow w(n: u32) -> Result<u32, E> {
            Ok(n)
        }
    });
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].contains("duplicate workflow name `w`"),
        "{errors:#?}"
    );
    assert!(
        errors[1].contains("duplicate step name `pay`"),
        "{errors:#?}"
    );
}

#[test]
fn a_fan_out_shares_no_mut_binding_and_runs_at_least_one_at_a_time() {
    let errors = errors_of(quote! {
        workflow w(items: Vec<u32>) -> Result<u32, E> {
            let mut total = 0;
            parallel(limit = 0) for item in &items {
                total += step price(item);
            }
            Ok(total)
        }
    });
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].contains("at least 1"), "{errors:#?}");
    assert!(
        errors[1].contains("`total` is a `mut` binding"),
        "{errors:#?}"
    );
}

#[test]
fn code_after_an_exit_and_clocks_are_refused() {
    let errors = errors_of(quote! {
        workflow w(n: u32) -> Result<u32, E> {
            let now = std::time::Instant::now();
            return Ok(n);
            step never(n);
        }
    });
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors.iter().any(|e| e.contains("unreachable")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("Instant::now")),
        "{errors:#?}"
    );
}
