//! Fan-out: `parallel(limit = n) for x in xs { … }` runs the body per item, at most
//! `n` at a time, and evaluates to the bodies' values in input order.

use crate::support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::journal_keys;
use trailhead::{Engine, RunError, workflow};

/// How many bodies run now, and the most that ever ran at once.
struct Gauge {
    running: AtomicUsize,
    most: AtomicUsize,
}

static ORDERED: Gauge = Gauge::new();
static FAILING: Gauge = Gauge::new();
static COLLECTING: Gauge = Gauge::new();

impl Gauge {
    const fn new() -> Self {
        Gauge {
            running: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
        }
    }
}

/// Counts a running body until it finishes or is dropped (cancelled).
struct Running(&'static Gauge);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Takes longer for smaller items, so items finish out of input order.
async fn work(item: u64, gauge: &'static Gauge) -> Result<u64, std::io::Error> {
    let now = gauge.running.fetch_add(1, Ordering::SeqCst) + 1;
    gauge.most.fetch_max(now, Ordering::SeqCst);
    let _running = Running(gauge);
    tokio::time::sleep(Duration::from_millis(1_000 - item * 10)).await;
    if item == 66 {
        return Err(std::io::Error::other("item 66 is cursed"));
    }
    Ok(item * 2)
}

async fn pair(a: u64, b: u64) -> Result<u64, std::io::Error> {
    Ok(a * 10 + b)
}

workflow! {
    workflow doubled(items: Vec<u64>, limit: usize) -> Result<Vec<u64>, trailhead::Error> {
        let out = parallel(limit = limit) for item in items {
            step work(item, &ORDERED)
        };
        Ok(out)
    }

    workflow doubled_or_cursed(items: Vec<u64>) -> Result<Vec<u64>, trailhead::Error> {
        let out = parallel(limit = 4) for item in items {
            step work(item, &FAILING)
        };
        Ok(out)
    }

    /// Every item runs; the failures are values, not the run's failure.
    workflow all_outcomes(items: Vec<u64>) -> Result<(usize, usize), trailhead::Error> {
        let outcomes = parallel(limit = 4, collect_all) for item in items {
            step work(item, &COLLECTING)
        };
        let failed = outcomes.iter().filter(|outcome| outcome.is_err()).count();
        Ok((outcomes.len(), failed))
    }

    workflow grid(n: u64) -> Result<Vec<Vec<u64>>, trailhead::Error> {
        let rows = parallel(limit = 2) for a in 0..n {
            parallel for b in 0..n {
                step pair(a, b)
            }
        };
        Ok(rows)
    }
}

#[tokio::test(start_paused = true)]
async fn results_keep_input_order_and_concurrency_equals_the_limit() {
    let engine = Engine::new();
    let items: Vec<u64> = (0..40).collect();
    let started = tokio::time::Instant::now();
    let handle = engine.start(doubled, (items.clone(), 8)).await.unwrap();
    let run = handle.id().clone();
    let out = handle.result().await.unwrap();
    assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    assert_eq!(
        ORDERED.most.load(Ordering::SeqCst),
        8,
        "the most in flight at once"
    );
    // 40 items of 0.6–1s at 8 at a time take well under 40 sequential seconds.
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    let keys = journal_keys(&engine, &run).await;
    assert_eq!(keys.len(), 40);
    let mut sorted = keys.clone();
    sorted.sort_by_key(|key| key[5..key.len() - 1].parse::<u32>().unwrap());
    assert_eq!(sorted[0], "work[0]");
    assert_eq!(sorted[39], "work[39]");
}

#[tokio::test(start_paused = true)]
async fn nested_fan_outs_key_steps_by_both_indices() {
    let engine = Engine::new();
    let handle = engine.start(grid, 3).await.unwrap();
    let run = handle.id().clone();
    let rows = handle.result().await.unwrap();
    assert_eq!(
        rows,
        vec![vec![0, 1, 2], vec![10, 11, 12], vec![20, 21, 22]]
    );
    let mut keys = journal_keys(&engine, &run).await;
    keys.sort();
    assert_eq!(keys[0], "pair[0][0]");
    assert_eq!(keys[8], "pair[2][2]");
    assert_eq!(keys.len(), 9);
}

#[tokio::test(start_paused = true)]
async fn the_first_failure_fails_the_run_and_stops_the_other_items() {
    let engine = Engine::new();
    let items: Vec<u64> = (60..80).collect();
    let handle = engine.start(doubled_or_cursed, items).await.unwrap();
    let run = handle.id().clone();
    let error = handle.result().await.unwrap_err();
    let RunError::Failed { error, .. } = error else {
        panic!("expected the step's failure, got {error}");
    };
    assert!(error.to_string().contains("work[6]"), "{error}");
    assert!(error.to_string().contains("cursed"), "{error}");
    // Items after the failure were never started.
    assert!(journal_keys(&engine, &run).await.len() < 20);
    assert_eq!(
        FAILING.running.load(Ordering::SeqCst),
        0,
        "no body is left running"
    );
    assert_eq!(FAILING.most.load(Ordering::SeqCst), 4);
}

#[tokio::test(start_paused = true)]
async fn collect_all_runs_every_item_and_returns_each_outcome() {
    let engine = Engine::new();
    let items: Vec<u64> = (60..80).collect();
    let (count, failed) = all_outcomes::run(&engine, items).await.unwrap();
    assert_eq!((count, failed), (20, 1), "item 66 failed, the other 19 ran");
    assert_eq!(COLLECTING.most.load(Ordering::SeqCst), 4);
}
