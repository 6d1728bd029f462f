//! (e) Memory per in-flight run: 100,000 concurrent runs of a 3-step trailhead
//! workflow whose steps wait at gates, against the same 100,000 tasks written by
//! hand in tokio (spawned futures doing the same three awaits).
//!
//! `cargo bench --bench memory` (a plain binary, not divan). A counting global
//! allocator (`peak_alloc`: the bytes requested from the system allocator, not
//! malloc's own overhead) gives the heap in use; every run is held at step 1 until
//! all have arrived, then at step 2, then at step 3, and the heap is read at each
//! gate. Per run: (heap at the gate − heap before the first start) / runs, and the
//! peak over the whole experiment likewise; the handles the caller keeps count
//! too (8 bytes per `JoinHandle`, 32 per `RunHandle`). Each side runs twice,
//! alternating, each time on a fresh runtime and (for trailhead) a fresh engine
//! made before the baseline reading. The hand-written tasks are the user's own
//! code and data; trailhead's cost is what it takes beyond them.

use std::convert::Infallible;
use std::future::Future;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

mod common;

use peak_alloc::PeakAlloc;
use tokio::sync::watch;
use trailhead::{Engine, workflow};

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// Concurrent runs: 100,000, or `TRAILHEAD_BENCH_RUNS` (fewer, to run it under a
/// heap profiler such as `valgrind --tool=dhat`).
static RUNS: LazyLock<usize> =
    LazyLock::new(|| common::process::env_count("TRAILHEAD_BENCH_RUNS", 100_000));

/// How many gates have been opened so far, across experiments.
static GATES: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::Sender::new(0));
/// Steps that have reached their gate, in the current experiment.
static ARRIVED: AtomicUsize = AtomicUsize::new(0);

/// The step: arrives, waits until gate number `gate` is open, then gives `x + 1`.
async fn wait_at(gate: u64, x: u64) -> Result<u64, Infallible> {
    ARRIVED.fetch_add(1, Ordering::SeqCst);
    let mut opened = GATES.subscribe();
    opened
        .wait_for(|&opened| opened >= gate)
        .await
        .map(drop)
        .expect("the gates are never dropped");
    Ok(x + 1)
}

workflow! {
    /// Three steps, each waiting at the next of three gates after `gates`.
    workflow three_waits(gates: u64) -> Result<u64, trailhead::Error> {
        let a = step wait_at(gates + 1, 0);
        let b = step wait_at(gates + 2, a);
        let c = step wait_at(gates + 3, b);
        Ok(c)
    }
}

/// The same three awaits, by hand.
async fn three_waits_by_hand(gates: u64) -> Result<u64, Infallible> {
    let a = wait_at(gates + 1, 0).await?;
    let b = wait_at(gates + 2, a).await?;
    wait_at(gates + 3, b).await
}

/// Waits until `count` steps have arrived at their gates.
async fn arrivals(count: usize) {
    while ARRIVED.load(Ordering::SeqCst) < count {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// What one experiment measured, per run.
struct Measured {
    /// Heap per run while every run waits at gate 1, 2 and 3.
    at_gate: [f64; 3],
    /// Peak heap per run.
    peak: f64,
}

/// Starts `RUNS` runs with `start` (which gives each run's handle), holds them
/// at each gate until all have arrived, reads the heap, then lets them finish and
/// checks every result with `finish`.
fn experiment<H, S, SF, F, FF>(start: S, finish: F) -> Measured
where
    S: Fn(u64) -> SF,
    SF: Future<Output = H>,
    F: Fn(H) -> FF,
    FF: Future<Output = u64>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    ARRIVED.store(0, Ordering::SeqCst);
    let gates = *GATES.borrow();
    // Settle the runtime's threads before the baseline reading.
    rt.block_on(async { tokio::time::sleep(Duration::from_millis(50)).await });
    let base = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let runs = *RUNS;
    let per_run = |bytes: usize| (bytes as f64 - base as f64) / runs as f64;

    let at_gate = rt.block_on(async {
        let mut handles = Vec::with_capacity(runs);
        for _ in 0..runs {
            handles.push(start(gates).await);
        }
        let mut at_gate = [0.0; 3];
        for (gate, reading) in at_gate.iter_mut().enumerate() {
            arrivals(runs * (gate + 1)).await;
            *reading = per_run(HEAP.current_usage());
            GATES.send_modify(|opened| *opened += 1);
        }
        for handle in handles {
            assert_eq!(finish(handle).await, 3);
        }
        at_gate
    });
    Measured {
        at_gate,
        peak: per_run(HEAP.peak_usage()),
    }
}

fn by_hand() -> Measured {
    experiment(
        |gates| std::future::ready(tokio::spawn(three_waits_by_hand(gates))),
        |handle| async { handle.await.unwrap().unwrap() },
    )
}

fn with_trailhead() -> Measured {
    let engine = Engine::new();
    let measured = experiment(
        |gates| {
            let engine = engine.clone();
            async move { engine.start(three_waits, gates).await.unwrap() }
        },
        |handle| async { handle.result().await.unwrap() },
    );
    drop(engine);
    measured
}

fn print(name: &str, measured: &Measured) {
    let [g1, g2, g3] = measured.at_gate;
    println!(
        "{name:<24} {g1:>9.0} {g2:>9.0} {g3:>9.0} {:>9.0}",
        measured.peak
    );
}

fn main() {
    println!(
        "heap per in-flight run, bytes; {} concurrent runs, 2 tokio workers",
        *RUNS
    );
    println!(
        "{:<24} {:>9} {:>9} {:>9} {:>9}",
        "", "at gate 1", "at gate 2", "at gate 3", "peak"
    );
    let mut last = None;
    for round in 1..=2 {
        let hand = by_hand();
        print(&format!("tokio by hand, round {round}"), &hand);
        let trailhead = with_trailhead();
        print(&format!("trailhead, round {round}"), &trailhead);
        last = Some((hand, trailhead));
    }
    let (hand, trailhead) = last.expect("two rounds");
    println!(
        "trailhead beyond the hand-written tasks (round 2, peak): {:.0} bytes per run",
        trailhead.peak - hand.peak
    );
}
