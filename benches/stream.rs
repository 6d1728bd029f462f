//! Streams (issue 14): items per second through a 3-stage pipeline — parse,
//! enrich with concurrency 16, a batch sink — as a trailhead stream loop
//! against the same pipeline hand-written with `futures` streams, in the same
//! process and run; peak RSS for 1,000,000 against 10,000,000 items; the
//! journal rows and checkpoint writes of a 1,000,000-item durable run.
//!
//! `cargo bench -p trailhead-benches --bench stream` (a plain binary, not
//! divan). Parts, by argument: `throughput`, `rss`, `journal` (default: all
//! three); `items=N` (items per throughput sample, a multiple of 1,000;
//! default 1,000,000) and `rounds=R` (default 5). BENCHMARKS.md ("Streams
//! (issue 14)") has the tables.
//!
//! The pipeline, the same functions on every side:
//!
//! - source: line `i` of `0..n` is `format!("{i},{}", i * 7 % 1000)`, made
//!   lazily as it is pulled (nothing holds all of them);
//! - parse: plain code, the line split at its comma into a [`Record`];
//! - enrich: `async fn`, one `tokio::task::yield_now().await` (a reschedule,
//!   as an I/O call would cost) and then `value = 3 × id + code`, 16 at a
//!   time, in order;
//! - sink: batches of 500 handed to an `async fn` that yields once and gives
//!   the batch's sum of `value`; the checksum is the sum of those.
//!
//! Every sample asserts the checksum equals its closed form,
//! `3·n(n−1)/2 + (n/1000)·499,500` (`7i mod 1000` runs through every residue
//! in each 1,000 consecutive `i`), so no side can skip an item.
//!
//! Rows, each sample from `start` to the run's result (a fresh engine and
//! store per sample, made outside the timing), all in one spawned task of
//! tokio's multi-thread runtime with 2 workers:
//!
//! - **by hand**: `stream::iter(lines).map(parse).map(enrich).buffered(16)
//!   .chunks(500).then(sink)` summed;
//! - **trailhead, batch loop** ([`batch_loop`]): `stream(every = 2) for batch
//!   in source.map(parse).chunks(500) { parallel(limit = 16) for record in
//!   batch { step enrich(record) }; checksum += step sink(enriched) }`;
//!   `every = 2` batches is a checkpoint every 1,000 items;
//! - **trailhead, parallel loop** ([`parallel_loop`]): `stream(limit = 16,
//!   every = 1000) for record in source.map(parse) { step enrich(record) }`
//!   with the batching in a [`Batcher`] held outside the loop (the parallel
//!   form has no accumulators): each enriched record is pushed, a full batch
//!   goes to `step sink`;
//!
//! each on the in-memory store (`Engine::new()`) and on a `SqliteStore` file
//! (`synchronous = FULL`, the default) in a fresh temporary directory. Rounds
//! alternate the rows; each ratio is taken within its round, and the table
//! gives medians.
//!
//! Flat memory: each size runs in a child process of its own (this binary,
//! re-executed with `TRAILHEAD_STREAM_CHILD`), so its `VmHWM` (peak RSS, from
//! `/proc/self/status`) is its own; the child also reports the counting
//! allocator's peak heap.

mod common;

use std::convert::Infallible;
use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use peak_alloc::PeakAlloc;
use serde::{Deserialize, Serialize};
use trailhead::stream::{self, SourceExt as _};
use trailhead::{Engine, SqliteStore, workflow};

use common::runtime;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// Items between checkpoints.
const EVERY: u64 = 1_000;
/// Records per batch handed to the sink.
const BATCH: usize = 500;
/// Enrichments in flight.
const LIMIT: usize = 16;
/// The child process's variable: `<row> <items>`.
const CHILD: &str = "TRAILHEAD_STREAM_CHILD";

/// A parsed line.
#[derive(Clone, Copy, Debug)]
struct Record {
    id: u64,
    code: u64,
}

/// An enriched record: what the sink folds.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Enriched {
    id: u64,
    value: u64,
}

/// Line `i` of the source.
fn line(i: u64) -> String {
    format!("{i},{}", i * 7 % 1000)
}

