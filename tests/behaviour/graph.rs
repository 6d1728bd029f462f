//! Dependency-graph execution: statements start as soon as the bindings they
//! read exist, on tokio's paused clock (virtual time, no real waiting). And
//! the workflow's graph as data (`Workflow::GRAPH`): the function each node
//! runs.

use crate::support;

use std::time::Duration;

use tokio::time::Instant;
use trailhead::picture::{Graph, NodeKind};
use trailhead::{Engine, Workflow, workflow};

async fn wait(ms: u64) -> Result<u64, std::io::Error> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(ms)
}

async fn add(a: u64, b: u64) -> Result<u64, std::io::Error> {
    Ok(a + b)
}

async fn fail_after(ms: u64) -> Result<u64, std::io::Error> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Err(std::io::Error::other("failed on purpose"))
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Trip {
    flight: String,
    hotel: String,
}

async fn book(what: &str, ms: u64) -> Result<String, std::io::Error> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(format!("{what} booked"))
}

async fn confirm(flight: &str, hotel: &str) -> Result<String, std::io::Error> {
    Ok(format!("{flight} + {hotel}"))
}

workflow! {
    workflow independent() -> Result<u64, trailhead::Error> {
        let a = step wait(100);
        let b = step wait(100).name("other");
        Ok(a + b)
    }

    workflow dependent() -> Result<u64, trailhead::Error> {
        let a = step wait(100);
        let b = step wait(a).name("after_a");
        Ok(b)
    }

    /// c needs a (100ms) and b needs nothing (300ms): c starts at 100ms, not
    /// after b, so the run takes 300ms, not 400ms.
    workflow not_level_by_level() -> Result<u64, trailhead::Error> {
        let a = step wait(100);
        let b = step wait(300).name("slow");
        let c = step wait(a + 100).name("needs_a");
        let d = step add(b, c);
        Ok(d)
    }

    /// `flight` is read by two statements that run at the same time, and
    /// moved by the tail.
    workflow shared(ms: u64) -> Result<(Trip, String, String), trailhead::Error> {
        let flight = step book("flight", ms);
        let hotel = step book("hotel", ms).name("hotel");
        let seat = step book(&flight, ms).name("seat");
        let summary = step confirm(&flight, &hotel);
        Ok((Trip { flight, hotel }, seat, summary))
    }

    /// `total` is `mut`: the statements that use it run in order.
    workflow accumulate() -> Result<u64, trailhead::Error> {
        let mut total = 0;
        total += step wait(100);
        let side = step wait(100).name("side");
        total += step wait(50).name("second");
        Ok(total + side)
    }

    workflow fail_fast() -> Result<u64, trailhead::Error> {
        let a = step wait(60_000);
        let b = step fail_after(10);
        Ok(a + b)
    }

    /// `ship` reads nothing from `charge` but must not start before it.
    workflow ordered_by_after() -> Result<u64, trailhead::Error> {
        let paid = step wait(100).name("charge");
        let shipped = step wait(100).name("ship").after(charge);
        let logged = step wait(100).name("log").after(paid);
        Ok(paid + shipped + logged)
    }

    workflow in_order() -> Result<u64, trailhead::Error> {
        let total = sequential {
            let a = step wait(100);
            let b = step wait(100).name("other");
            a + b
        };
        Ok(total)
    }
}

