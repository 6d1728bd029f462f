//! Issue 16: what an unloaded sleeping run costs in memory, with 1,000,000 of
//! them in one engine.
//!
//! `cargo bench -p trailhead-benches --bench sleeping` (a plain binary;
//! `TRAILHEAD_BENCH_RUNS=10000` for fewer runs). Each run is
//! `sleep 1h; step inc(x)`: it journals its wake-up time, is unloaded (the
//! engine's threshold is one second), and waits in the engine's timer list.
//! Two stores, each on a fresh engine and runtime:
//!
//! - **SQLite** (`synchronous = NORMAL`, to start a million runs in about a
//!   minute; the memory does not depend on it): the runs' records and journals
//!   are on disk, so what is in memory per run is the engine's own: its timer
//!   entry and the answer channel of the run's handle.
//! - **in memory**: the store keeps each run's record and journal too.
//! - **by hand** (the baseline): a spawned tokio task per run, asleep in
//!   `tokio::time::sleep` (its heap includes the 8 B `JoinHandle` kept to
//!   check and abort it).
//!
//! Heap: a counting global allocator (`peak_alloc`, the bytes requested from
//! the system allocator), read before the first start and once every run is
//! unloaded; resident memory: `VmRSS` of `/proc/self/status` at the same two
//! moments. The caller drops each run's handle as soon as it is started (a
//! fire-and-forget start; a kept `RunHandle` is 32 B more). Checks: the engine
//! counts every run as unloaded, and (SQLite) the file holds every run's
//! journaled sleep.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use peak_alloc::PeakAlloc;
use trailhead::{Engine, SqliteStore, Synchronous, workflow};

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

mod common;

use common::process::{env_count, status_bytes};
use common::{inc, runtime};

/// Runs: 1,000,000, or `TRAILHEAD_BENCH_RUNS`.
static RUNS: LazyLock<usize> = LazyLock::new(|| env_count("TRAILHEAD_BENCH_RUNS", 1_000_000));

/// Runs started at once by the caller, at most.
const IN_FLIGHT: usize = 2_000;

workflow! {
    /// Sleeps an hour, then takes one step.
    workflow nap(x: u64) -> Result<u64, trailhead::Error> {
        sleep Duration::from_secs(3600);
        let y = step inc(x);
        Ok(y)
    }
}

/// Resident memory of this process, in bytes.
fn rss() -> usize {
    status_bytes("VmRSS:")
}

struct Measured {
    heap_per_run: f64,
    rss_per_run: f64,
    seconds: f64,
}

/// Starts `RUNS` runs of `nap` on `engine` and measures once all are unloaded.
async fn measure(engine: Engine) -> Measured {
    let runs = *RUNS;
    let (heap, resident) = (HEAP.current_usage(), rss());
    let began = Instant::now();
    let mut started = 0;
    while started < runs {
        let batch = IN_FLIGHT.min(runs - started);
        let starts = (0..batch).map(|i| {
            let engine = engine.clone();
            let x = (started + i) as u64;
            tokio::spawn(async move { drop(engine.start(nap, x).await.expect("started")) })
        });
        for start in futures::future::join_all(starts).await {
            start.expect("the start task");
        }
        started += batch;
    }
    while engine.unloaded_runs() < runs {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let seconds = began.elapsed().as_secs_f64();
    // Let the engine's own tasks settle (the store's replies, the events).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(engine.unloaded_runs(), runs, "every run is unloaded");
    let heap_per_run = (HEAP.current_usage() - heap) as f64 / runs as f64;
    let rss_per_run = rss().saturating_sub(resident) as f64 / runs as f64;
    Measured {
        heap_per_run,
        rss_per_run,
        seconds,
    }
}

/// The same runs by hand: a spawned tokio task each, asleep for the hour.
async fn measure_by_hand() -> Measured {
    let runs = *RUNS;
    let (heap, resident) = (HEAP.current_usage(), rss());
    let began = Instant::now();
    let tasks: Vec<_> = (0..runs as u64)
        .map(|x| {
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                inc(x).await
            })
        })
        .collect();
    tokio::task::yield_now().await;
    let seconds = began.elapsed().as_secs_f64();
    let heap_per_run = (HEAP.current_usage() - heap) as f64 / runs as f64;
    let rss_per_run = rss().saturating_sub(resident) as f64 / runs as f64;
    assert!(
        tasks.iter().all(|task| !task.is_finished()),
        "every task sleeps"
    );
    for task in &tasks {
        task.abort();
    }
    Measured {
        heap_per_run,
        rss_per_run,
        seconds,
    }
}

fn report(store: &str, measured: &Measured) {
    println!(
        "{store:<10} {:>9} runs unloaded in {:>6.1} s: heap {:>7.1} B per run, resident {:>7.1} B per run",
        *RUNS, measured.seconds, measured.heap_per_run, measured.rss_per_run
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("sleeping.db");
    {
        let runtime = runtime();
        let measured = runtime.block_on(async {
            let store = SqliteStore::open_with(&path, Synchronous::Normal).expect("the store");
            let engine = Engine::builder()
                .store(store)
                .unload_sleeps_after(Duration::from_secs(1))
                .build();
            let measured = measure(engine.clone()).await;
            let sleeping = rusqlite::Connection::open(&path)
                .expect("the file")
                .query_row(
                    "SELECT COUNT(DISTINCT run_id) FROM steps WHERE key LIKE 'sleep%'",
                    [],
                    |row| row.get::<_, i64>(0),
                )
                .expect("the count");
            assert_eq!(
                usize::try_from(sleeping).expect("a count"),
                *RUNS,
                "every sleep is journaled"
            );
            engine.shutdown(Duration::ZERO).await;
            measured
        });
        report("SQLite", &measured);
    }
    {
        let runtime = runtime();
        let measured = runtime.block_on(async {
            let engine = Engine::builder()
                .unload_sleeps_after(Duration::from_secs(1))
                .build();
            measure(engine).await
        });
        report("in memory", &measured);
    }
    {
        let measured = runtime().block_on(measure_by_hand());
        report("by hand", &measured);
    }
}