/// The parse stage: plain code.
fn parse(line: String) -> Record {
    let (id, code) = line.split_once(',').expect("a comma");
    Record {
        id: id.parse().expect("an id"),
        code: code.parse().expect("a code"),
    }
}

/// The enrich stage: one reschedule, then a little arithmetic.
async fn enrich(record: Record) -> Result<Enriched, Infallible> {
    tokio::task::yield_now().await;
    Ok(Enriched {
        id: record.id,
        value: black_box(record.id) * 3 + record.code,
    })
}

/// The sink stage: one reschedule, then the batch folded into its sum.
async fn sink(batch: Vec<Enriched>) -> Result<u64, Infallible> {
    tokio::task::yield_now().await;
    Ok(batch.iter().map(|enriched| enriched.value).sum())
}

/// What every side's checksum must be for `n` items (`n` a multiple of 1,000).
const fn expected(n: u64) -> u64 {
    assert!(n.is_multiple_of(1000));
    3 * n * (n - 1) / 2 + n / 1000 * 499_500
}

/// The by-hand pipeline.
async fn by_hand(n: u64) -> u64 {
    futures::stream::iter((0..n).map(line))
        .map(parse)
        .map(enrich)
        .buffered(LIMIT)
        .map(|enriched| enriched.expect("infallible"))
        .chunks(BATCH)
        .then(sink)
        .fold(0, |checksum, sum| async move {
            checksum + sum.expect("infallible")
        })
        .await
}

/// The batches of the parallel loop, outside its journal: the records
/// enriched since the last full batch, and the sum of what the sink took.
#[derive(Default)]
struct Batcher {
    pending: Mutex<Vec<Enriched>>,
    checksum: AtomicU64,
}

impl Batcher {
    /// Adds `enriched`; gives the batch it filled, if it did.
    fn push(&self, enriched: Enriched) -> Option<Vec<Enriched>> {
        let mut pending = self.pending.lock().expect("not poisoned");
        if pending.capacity() == 0 {
            pending.reserve_exact(BATCH);
        }
        pending.push(enriched);
        (pending.len() == BATCH)
            .then(|| std::mem::replace(&mut *pending, Vec::with_capacity(BATCH)))
    }

    /// What is left after the last full batch, if anything.
    fn rest(&self) -> Option<Vec<Enriched>> {
        let mut pending = self.pending.lock().expect("not poisoned");
        (!pending.is_empty()).then(|| std::mem::take(&mut *pending))
    }

    fn add(&self, sum: u64) {
        self.checksum.fetch_add(sum, Ordering::Relaxed);
    }

    fn checksum(&self) -> u64 {
        self.checksum.load(Ordering::Relaxed)
    }
}

/// The sink stage of the parallel loop: [`sink`], its sum added to the batcher's.
async fn sink_into(batcher: &Batcher, batch: Vec<Enriched>) -> Result<(), Infallible> {
    let sum = sink(batch).await?;
    batcher.add(sum);
    Ok(())
}

workflow! {
    /// Batches of 500 parsed lines, one after another; each batch's records
    /// enriched 16 at a time, then handed to the sink. A checkpoint every 2
    /// batches (1,000 items) holds the checksum.
    workflow batch_loop(n: u64) -> Result<u64, trailhead::Error> {
        let mut checksum: u64 = 0;
        stream(every = 2) for batch in stream::iter((0..n).map(line)).map(parse).chunks(BATCH) {
            let enriched = parallel(limit = 16) for record in batch {
                step enrich(record)
            };
            checksum += step sink(enriched);
        }
        Ok(checksum)
    }

    /// Parsed lines enriched 16 at a time by the stream loop itself (a
    /// checkpoint every 1,000 items); the batches are made outside the loop,
    /// in a `Batcher`, which no checkpoint holds.
    workflow parallel_loop(n: u64) -> Result<u64, trailhead::Error> {
        let batcher = Batcher::default();
        stream(limit = 16, every = 1000) for record in stream::iter((0..n).map(line)).map(parse) {
            let enriched = step enrich(record);
            if let Some(batch) = batcher.push(enriched) {
                step sink_into(&batcher, batch);
            }
        }
        if let Some(rest) = batcher.rest() {
            step sink_into(&batcher, rest);
        }
        Ok(batcher.checksum())
    }
}