#[tokio::test(start_paused = true)]
async fn two_independent_steps_take_as_long_as_one() {
    let engine = Engine::new();
    let started = Instant::now();
    assert_eq!(independent::run(&engine).await.unwrap(), 200);
    assert_eq!(started.elapsed(), Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn a_dependent_pair_takes_as_long_as_both() {
    let engine = Engine::new();
    let started = Instant::now();
    assert_eq!(dependent::run(&engine).await.unwrap(), 100);
    assert_eq!(started.elapsed(), Duration::from_millis(200));
}

#[tokio::test(start_paused = true)]
async fn a_statement_starts_when_its_last_input_is_ready() {
    let engine = Engine::new();
    let started = Instant::now();
    assert_eq!(not_level_by_level::run(&engine).await.unwrap(), 300 + 200);
    assert_eq!(started.elapsed(), Duration::from_millis(300));
}

#[tokio::test(start_paused = true)]
async fn bindings_are_shared_by_concurrent_readers_and_owned_by_the_tail() {
    let engine = Engine::new();
    let started = Instant::now();
    let (trip, seat, summary) = shared::run(&engine, 100).await.unwrap();
    assert_eq!(
        trip,
        Trip {
            flight: "flight booked".into(),
            hotel: "hotel booked".into()
        }
    );
    assert_eq!(seat, "flight booked booked");
    assert_eq!(summary, "flight booked + hotel booked");
    // flight and hotel together, then seat and summary together.
    assert_eq!(started.elapsed(), Duration::from_millis(200));
}

#[tokio::test(start_paused = true)]
async fn statements_that_use_a_mut_binding_run_in_order() {
    let engine = Engine::new();
    let started = Instant::now();
    assert_eq!(accumulate::run(&engine).await.unwrap(), 250);
    // 100 then 50 for `total`; `side` runs beside them.
    assert_eq!(started.elapsed(), Duration::from_millis(150));
}

#[tokio::test(start_paused = true)]
async fn the_first_failure_stops_the_other_statements() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let started = Instant::now();
    let error = fail_fast::run(&engine).await.unwrap_err();
    assert!(error.to_string().contains("fail_after"), "{error}");
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(10),
        "did not wait for the slow step"
    );
    let finished: Vec<String> = support::drain(&mut events)
        .into_iter()
        .filter_map(|event| match event {
            trailhead::Event::StepCompleted { step, .. } => Some(step.to_string()),
            _ => None,
        })
        .collect();
    assert!(
        finished.is_empty(),
        "the slow step never completed: {finished:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_sequential_block_runs_in_order() {
    let engine = Engine::new();
    let started = Instant::now();
    assert_eq!(in_order::run(&engine).await.unwrap(), 200);
    assert_eq!(started.elapsed(), Duration::from_millis(200));
}

#[tokio::test(start_paused = true)]
async fn after_orders_statements_with_no_data_between_them() {
    let engine = Engine::new();
    let started = Instant::now();
    assert_eq!(ordered_by_after::run(&engine).await.unwrap(), 300);
    // charge, then ship and log together.
    assert_eq!(started.elapsed(), Duration::from_millis(200));
}

mod payments {
    pub(super) async fn charge(amount: u64) -> Result<u64, std::io::Error> {
        Ok(amount)
    }

    pub(super) async fn refund(amount: u64) -> Result<(), std::io::Error> {
        let _ = amount;
        Ok(())
    }
}

async fn live_rate(n: u64) -> Result<u64, std::io::Error> {
    Err(std::io::Error::other(format!("no rate for {n}")))
}

async fn cached_rate(n: u64) -> Result<u64, std::io::Error> {
    Ok(n)
}

struct Ledger;

impl Ledger {
    async fn post(&self, n: u64) -> Result<u64, std::io::Error> {
        Ok(n)
    }
}

workflow! {
    workflow charged(amount: u64) -> Result<u64, trailhead::Error> {
        let paid = step payments::charge(amount);
        Ok(paid)
    }

    /// One of each node that runs a function, and some that run none.
    workflow aimed(n: u64) -> Result<u64, trailhead::Error> {
        let a = step wait(n);
        let paid = step payments :: charge(a).name("pay").compensate(payments::refund);
        let child = call charged(paid);
        let rate = step live_rate(child).fallback(step cached_rate(child));
        let guess = step live_rate(rate).name("guess").fallback(0);
        if guess > 0 {
            sleep 1s;
        }
        let ledger = Ledger;
        let posted = step ledger.post(rate + guess);
        Ok(posted)
    }
}

#[test]
fn each_node_of_the_graph_names_the_function_it_runs_as_written() {
    let graph = Graph::from_json(<aimed as Workflow>::GRAPH).unwrap();
    let targets: Vec<(NodeKind, Option<&str>, Option<&str>)> = graph
        .nodes()
        .iter()
        .map(|node| (node.kind, node.site.as_deref(), node.target.as_deref()))
        .collect();
    assert_eq!(
        targets,
        [
            (NodeKind::Start, None, None),
            (NodeKind::Step, Some("wait"), Some("wait")),
            (NodeKind::Step, Some("pay"), Some("payments::charge")),
            (
                NodeKind::Compensation,
                Some("pay"),
                Some("payments::refund")
            ),
            (NodeKind::Call, Some("charged"), Some("charged")),
            (NodeKind::Step, Some("live_rate"), Some("live_rate")),
            (
                NodeKind::Fallback,
                Some("live_rate.fallback"),
                Some("cached_rate")
            ),
            (NodeKind::Step, Some("guess"), Some("live_rate")),
            (NodeKind::Fallback, Some("guess"), None),
            (NodeKind::Branch, None, None),
            (NodeKind::Sleep, Some("sleep"), None),
            (NodeKind::Step, Some("post"), Some(".post")),
            (NodeKind::End, None, None),
        ]
    );
}
