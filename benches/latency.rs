//! (g) Latency of one short run, start to result: a 3-step workflow (`inc`
//! three times) on the in-memory store, one run after another, against the
//! same three awaits in a task spawned by hand (the floor).
//!
//! `cargo bench -p trailhead-benches --bench latency` (a plain binary, not
//! divan). Each row times 20,000 runs one by one, after 2,000 not timed, and
//! prints the 50th, 90th and 99th percentiles; every run's result is
//! checked. Two ways to wait:
//!
//! - **in a task**: the caller is itself a task on the runtime (a request
//!   handler, a run): it starts the run and awaits its result there;
//! - **from outside**: `block_on` from the main thread, which the runtime's
//!   workers must wake (two thread wake-ups per run, whatever runs).
//!
//! Also `engine.start` alone (in a task): until the handle is returned.

mod common;

use std::future::Future;
use std::time::{Duration, Instant};

use trailhead::{Engine, workflow};

use common::{inc, runtime};

/// Runs timed per row.
const RUNS: usize = 20_000;
/// Runs before the timing, not timed.
const WARM_UP: usize = 2_000;

workflow! {
    /// `inc` three times.
    workflow three(x: u64) -> Result<u64, trailhead::Error> {
        let a = step inc(x);
        let b = step inc(a);
        let c = step inc(b);
        Ok(c)
    }
}

fn main() {
    let rt = runtime();
    let mut rows = Vec::new();

    // The floor: the same three awaits in a task spawned by hand.
    let floor = rt.block_on(async {
        tokio::spawn(async {
            timed(|| async {
                let out = tokio::spawn(async {
                    let a = inc(0).await?;
                    let b = inc(a).await?;
                    inc(b).await
                })
                .await;
                assert_eq!(out.unwrap().unwrap(), 3);
            })
            .await
        })
        .await
        .unwrap()
    });
    rows.push(("tokio spawn + 3 awaits, in a task", floor));

    let engine = Engine::new();
    let in_task = rt.block_on(async {
        let engine = engine.clone();
        tokio::spawn(async move {
            timed(|| async {
                let out = engine.start(three, 0).await.unwrap().result().await;
                assert_eq!(out.unwrap(), 3);
            })
            .await
        })
        .await
        .unwrap()
    });
    rows.push(("trailhead start → result, in a task", in_task));

    let start_only = rt.block_on(async {
        let engine = engine.clone();
        tokio::spawn(async move {
            let mut samples = Vec::with_capacity(RUNS);
            for i in 0..WARM_UP + RUNS {
                let began = Instant::now();
                let handle = engine.start(three, 0).await.unwrap();
                let took = began.elapsed();
                assert_eq!(handle.result().await.unwrap(), 3);
                if i >= WARM_UP {
                    samples.push(took);
                }
            }
            samples
        })
        .await
        .unwrap()
    });
    rows.push(("trailhead engine.start alone, in a task", start_only));

    let floor_outside = outside(|| {
        let out = rt.block_on(rt.spawn(async {
            let a = inc(0).await?;
            let b = inc(a).await?;
            inc(b).await
        }));
        assert_eq!(out.unwrap().unwrap(), 3);
    });
    rows.push(("tokio spawn + 3 awaits, from outside", floor_outside));

    let trailhead_outside = outside(|| {
        let out = rt.block_on(async { engine.start(three, 0).await?.result().await });
        assert_eq!(out.unwrap(), 3);
    });
    rows.push(("trailhead start → result, from outside", trailhead_outside));

    let floor_p50 = percentile(&mut rows[0].1.clone(), 50);
    println!(
        "{:<44} {:>9} {:>9} {:>9} {:>10}",
        "row (20,000 runs)", "p50 µs", "p90 µs", "p99 µs", "p50 ÷ floor"
    );
    for (name, mut samples) in rows {
        let [p50, p90, p99] = [50, 90, 99].map(|p| percentile(&mut samples, p));
        println!(
            "{name:<44} {:>9.2} {:>9.2} {:>9.2} {:>10.2}",
            micros(p50),
            micros(p90),
            micros(p99),
            p50.as_secs_f64() / floor_p50.as_secs_f64(),
        );
    }
}

/// Times `run` once per run, in the calling task, after the warm-up.
async fn timed<F, Fut>(mut run: F) -> Vec<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(RUNS);
    for i in 0..WARM_UP + RUNS {
        let began = Instant::now();
        run().await;
        if i >= WARM_UP {
            samples.push(began.elapsed());
        }
    }
    samples
}

/// Times `run` once per run, from the main thread, after the warm-up.
fn outside(mut run: impl FnMut()) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(RUNS);
    for i in 0..WARM_UP + RUNS {
        let began = Instant::now();
        run();
        if i >= WARM_UP {
            samples.push(began.elapsed());
        }
    }
    samples
}

/// The `p`th percentile of `samples`.
fn percentile(samples: &mut [Duration], p: usize) -> Duration {
    samples.sort_unstable();
    samples[(samples.len() * p / 100).min(samples.len() - 1)]
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}