/// A row of the throughput table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Row {
    ByHand,
    BatchMemory,
    ParallelMemory,
    BatchSqlite,
    ParallelSqlite,
}

impl Row {
    const ALL: [Self; 5] = [
        Self::ByHand,
        Self::BatchMemory,
        Self::ParallelMemory,
        Self::BatchSqlite,
        Self::ParallelSqlite,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::ByHand => "by hand (futures)",
            Self::BatchMemory => "trailhead batch loop, memory",
            Self::ParallelMemory => "trailhead parallel loop, memory",
            Self::BatchSqlite => "trailhead batch loop, SQLite",
            Self::ParallelSqlite => "trailhead parallel loop, SQLite",
        }
    }

    fn arg(self) -> &'static str {
        match self {
            Self::ByHand => "hand",
            Self::BatchMemory => "batch-memory",
            Self::ParallelMemory => "parallel-memory",
            Self::BatchSqlite => "batch-sqlite",
            Self::ParallelSqlite => "parallel-sqlite",
        }
    }

    fn from_arg(arg: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|row| row.arg() == arg)
    }

    fn sqlite(self) -> bool {
        matches!(self, Self::BatchSqlite | Self::ParallelSqlite)
    }
}

/// What one run of a row did.
struct Ran {
    elapsed: Duration,
    /// How many times the runtime's workers parked (went to sleep for want
    /// of work) during the run: each park is followed by an unpark, a
    /// wake-up of that worker's thread, when work comes.
    parks: u64,
    /// The run's journal entries (trailhead rows).
    journal: usize,
    /// The SQLite writer's commits during the run, and the `steps` rows of
    /// the run in the file afterwards (SQLite rows).
    sqlite: Option<(u64, u64)>,
}

/// How many times the workers of `rt` have parked so far.
fn parks(rt: &tokio::runtime::Runtime) -> u64 {
    let metrics = rt.metrics();
    (0..metrics.num_workers())
        .map(|worker| metrics.worker_park_count(worker))
        .sum()
}

/// Runs `row` over `n` items (the store's file, if any, in `dir`); asserts
/// its checksum.
fn run_row(rt: &tokio::runtime::Runtime, row: Row, n: u64, dir: &Path) -> Ran {
    if row == Row::ByHand {
        let parked = parks(rt);
        let (checksum, elapsed) = rt
            .block_on(rt.spawn(async move {
                let start = Instant::now();
                let checksum = by_hand(n).await;
                (checksum, start.elapsed())
            }))
            .expect("the by-hand task");
        assert_eq!(checksum, expected(n), "{}", row.name());
        return Ran {
            elapsed,
            parks: parks(rt) - parked,
            journal: 0,
            sqlite: None,
        };
    }
    let store = row.sqlite().then(|| {
        let path = dir.join(format!("stream-{}.db", HEAP.current_usage()));
        let _ = std::fs::remove_file(&path);
        SqliteStore::open(&path).expect("the store")
    });
    let engine = match &store {
        Some(store) => Engine::builder().store(store.clone()).build(),
        None => Engine::new(),
    };
    let before = store.as_ref().map_or(0, SqliteStore::commits);
    let batch = matches!(row, Row::BatchMemory | Row::BatchSqlite);
    let parked = parks(rt);
    let (checksum, elapsed, run, journal) = rt
        .block_on(rt.spawn({
            let engine = engine.clone();
            async move {
                let start = Instant::now();
                let (run, checksum) = if batch {
                    let handle = engine.start(batch_loop, n).await.expect("the run starts");
                    (handle.id().clone(), handle.result().await)
                } else {
                    let handle = engine
                        .start(parallel_loop, n)
                        .await
                        .expect("the run starts");
                    (handle.id().clone(), handle.result().await)
                };
                let checksum = checksum.expect("the run");
                let elapsed = start.elapsed();
                let journal = engine.journal(&run).await.expect("its journal").len();
                (checksum, elapsed, run, journal)
            }
        }))
        .expect("the run's task");
    assert_eq!(checksum, expected(n), "{}", row.name());
    let parked = parks(rt) - parked;
    let sqlite = store.map(|store| {
        let commits = store.commits() - before;
        let path = store.path().to_owned();
        drop(engine);
        drop(store);
        let connection = rusqlite::Connection::open(&path).expect("the file");
        let rows: u64 = connection
            .query_row(
                "SELECT count(*) FROM steps WHERE run_id = ?1",
                [run.to_string()],
                |row| row.get(0),
            )
            .expect("the count");
        drop(connection);
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
        (commits, rows)
    });
    Ran {
        elapsed,
        parks: parked,
        journal,
        sqlite,
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        f64::midpoint(values[mid - 1], values[mid])
    }
}

