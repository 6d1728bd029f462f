//! Issue 16: 10,000 runs started at once on SQLite, each a step, a fan-out of
//! four steps and a step: the time from the first start to the last result,
//! and the memory at the peak.
//!
//! `cargo bench -p trailhead-benches --bench burst` (a plain binary; rounds:
//! `TRAILHEAD_BENCH_ROUNDS`, default 3, each on a fresh engine and file;
//! `synchronous = FULL`, the default). Memory: the heap's peak from a counting
//! allocator (`peak_alloc`), and the process's peak resident memory
//! (`VmHWM` of `/proc/self/status`, which only grows: the figure of round 1 is
//! the burst's own, later rounds report the same peak or a higher one).
//! Checks: every run's result, and the file's step rows (6 per run) and
//! completed runs.

use std::time::{Duration, Instant};

use peak_alloc::PeakAlloc;
use trailhead::{Engine, SqliteStore, workflow};

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

mod common;

use common::inc;
use common::process::{env_count, status_bytes};

/// Runs: 10,000, or `TRAILHEAD_BENCH_RUNS` (fewer, for a heap profiler).
static RUNS: std::sync::LazyLock<u64> =
    std::sync::LazyLock::new(|| env_count("TRAILHEAD_BENCH_RUNS", 10_000) as u64);

workflow! {
    /// A step, a fan-out of four and a step: `x + 1`, then `x + 2 + i` for
    /// `i` in `0..4`, summed, plus one: `4x + 15`.
    workflow burst(x: u64) -> Result<u64, trailhead::Error> {
        let a = step inc(x);
        let parts = parallel for i in 0..4_u64 {
            step inc(a + i)
        };
        let total = step inc(parts.iter().sum());
        Ok(total)
    }
}

fn count(path: &std::path::Path, sql: &str) -> u64 {
    let count: i64 = rusqlite::Connection::open(path)
        .expect("the file")
        .query_row(sql, [], |row| row.get(0))
        .expect("a count");
    u64::try_from(count).expect("a count")
}

fn main() {
    let rounds = env_count("TRAILHEAD_BENCH_ROUNDS", 3);
    println!(
        "{} runs at once, each step + fan-out of 4 + step, SQLite FULL",
        *RUNS
    );
    for round in 1..=rounds {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("burst.db");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let (seconds, commits) = runtime.block_on(async {
            let store = SqliteStore::open(&path).expect("the store");
            let engine = Engine::builder().store(store.clone()).build();
            HEAP.reset_peak_usage();
            let commits = store.commits();
            let began = Instant::now();
            let runs: Vec<_> = (0..*RUNS)
                .map(|x| {
                    let engine = engine.clone();
                    tokio::spawn(async move { burst::run(&engine, x).await })
                })
                .collect();
            for (x, run) in (0..*RUNS).zip(runs) {
                let total = run.await.expect("the task").expect("the run");
                assert_eq!(total, 4 * x + 15);
            }
            let seconds = began.elapsed().as_secs_f64();
            let commits = store.commits() - commits;
            engine.shutdown(Duration::ZERO).await;
            (seconds, commits)
        });
        drop(runtime);
        assert_eq!(count(&path, "SELECT COUNT(*) FROM steps"), 6 * *RUNS);
        assert_eq!(
            count(
                &path,
                "SELECT COUNT(*) FROM runs WHERE status = 'completed'"
            ),
            *RUNS
        );
        println!(
            "round {round}: {seconds:.2} s, {:.0} runs/s, {commits} commits; heap peak {:.1} MB, peak resident {:.1} MB",
            *RUNS as f64 / seconds,
            HEAP.peak_usage() as f64 / 1e6,
            status_bytes("VmHWM:") as f64 / 1e6
        );
    }
}
