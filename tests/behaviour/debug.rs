//! The debugger: breakpoints on live runs, pauses that show a step's
//! arguments and the journal so far, step, step over and continue.

use std::time::Duration;

use trailhead::debug::{Breakpoint, Resume, When};
use trailhead::{Engine, Error, RunId, workflow};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Card {
    last4: u16,
}

/// No `Debug`: a pause shows its type's name.
#[derive(Clone)]
struct Secret(#[allow(dead_code)] String);

async fn prepare(n: u32) -> Result<u32, Error> {
    Ok(n)
}
async fn item(i: u32) -> Result<u32, Error> {
    Ok(i)
}
async fn charge(card: &Card, secret: &Secret, cents: u32) -> Result<String, Error> {
    let _ = secret;
    Ok(format!("paid {cents} with {}", card.last4))
}
async fn finish(total: u32, receipt: String) -> Result<String, Error> {
    Ok(format!("{receipt}, {total} items"))
}

workflow! {
    /// A step, a fan-out of 100 items, a charge, a last step.
    workflow order(n: u32) -> Result<String, Error> {
        let count = step prepare(n);
        let items = parallel for i in 0..count {
            step item(i)
        };
        let card = Card { last4: 4242 };
        let secret = Secret("s3cret".to_owned());
        let total = items.len() as u32;
        let receipt = step charge(&card, &secret, total * 10 + 1);
        let done = step finish(total, receipt);
        Ok(done)
    }
}

fn pattern(text: &str) -> trailhead::StepPattern {
    text.parse().unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_breakpoint_pauses_at_its_key_and_step_step_over_and_continue_go_on() {
    let engine = Engine::builder()
        .debugger(true)
        .stalled_after(Duration::from_secs(60))
        .build();
    let debugger = engine.debugger().unwrap().clone();
    debugger.break_at(Breakpoint::before(pattern("prepare")));
    let run = RunId::new("order-1");
    let handle = engine.start_with_id(run.clone(), order, 100).await.unwrap();

    // Paused before `prepare`, its argument shown.
    let pause = debugger.wait_for_pause(Some(&run)).await;
    assert_eq!(
        (pause.key.to_string(), pause.when),
        ("prepare".to_owned(), When::Before)
    );
    assert_eq!(pause.arguments, ["100"]);
    assert!(pause.journaled.is_empty());
    assert_eq!(pause.node.as_deref(), Some("s0"));

    // Paused for longer than a run may be idle: paused, not stalled.
    tokio::time::sleep(Duration::from_secs(120)).await;
    let health = engine.health().await.unwrap();
    assert!(health.stalled.is_empty(), "{:?}", health.stalled);
    assert_eq!(health.paused.len(), 1);
    assert_eq!(health.paused[0].run, run);
    assert_eq!(health.paused[0].step.to_string(), "prepare");

    // `step`: the next step of the run to start, the fan-out's first item.
    debugger.resume(&run, Resume::Step).unwrap();
    let pause = debugger.wait_for_pause(Some(&run)).await;
    assert_eq!(pause.key.to_string(), "item[0]");
    assert_eq!(pause.journaled, [("prepare".to_owned(), "100".to_owned())]);

    // `step over`: past all 100 items, to the charge.
    debugger.resume(&run, Resume::StepOver).unwrap();
    let pause = debugger.wait_for_pause(Some(&run)).await;
    assert_eq!(pause.key.to_string(), "charge");
    assert_eq!(pause.journaled.len(), 101, "prepare and every item");
    // A `Debug` argument, one without `Debug`, an expression not re-evaluated.
    assert_eq!(pause.arguments[0], "Card { last4: 4242 }");
    assert!(
        pause.arguments[1].ends_with("Secret"),
        "{:?}",
        pause.arguments
    );
    assert_eq!(pause.arguments[2], "`total * 10 + 1`");

    // `continue`: no breakpoint left ahead, the run ends.
    debugger.resume(&run, Resume::Continue).unwrap();
    assert_eq!(
        handle.result().await.unwrap(),
        "paid 1001 with 4242, 100 items"
    );
    assert!(debugger.paused().is_empty());
    assert!(engine.health().await.unwrap().paused.is_empty());
    assert!(
        debugger.resume(&run, Resume::Continue).is_err(),
        "not paused"
    );
}

async fn fragile(n: u32) -> Result<u32, Error> {
    if n == 0 {
        Err(Error::msg("nothing to do"))
    } else {
        Ok(n * 2)
    }
}

workflow! {
    workflow twice(n: u32) -> Result<u32, Error> {
        let a = step fragile(n);
        let b = step fragile(a - 1).name("again");
        Ok(b)
    }
}

#[tokio::test]
async fn breakpoints_after_a_step_and_on_failure_show_its_output_and_error_in_one_run_only() {
    let engine = Engine::builder().debugger(true).build();
    let debugger = engine.debugger().unwrap().clone();
    let run = RunId::new("twice-1");
    let after = debugger.break_at(Breakpoint::after(pattern("fragile")).in_run(run.clone()));
    debugger.break_at(Breakpoint::on_failure(pattern("*")).in_workflow("twice"));
    // Another run of the workflow is not stopped after `fragile`.
    let other = engine
        .start_with_id(RunId::new("twice-2"), twice, 3)
        .await
        .unwrap();
    assert_eq!(other.result().await.unwrap(), 10);

    let handle = engine.start_with_id(run.clone(), twice, 1).await.unwrap();
    let pause = debugger.wait_for_pause(Some(&run)).await;
    assert_eq!(
        (pause.key.to_string(), pause.when),
        ("fragile".to_owned(), When::After)
    );
    assert_eq!(pause.output.as_deref(), Some("2"));
    assert!(debugger.remove(after));
    debugger.resume(&run, Resume::Continue).unwrap();
    // `again` gets 1 and doubles it: no failure. A run given 0 fails at once.
    assert_eq!(handle.result().await.unwrap(), 2);
    let failing = engine
        .start_with_id(RunId::new("twice-3"), twice, 0)
        .await
        .unwrap();
    let pause = debugger.wait_for_pause(Some(&RunId::new("twice-3"))).await;
    assert_eq!(
        (pause.key.to_string(), pause.when),
        ("fragile".to_owned(), When::Failed)
    );
    assert_eq!(pause.error.as_deref(), Some("nothing to do"));
    debugger.resume(failing.id(), Resume::Continue).unwrap();
    assert!(failing.result().await.is_err());
}

#[tokio::test]
async fn a_run_cancelled_while_paused_leaves_no_pause_behind() {
    let engine = Engine::builder().debugger(true).build();
    let debugger = engine.debugger().unwrap().clone();
    debugger.break_at(Breakpoint::before(pattern("again")));
    let handle = engine
        .start_with_id(RunId::new("twice-4"), twice, 2)
        .await
        .unwrap();
    let run = handle.id().clone();
    debugger.wait_for_pause(Some(&run)).await;
    engine.cancel(&run).await.unwrap();
    assert!(handle.result().await.is_err());
    assert!(debugger.paused().is_empty(), "{:?}", debugger.paused());
}

#[tokio::test]
async fn without_a_debugger_there_is_none() {
    let engine = Engine::new();
    assert!(engine.debugger().is_none());
    assert_eq!(engine.run(twice, 2).await.unwrap(), 6);
}

#[tokio::test]
async fn a_breakpoint_on_every_step_walks_every_construct_to_its_end() {
    let engine = Engine::builder().debugger(true).build();
    let debugger = engine.debugger().unwrap().clone();
    debugger.break_at(Breakpoint::before(pattern("*")));
    debugger.break_at(Breakpoint::after(pattern("*")));
    let run = RunId::new("everything-debugged");
    let handle = engine
        .start_with_id(run.clone(), crate::replay::every_construct::everything, 4)
        .await
        .unwrap();
    let result = handle.result();
    tokio::pin!(result);
    let mut pauses = 0;
    let mut stopped = std::collections::HashSet::new();
    let output = loop {
        tokio::select! {
            output = &mut result => break output.unwrap(),
            // The child run stops too: the breakpoints are for every run.
            pause = debugger.wait_for_pause(None) => {
                pauses += 1;
                for paused in debugger.paused() {
                    stopped.insert((paused.run.to_string(), paused.key.to_string(), paused.when));
                }
                let how = if pauses % 3 == 0 { Resume::Step } else { Resume::Continue };
                debugger.resume(&pause.run, how).unwrap();
            }
        }
    };
    assert!(output > 0);
    // Steps of every kind stopped, before and after, in the run and its child.
    for key in [
        "base",
        "big",
        "one",
        "grid[2][1]",
        "count[2]",
        "item[4]",
        "square",
        "last_word",
    ] {
        for when in [When::Before, When::After] {
            assert!(
                stopped.contains(&(run.to_string(), key.to_owned(), when)),
                "{key} {when:?}: {stopped:?}"
            );
        }
    }
    assert!(
        stopped
            .iter()
            .any(|(at, key, _)| at.ends_with("/child") && key == "add")
    );
    assert!(debugger.paused().is_empty());
}