/// The throughput table: `rounds` rounds of every row over `n` items.
fn throughput(rt: &tokio::runtime::Runtime, dir: &Path, n: u64, rounds: usize) {
    println!("== throughput: {n} items per sample, {rounds} rounds, rows alternated ==");
    // One untimed pass of each row first: the runtime's threads, the
    // allocator's arenas and the disk's first WAL growth are not timed.
    for row in Row::ALL {
        run_row(rt, row, n.min(100_000), dir);
    }
    let mut rates = vec![Vec::new(); Row::ALL.len()];
    let mut ratios = vec![Vec::new(); Row::ALL.len()];
    let mut parked = vec![Vec::new(); Row::ALL.len()];
    for round in 1..=rounds {
        let mut line = format!("round {round}:");
        let mut hand = 0.0;
        for (at, row) in Row::ALL.into_iter().enumerate() {
            let ran = run_row(rt, row, n, dir);
            let rate = n as f64 / ran.elapsed.as_secs_f64();
            if row == Row::ByHand {
                hand = rate;
            }
            rates[at].push(rate);
            ratios[at].push(rate / hand);
            parked[at].push(ran.parks as f64 * 1000.0 / n as f64);
            line.push_str(&format!(" {}={rate:.0}/s", row.arg()));
        }
        println!("{line}");
    }
    println!(
        "{:<34} {:>14} {:>10} {:>13}   per round (items/s)",
        "row", "median items/s", "÷ by hand", "parks/1k items"
    );
    for (at, row) in Row::ALL.into_iter().enumerate() {
        let per_round: Vec<String> = rates[at].iter().map(|rate| format!("{rate:.0}")).collect();
        let per_ratio: Vec<String> = ratios[at].iter().map(|r| format!("{r:.3}")).collect();
        println!(
            "{:<34} {:>14.0} {:>10.3} {:>13.1}   {} (ratios {})",
            row.name(),
            median(&mut rates[at].clone()),
            median(&mut ratios[at].clone()),
            median(&mut parked[at].clone()),
            per_round.join(" / "),
            per_ratio.join(" / "),
        );
    }
}

/// `VmHWM` and `VmRSS` of this process, in KiB.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in /proc/self/status"))
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// In a child process: runs `row` over `items` once and prints
/// `peak-rss-kib rss-kib peak-heap-bytes seconds`.
fn child(spec: &str) {
    let (row, items) = spec.split_once(' ').expect("`<row> <items>`");
    let row = Row::from_arg(row).expect("a row");
    let items: u64 = items.parse().expect("a number of items");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let rt = runtime();
    HEAP.reset_peak_usage();
    let ran = run_row(&rt, row, items, dir.path());
    let (hwm, rss) = rss_kib();
    println!(
        "{hwm} {rss} {} {:.3}",
        HEAP.peak_usage(),
        ran.elapsed.as_secs_f64()
    );
}

/// Peak RSS of 1,000,000 against 10,000,000 items, each in its own process.
fn flat_memory() {
    println!();
    println!("== peak memory: each size in a child process of its own ==");
    println!(
        "{:<34} {:>10} {:>14} {:>14} {:>16} {:>9}",
        "row", "items", "peak RSS (KiB)", "end RSS (KiB)", "peak heap (B)", "seconds"
    );
    let exe = std::env::current_exe().expect("this bench's binary");
    for row in [Row::ByHand, Row::BatchMemory, Row::BatchSqlite] {
        let mut peaks = Vec::new();
        for items in [1_000_000_u64, 10_000_000] {
            let output = Command::new(&exe)
                .env(CHILD, format!("{} {items}", row.arg()))
                .output()
                .expect("the child runs");
            assert!(
                output.status.success(),
                "child {} {items}: {}",
                row.arg(),
                String::from_utf8_lossy(&output.stderr)
            );
            let text = String::from_utf8(output.stdout).expect("text");
            let fields: Vec<&str> = text.split_whitespace().collect();
            let [hwm, rss, heap, seconds] = fields[..] else {
                panic!("the child said {text:?}");
            };
            println!(
                "{:<34} {items:>10} {hwm:>14} {rss:>14} {heap:>16} {seconds:>9}",
                row.name()
            );
            peaks.push(hwm.parse::<f64>().expect("KiB"));
        }
        println!(
            "{:<34} peak RSS 10,000,000 ÷ 1,000,000 = {:.3}",
            row.name(),
            peaks[1] / peaks[0]
        );
    }
}

/// The journal of a 1,000,000-item durable run of each trailhead shape.
fn journal(rt: &tokio::runtime::Runtime, dir: &Path) {
    println!();
    println!("== journal of a 1,000,000-item run on SQLite ==");
    let n = 1_000_000;
    for row in [Row::BatchSqlite, Row::ParallelSqlite] {
        let ran = run_row(rt, row, n, dir);
        let (commits, rows) = ran.sqlite.expect("a SQLite row");
        println!(
            "{:<34} journal entries {}, `steps` rows {rows}, writer commits during the run {commits} ({:.1} s)",
            row.name(),
            ran.journal,
            ran.elapsed.as_secs_f64()
        );
    }
    // Checkpoints counted by their events, on the in-memory store: a
    // subscriber that keeps only `StreamCheckpointed` (it sees every step's
    // events too, so this run is not timed).
    for (row, workflow_checkpoints) in [(Row::BatchMemory, true), (Row::ParallelMemory, false)] {
        let engine = Engine::builder().event_capacity(1 << 16).build();
        let mut events = engine.subscribe();
        let counted = rt.block_on(async {
            let counter = tokio::spawn(async move {
                let (mut checkpoints, mut lagged, mut done) = (0_u64, 0_u64, false);
                while let Some(event) = events.recv().await {
                    match event {
                        trailhead::Event::StreamCheckpointed { done: last, .. } => {
                            checkpoints += 1;
                            done |= last;
                        }
                        trailhead::Event::Lagged { missed, .. } => lagged += missed,
                        trailhead::Event::RunCompleted { .. } => break,
                        _ => {}
                    }
                }
                (checkpoints, lagged, done)
            });
            let checksum = if workflow_checkpoints {
                batch_loop::run(&engine, n).await
            } else {
                parallel_loop::run(&engine, n).await
            }
            .expect("the run");
            assert_eq!(checksum, expected(n));
            counter.await.expect("the counter")
        });
        let (checkpoints, lagged, done) = counted;
        println!(
            "{:<34} StreamCheckpointed events {checkpoints} (last one done: {done}); events lost to lag {lagged}",
            row.name()
        );
    }
    println!(
        "(expected from `every`: 1,000,000 / 1,000 = 1,000 checkpoints, plus the one that marks the loop done)"
    );
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD) {
        child(&spec);
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .find_map(|arg| arg.strip_prefix(name)?.strip_prefix('='))
            .map(|value| value.replace('_', "").parse().expect("a number"))
    };
    let items: u64 = value("items").unwrap_or(1_000_000);
    let rounds = value("rounds").unwrap_or(5) as usize;
    let has = |part: &str| args.iter().any(|arg| arg == part);
    let all = !has("throughput") && !has("rss") && !has("journal");
    let dir = tempfile::tempdir().expect("a temporary directory");
    println!(
        "database files in {}; checkpoints every {EVERY} items",
        dir.path().display()
    );
    let rt = runtime();
    if all || has("throughput") {
        throughput(&rt, dir.path(), items, rounds);
    }
    if all || has("rss") {
        flat_memory();
    }
    if all || has("journal") {
        journal(&rt, dir.path());
    }
}
