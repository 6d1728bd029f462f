//! The durable store: trailhead on a `SqliteStore` file against plain rusqlite
//! doing the same writes with the same settings (the floor), in the same run.
//!
//! `cargo bench --bench durable` (a plain binary, not divan). For
//! `synchronous = FULL` (the default) and `NORMAL`, on database files in a
//! fresh temporary directory (`$TMPDIR`, else `/tmp`):
//!
//! 1. **Throughput**: 1, 100 and 1,000 concurrent runs of a 100-step chain of
//!    trivial steps; durable steps per second = 100 × runs / (first start to
//!    last result). The writer's commits per sample (`SqliteStore::commits`) give
//!    its average batch (writes per transaction: each run writes 102 times, its
//!    record, 100 steps, its outcome). The floor, right after each trailhead
//!    sample: one rusqlite connection inserts the same number of step rows, of
//!    the same size, into the same `steps` table, in transactions of that
//!    sample's average batch size.
//!    Also, for information: the writer's own statements (savepoint per write,
//!    `INSERT … SELECT` with its checks) run by hand in the same batches.
//! 2. **Latency**: 200 runs of a 3-step workflow, one at a time (after 200 not
//!    counted), each from start to result; the floor, interleaved with them:
//!    three step rows, each committed on its own; and, for information, the
//!    writer's five commits of such a run (record, steps, outcome) by hand.
//! 3. **Fan-out in one run**: one run of `parallel(limit = 32)` over 10,000
//!    items, and one of `parallel(limit = 100)` over 100, from start to
//!    result; the floor commits the same step rows in transactions of the
//!    limit (what is in flight at once: 32 rows, or all 100 in one).
//!
//! Every sample checks its work: each run's output, and afterwards the rows in
//! the database (every step row and every run completed). BENCHMARKS.md has the
//! tables.

mod common;

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, TransactionBehavior, params};
use trailhead::{Engine, RunId, SqliteStore, StepKey, Synchronous, workflow};

use common::{inc, runtime, sum_of_inc};

/// Steps per run in the throughput rows.
const STEPS: u64 = 100;
/// Writes per run of [`chain`]: its record, its steps, its outcome.
const WRITES_PER_RUN: u64 = STEPS + 2;
/// Concurrent runs in the throughput rows, and samples of each.
const THROUGHPUT: [(usize, usize); 3] = [(1, 11), (100, 7), (1000, 5)];
/// Runs of [`three`] timed for the latency row.
const LATENCY_RUNS: usize = 200;
/// Runs before them, not timed: enough for both databases' write-ahead logs to
/// have been checkpointed and restarted at least once (the first 1,000 or so
/// frames of a WAL are appends that grow the file, whose fsyncs cost more
/// than those of the steady state, which rewrites it; trailhead writes about
/// 10 frames per run, the floor 6 per round).
const LATENCY_WARMUP: usize = 200;
/// fsyncs timed for the disk's own figure.
const FSYNCS: usize = 200;

workflow! {
    /// `x = inc(x)`, `n` times: each step depends on the one before.
    workflow chain(n: u64) -> Result<u64, trailhead::Error> {
        let mut x = 0;
        for _ in 0..n {
            x = step inc(x);
        }
        Ok(x)
    }

    /// `inc(i)` for every `i` in `0..n`, at most 32 at a time: the steps of
    /// one run that finish together.
    workflow fan32(n: u64) -> Result<u64, trailhead::Error> {
        let outputs = parallel(limit = 32) for i in 0..n {
            step inc(i)
        };
        Ok(outputs.iter().sum())
    }

    /// `inc(i)` for every `i` in `0..n`, at most 100 at a time.
    workflow fan100(n: u64) -> Result<u64, trailhead::Error> {
        let outputs = parallel(limit = 100) for i in 0..n {
            step inc(i)
        };
        Ok(outputs.iter().sum())
    }

    /// Three steps, one after another.
    workflow three(x: u64) -> Result<u64, trailhead::Error> {
        let a = step inc(x);
        let b = step inc(a);
        let c = step inc(b);
        Ok(c)
    }
}

/// The floor's insert: a plain prepared statement, the sequence number given
/// (columns not named, such as `codec`, take their defaults, as in trailhead's
/// own insert).
const INSERT: &str =
    "INSERT INTO steps (run_id, key, seq, outcome, attempts, started_at, finished_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// trailhead's writer's own statements (trailhead-core's
/// `store/sqlite/writer.rs`, copied): a run's record, a step, a run's outcome.
/// The "writer's SQL by hand" rows run them as the writer does (in
/// `BEGIN IMMEDIATE`, each under its own savepoint, prepared anew each time by
/// `Connection::execute`) but from one plain thread, to split the gap between
/// trailhead and the floor into the SQL and the rest.
const WRITER_CREATE_RUN: &str = "INSERT INTO runs (id, workflow, definition_hash, parent, input, status, outcome, mermaid, created_at, finished_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
const WRITER_STEP: &str =
    "INSERT INTO steps (run_id, key, seq, outcome, attempts, started_at, finished_at)
                 SELECT ?1, ?2, (SELECT COUNT(*) FROM steps WHERE run_id = ?1), ?3, ?4, ?5, ?6
                 WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?1 AND status = 'running')";
const WRITER_FINISH: &str = "UPDATE runs SET status = ?2, outcome = ?3, finished_at = ?4 WHERE id = ?1 AND status = 'running'";

/// Text lengths of a step row: run id, key and outcome (bytes, averaged).
const ROW_TEXT: &str =
    "SELECT AVG(LENGTH(run_id)), AVG(LENGTH(key)), AVG(LENGTH(outcome)) FROM steps";

fn sql_level(synchronous: Synchronous) -> &'static str {
    match synchronous {
        Synchronous::Full => "FULL",
        _ => "NORMAL",
    }
}

/// The floor's database: made by `SqliteStore::open_with` (so its tables and
/// indexes are trailhead's current schema, migrations applied), and a plain
/// rusqlite connection to it with the settings `SqliteStore` gives its writer
/// (WAL, the sync setting, a busy timeout). The store is kept open, idle (its
/// writer thread waits for requests), until the floor is done.
fn floor_database(path: &Path, synchronous: Synchronous) -> (SqliteStore, Connection) {
    let store = SqliteStore::open_with(path, synchronous).expect("the floor's schema");
    let connection = Connection::open(path).expect("the floor's database");
    connection
        .busy_timeout(Duration::from_secs(5))
        .expect("a busy timeout");
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .expect("WAL");
    connection
        .pragma_update(None, "synchronous", sql_level(synchronous))
        .expect("the sync setting");
    let mode: String = connection
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .expect("the journal mode");
    assert_eq!(mode, "wal");
    let level: i64 = connection
        .query_row("PRAGMA synchronous", [], |row| row.get(0))
        .expect("the sync setting");
    assert_eq!(
        level,
        if synchronous == Synchronous::Full {
            2
        } else {
            1
        }
    );
    (store, connection)
}

/// The single integer `sql` gives.
fn count(connection: &Connection, sql: &str) -> u64 {
    let n: i64 = connection
        .query_row(sql, [], |row| row.get(0))
        .expect("a count");
    u64::try_from(n).expect("a count is not negative")
}

fn nanos_now() -> i64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    i64::try_from(nanos).expect("nanoseconds fit")
}

/// A step row as trailhead writes one for `inc`: a UUID run id, the key
/// `inc[i]`, the outcome `{"Completed":i+1}`, one attempt, two timestamps.
struct StepRow {
    run: String,
    key: String,
    seq: i64,
    outcome: String,
    attempts: i64,
    started_at: i64,
    finished_at: i64,
}

impl StepRow {
    fn new(run: &str, index: u64) -> Self {
        let at = nanos_now();
        Self {
            run: run.to_owned(),
            key: StepKey::new("inc", &[u32::try_from(index).expect("a small index")]).to_string(),
            seq: i64::try_from(index).expect("a small index"),
            outcome: format!("{{\"Completed\":{}}}", index + 1),
            attempts: 1,
            started_at: at,
            finished_at: at,
        }
    }

    fn insert(&self, statement: &mut rusqlite::CachedStatement<'_>) {
        let inserted = statement
            .execute(params![
                self.run,
                self.key,
                self.seq,
                self.outcome,
                self.attempts,
                self.started_at,
                self.finished_at,
            ])
            .expect("the floor's insert");
        assert_eq!(inserted, 1);
    }
}

impl StepRow {
    /// The step as the writer inserts it: its own savepoint in `transaction`,
    /// the statement prepared anew.
    fn insert_as_writer(&self, transaction: &mut rusqlite::Transaction<'_>) {
        let savepoint = transaction.savepoint().expect("a savepoint");
        let inserted = savepoint
            .execute(
                WRITER_STEP,
                params![
                    self.run,
                    self.key,
                    self.outcome,
                    self.attempts,
                    self.started_at,
                    self.finished_at,
                ],
            )
            .expect("the writer's step insert");
        assert_eq!(inserted, 1);
        savepoint.commit().expect("the savepoint's release");
    }
}

/// The run record the writer inserts for a run of `workflow`, as it does.
fn create_run_as_writer(
    transaction: &mut rusqlite::Transaction<'_>,
    run: &str,
    workflow: &str,
    mermaid: &str,
) {
    let savepoint = transaction.savepoint().expect("a savepoint");
    let inserted = savepoint
        .execute(
            WRITER_CREATE_RUN,
            params![
                run,
                workflow,
                0x5eed_i64,
                None::<&str>,
                "0",
                "running",
                None::<&str>,
                mermaid,
                nanos_now(),
                None::<i64>,
            ],
        )
        .expect("the writer's run insert");
    assert_eq!(inserted, 1);
    savepoint.commit().expect("the savepoint's release");
}

/// The run's outcome, as the writer records it.
fn finish_as_writer(transaction: &mut rusqlite::Transaction<'_>, run: &str, output: u64) {
    let savepoint = transaction.savepoint().expect("a savepoint");
    let updated = savepoint
        .execute(
            WRITER_FINISH,
            params![
                run,
                "completed",
                format!("{{\"Completed\":{output}}}"),
                nanos_now()
            ],
        )
        .expect("the writer's run update");
    assert_eq!(updated, 1);
    savepoint.commit().expect("the savepoint's release");
}

/// The rows of `runs` runs of `STEPS` steps, in the order concurrent runs
/// reach them: every run's step 0, then every run's step 1, and so on.
fn floor_rows(runs: usize) -> Vec<StepRow> {
    let ids: Vec<RunId> = (0..runs).map(|_| RunId::generate()).collect();
    (0..STEPS)
        .flat_map(|index| ids.iter().map(move |id| StepRow::new(id.as_str(), index)))
        .collect()
}

/// Percentile `p` (0–1) of sorted `values`, nearest rank.
fn percentile<T: Copy>(sorted: &[T], p: f64) -> T {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    percentile(&sorted, 0.5)
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

/// A database file of its own in `dir`: names are never reused, since a
/// dropped `SqliteStore`'s writer thread closes its connection a moment later,
/// and closing the last connection removes the `-wal` file of that name.
fn fresh_database(dir: &Path, what: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    dir.join(format!(
        "{what}-{}.db",
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Removes a database file and its WAL and shared-memory files.
fn remove_database(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(file));
    }
}

/// The disk's own speed: `FSYNCS` times, 4 KiB appended to a file and
/// `fsync`ed (`File::sync_all`), and the same with `fdatasync`
/// (`File::sync_data`); p50 and p99 in µs.
fn measure_fsync(dir: &Path) -> [(f64, f64); 2] {
    let path = dir.join("fsync.bin");
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("a file to fsync");
    let page = [7_u8; 4096];
    let mut results = [(0.0, 0.0); 2];
    for (data_only, result) in [false, true].into_iter().zip(&mut results) {
        let mut times = Vec::with_capacity(FSYNCS);
        for _ in 0..FSYNCS {
            file.write_all(&page).expect("a write");
            let start = Instant::now();
            if data_only {
                file.sync_data().expect("fdatasync");
            } else {
                file.sync_all().expect("fsync");
            }
            times.push(micros(start.elapsed()));
        }
        times.sort_by(f64::total_cmp);
        *result = (percentile(&times, 0.5), percentile(&times, 0.99));
    }
    drop(file);
    let _ = std::fs::remove_file(&path);
    results
}

/// Runs `work` on an engine over a fresh `SqliteStore` at `path`, in a task
/// of its own; what it gives, and the writer's commits meanwhile. The store
/// is closed (its last writes committed) before this returns.
fn on_store<T, F, Fut>(
    rt: &tokio::runtime::Runtime,
    path: &Path,
    synchronous: Synchronous,
    work: F,
) -> (T, u64)
where
    F: FnOnce(Engine) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let store = SqliteStore::open_with(path, synchronous).expect("the store");
    let engine = Engine::builder().store(store.clone()).build();
    let before = store.commits();
    let output =
        rt.block_on(async { tokio::spawn(work(engine)).await.expect("the sample's task") });
    let commits = store.commits() - before;
    drop(store);
    (output, commits)
}

/// One throughput sample of trailhead: `runs` concurrent runs of `chain`.
struct DurableSample {
    steps_per_second: f64,
    commits: u64,
    /// Writes per commit.
    batch: f64,
    /// Average text bytes of a step row (run id, key, outcome).
    row_text: [f64; 3],
}

fn durable_sample(
    rt: &tokio::runtime::Runtime,
    path: &Path,
    synchronous: Synchronous,
    runs: usize,
) -> DurableSample {
    let (elapsed, commits) = on_store(rt, path, synchronous, move |engine| async move {
        let start = Instant::now();
        let tasks: Vec<_> = (0..runs)
            .map(|_| {
                let engine = engine.clone();
                tokio::spawn(async move { chain::run(&engine, STEPS).await })
            })
            .collect();
        for task in tasks {
            let output = task.await.expect("the run's task").expect("the run");
            assert_eq!(output, STEPS);
        }
        start.elapsed()
    });
    let check = Connection::open(path).expect("a connection to check");
    let steps = count(&check, "SELECT COUNT(*) FROM steps");
    let completed = count(
        &check,
        "SELECT COUNT(*) FROM runs WHERE status = 'completed'",
    );
    assert_eq!(steps, runs as u64 * STEPS, "every step is journaled");
    assert_eq!(completed, runs as u64, "every run is recorded completed");
    let row_text = check
        .query_row(ROW_TEXT, [], |row| {
            Ok([row.get(0)?, row.get(1)?, row.get(2)?])
        })
        .expect("the row sizes");
    drop(check);
    remove_database(path);
    let total_steps = runs as f64 * STEPS as f64;
    DurableSample {
        steps_per_second: total_steps / elapsed.as_secs_f64(),
        commits,
        batch: (runs as u64 * WRITES_PER_RUN) as f64 / commits as f64,
        row_text,
    }
}

/// How the rows of a floor sample are written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    /// The floor: one prepared insert, reused.
    Plain,
    /// The writer's statements and savepoints, by hand (the runs' records are
    /// inserted first, untimed, since its step insert checks them).
    WriterSql,
}

/// One sample of the floor: `rows` inserted in transactions of `batch` rows,
/// in their order; the time it took and the row text sizes.
fn floor_sample(
    path: &Path,
    synchronous: Synchronous,
    rows: &[StepRow],
    batch: usize,
    way: Way,
) -> (Duration, [f64; 3]) {
    let (schema, mut connection) = floor_database(path, synchronous);
    if way == Way::WriterSql {
        let mut transaction = connection.transaction().expect("a transaction");
        let mut recorded = std::collections::HashSet::new();
        for row in rows {
            if recorded.insert(row.run.as_str()) {
                create_run_as_writer(&mut transaction, &row.run, chain::NAME, chain::MERMAID);
            }
        }
        transaction.commit().expect("the runs' records");
    }
    let start = Instant::now();
    for chunk in rows.chunks(batch) {
        let mut transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("a transaction");
        match way {
            Way::Plain => {
                let mut statement = transaction.prepare_cached(INSERT).expect("the insert");
                for row in chunk {
                    row.insert(&mut statement);
                }
            }
            Way::WriterSql => {
                for row in chunk {
                    row.insert_as_writer(&mut transaction);
                }
            }
        }
        transaction.commit().expect("the commit");
    }
    let elapsed = start.elapsed();
    let inserted = count(&connection, "SELECT COUNT(*) FROM steps");
    assert_eq!(inserted, rows.len() as u64, "every floor row is inserted");
    if way == Way::WriterSql {
        // The writer's insert numbers a run's steps in order.
        let misnumbered = count(
            &connection,
            "SELECT COUNT(*) FROM steps WHERE seq != CAST(substr(key, 5) AS INTEGER)",
        );
        assert_eq!(misnumbered, 0);
    }
    let row_text = connection
        .query_row(ROW_TEXT, [], |row| {
            Ok([row.get(0)?, row.get(1)?, row.get(2)?])
        })
        .expect("the row sizes");
    drop((connection, schema));
    remove_database(path);
    (elapsed, row_text)
}

fn throughput(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    synchronous: Synchronous,
    concurrency: &[usize],
) {
    println!(
        "{:>5} {:>7} {:>14} {:>8} {:>12} {:>6} {:>12} {:>7} {:>14} {:>7}",
        "runs",
        "samples",
        "durable step/s",
        "commits",
        "steps/commit",
        "batch",
        "floor step/s",
        "ratio",
        "writer SQL s/s",
        "ratio"
    );
    let mut sizes = None;
    for (runs, samples) in THROUGHPUT
        .into_iter()
        .filter(|(runs, _)| concurrency.contains(runs))
    {
        let mut durable = Vec::new();
        let mut commits = Vec::new();
        let mut batches = Vec::new();
        let mut floor = Vec::new();
        let mut ratios = Vec::new();
        let mut by_hand = Vec::new();
        let mut by_hand_ratios = Vec::new();
        for _ in 0..samples {
            let path = fresh_database(dir, "throughput");
            let sample = durable_sample(rt, &path, synchronous, runs);
            // The floor's transactions: the writer's average batch, in rows.
            let batch = (sample.batch.round() as usize).max(1);
            let rows = floor_rows(runs);
            let rate = |elapsed: Duration| rows.len() as f64 / elapsed.as_secs_f64();
            let (floor_took, floor_text) = floor_sample(
                &fresh_database(dir, "floor"),
                synchronous,
                &rows,
                batch,
                Way::Plain,
            );
            let floor_rate = rate(floor_took);
            let (by_hand_took, _) = floor_sample(
                &fresh_database(dir, "by-hand"),
                synchronous,
                &rows,
                batch,
                Way::WriterSql,
            );
            let by_hand_rate = rate(by_hand_took);
            by_hand.push(by_hand_rate);
            by_hand_ratios.push(by_hand_rate / floor_rate);
            durable.push(sample.steps_per_second);
            commits.push(sample.commits as f64);
            batches.push(sample.batch);
            floor.push(floor_rate);
            ratios.push(sample.steps_per_second / floor_rate);
            sizes = Some((sample.row_text, floor_text));
        }
        let steps = runs as f64 * STEPS as f64;
        println!(
            "{runs:>5} {samples:>7} {:>14.0} {:>8.0} {:>12.1} {:>6.1} {:>12.0} {:>6.0}% {:>14.0} {:>6.0}%",
            median(&durable),
            median(&commits),
            steps / median(&commits),
            median(&batches),
            median(&floor),
            median(&ratios) * 100.0,
            median(&by_hand),
            median(&by_hand_ratios) * 100.0,
        );
    }
    if let Some((durable, floor)) = sizes {
        println!(
            "row text bytes (run id, key, outcome): trailhead {:.1} / {:.1} / {:.1}, floor {:.1} / {:.1} / {:.1}",
            durable[0], durable[1], durable[2], floor[0], floor[1], floor[2]
        );
    }
    println!(
        "(medians; batch = writes per commit, 102 writes per run; the floor commits \
         its rows in transactions of the rounded batch; ratio = median of per-sample \
         durable / floor; writer SQL = the writer's statements and savepoints by hand, \
         same batches, its ratio = writer SQL / floor)"
    );
}

/// The fan-out rows: items, `parallel` limit (the workflow: [`fan32`] or
/// [`fan100`]), samples. The floor commits the same rows in transactions of
/// the limit: what is in flight at once.
const FANOUTS: [(u64, usize, usize); 2] = [(10_000, 32, 5), (100, 100, 21)];

/// One sample of a fan-out: one run fanning `items` out at `limit`, from its
/// start to its result; the time and the writer's commits.
fn fanout_sample(
    rt: &tokio::runtime::Runtime,
    path: &Path,
    synchronous: Synchronous,
    items: u64,
    limit: usize,
) -> (Duration, u64) {
    let (elapsed, commits) = on_store(rt, path, synchronous, move |engine| async move {
        let start = Instant::now();
        let output = match limit {
            32 => fan32::run(&engine, items).await,
            100 => fan100::run(&engine, items).await,
            _ => unreachable!("a fan-out row's limit is 32 or 100"),
        }
        .expect("the run");
        let took = start.elapsed();
        assert_eq!(output, sum_of_inc(items), "every item's step ran");
        took
    });
    let check = Connection::open(path).expect("a connection to check");
    assert_eq!(
        count(&check, "SELECT COUNT(*) FROM steps"),
        items,
        "every step is journaled"
    );
    assert_eq!(
        count(&check, "SELECT COUNT(DISTINCT seq) FROM steps"),
        items,
        "every entry has a place of its own in the journal"
    );
    assert_eq!(
        count(
            &check,
            "SELECT COUNT(*) FROM runs WHERE status = 'completed'"
        ),
        1,
        "the run is recorded completed"
    );
    drop(check);
    remove_database(path);
    (elapsed, commits)
}

fn fanout(rt: &tokio::runtime::Runtime, dir: &Path, synchronous: Synchronous, items: &[u64]) {
    println!(
        "{:>6} {:>5} {:>7} {:>12} {:>14} {:>8} {:>13} {:>10} {:>12} {:>8} {:>8}",
        "items",
        "limit",
        "samples",
        "durable µs",
        "durable step/s",
        "commits",
        "writes/commit",
        "floor µs",
        "floor step/s",
        "rate %",
        "time ×"
    );
    for (n, limit, samples) in FANOUTS
        .into_iter()
        .filter(|(n, _, _)| items.is_empty() || items.contains(n))
    {
        let mut durable = Vec::new();
        let mut commits = Vec::new();
        let mut floor = Vec::new();
        let mut ratios = Vec::new();
        for _ in 0..samples {
            let (took, committed) =
                fanout_sample(rt, &fresh_database(dir, "fanout"), synchronous, n, limit);
            let id = RunId::generate();
            let rows: Vec<StepRow> = (0..n).map(|i| StepRow::new(id.as_str(), i)).collect();
            let (floor_took, _) = floor_sample(
                &fresh_database(dir, "fanout-floor"),
                synchronous,
                &rows,
                limit,
                Way::Plain,
            );
            durable.push(micros(took));
            commits.push(committed as f64);
            floor.push(micros(floor_took));
            ratios.push(took.as_secs_f64() / floor_took.as_secs_f64());
        }
        let (durable, floor, ratio) = (median(&durable), median(&floor), median(&ratios));
        let writes = n as f64 + 2.0;
        println!(
            "{n:>6} {limit:>5} {samples:>7} {durable:>12.0} {:>14.0} {:>8.0} {:>13.1} {floor:>10.0} {:>12.0} {:>7.0}% {ratio:>7.2}×",
            n as f64 / durable * 1e6,
            median(&commits),
            writes / median(&commits),
            n as f64 / floor * 1e6,
            100.0 / ratio,
        );
    }
    println!(
        "(medians; one run, its record, steps and outcome: items + 2 writes; the floor \
         commits the step rows alone, in transactions of the limit; rate % = floor time / \
         durable time and time × = durable time / floor time, medians of the per-sample ratios)"
    );
}

/// The writer's five commits for one run of [`three`], by hand: its record,
/// its three steps, its outcome, each in its own `BEGIN IMMEDIATE` transaction.
fn three_as_writer(connection: &mut Connection) {
    let id = RunId::generate();
    let commit = |connection: &mut Connection, write: &dyn Fn(&mut rusqlite::Transaction<'_>)| {
        let mut transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("a transaction");
        write(&mut transaction);
        transaction.commit().expect("the commit");
    };
    commit(connection, &|transaction| {
        create_run_as_writer(transaction, id.as_str(), three::NAME, three::MERMAID);
    });
    for index in 0..3 {
        let row = StepRow::new(id.as_str(), index);
        commit(connection, &|transaction| row.insert_as_writer(transaction));
    }
    commit(connection, &|transaction| {
        finish_as_writer(transaction, id.as_str(), 3);
    });
}

fn latency(rt: &tokio::runtime::Runtime, dir: &Path, synchronous: Synchronous) {
    let path = fresh_database(dir, "latency");
    let floor_path = fresh_database(dir, "latency-floor");
    let by_hand_path = fresh_database(dir, "latency-by-hand");
    let store = SqliteStore::open_with(&path, synchronous).expect("the store");
    let engine = Engine::builder().store(store.clone()).build();
    let (floor_schema, connection) = floor_database(&floor_path, synchronous);
    let (by_hand_schema, by_hand_connection) = floor_database(&by_hand_path, synchronous);
    let before = store.commits();
    let (mut timings, connection, by_hand_connection) = rt.block_on(async move {
        tokio::spawn(async move {
            let mut by_hand_connection = by_hand_connection;
            // trailhead, the floor, the writer's SQL by hand.
            let mut timings: [Vec<f64>; 3] = Default::default();
            for round in 0..LATENCY_WARMUP + LATENCY_RUNS {
                let start = Instant::now();
                let output = three::run(&engine, 0).await.expect("the run");
                let took = start.elapsed();
                assert_eq!(output, 3);

                let id = RunId::generate();
                let rows: Vec<StepRow> = (0..3).map(|i| StepRow::new(id.as_str(), i)).collect();
                let start = Instant::now();
                for row in &rows {
                    // Autocommit: each row its own transaction.
                    let mut statement = connection.prepare_cached(INSERT).expect("the insert");
                    row.insert(&mut statement);
                }
                let floor_took = start.elapsed();

                let start = Instant::now();
                three_as_writer(&mut by_hand_connection);
                let by_hand_took = start.elapsed();
                if round >= LATENCY_WARMUP {
                    timings[0].push(micros(took));
                    timings[1].push(micros(floor_took));
                    timings[2].push(micros(by_hand_took));
                }
            }
            (timings, connection, by_hand_connection)
        })
        .await
        .expect("the latency task")
    });
    let commits = store.commits() - before;
    let runs = (LATENCY_WARMUP + LATENCY_RUNS) as u64;
    let check = Connection::open(&path).expect("a connection to check");
    let completed = "SELECT COUNT(*) FROM runs WHERE status = 'completed'";
    assert_eq!(count(&check, "SELECT COUNT(*) FROM steps"), runs * 3);
    assert_eq!(count(&check, completed), runs);
    assert_eq!(count(&connection, "SELECT COUNT(*) FROM steps"), runs * 3);
    assert_eq!(
        count(&by_hand_connection, "SELECT COUNT(*) FROM steps"),
        runs * 3
    );
    assert_eq!(count(&by_hand_connection, completed), runs);
    drop((check, connection, store, floor_schema));
    drop((by_hand_connection, by_hand_schema));
    for path in [&path, &floor_path, &by_hand_path] {
        remove_database(path);
    }

    let [p50, p99, f50, f99, h50, h99] = {
        for timing in &mut timings {
            timing.sort_by(f64::total_cmp);
        }
        let [durable, floor, by_hand] = &timings;
        [
            percentile(durable, 0.5),
            percentile(durable, 0.99),
            percentile(floor, 0.5),
            percentile(floor, 0.99),
            percentile(by_hand, 0.5),
            percentile(by_hand, 0.99),
        ]
    };
    println!(
        "3-step run alone, {LATENCY_RUNS} runs: p50 {p50:.0} µs, p99 {p99:.0} µs; \
         commits per run {:.2}",
        commits as f64 / runs as f64
    );
    println!("floor, 3 single-row commits:  p50 {f50:.0} µs, p99 {f99:.0} µs");
    println!(
        "durable / floor: p50 {:.2}×, p99 {:.2}×",
        p50 / f50,
        p99 / f99
    );
    println!(
        "the writer's 5 commits by hand (run record, 3 steps, outcome): p50 {h50:.0} µs, \
         p99 {h99:.0} µs; / floor: p50 {:.2}×",
        h50 / f50
    );
}

/// What to run: the arguments `full`, `normal`, `throughput`, `latency`,
/// `fanout` and a number of concurrent runs (`1`, `100`, `1000`) or of a
/// fan-out's items (`100`, `10000`) pick parts (by default all of them;
/// cargo's own `--bench` is ignored), to profile one of them.
struct Parts {
    modes: Vec<Synchronous>,
    concurrency: Vec<usize>,
    throughput: bool,
    latency: bool,
    fanout: bool,
    /// The fan-out rows' item counts picked (`10000`, `100`; none: all).
    items: Vec<u64>,
}

fn parts() -> Parts {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let has = |word: &str| args.iter().any(|arg| arg == word);
    let mut modes = Vec::new();
    if has("full") || !has("normal") {
        modes.push(Synchronous::Full);
    }
    if has("normal") || !has("full") {
        modes.push(Synchronous::Normal);
    }
    let neither = !has("throughput") && !has("latency") && !has("fanout");
    let picked: Vec<usize> = args.iter().filter_map(|arg| arg.parse().ok()).collect();
    let items = FANOUTS
        .iter()
        .map(|&(n, _, _)| n)
        .filter(|n| picked.iter().any(|&p| p as u64 == *n))
        .collect();
    let concurrency = THROUGHPUT
        .iter()
        .map(|&(runs, _)| runs)
        .filter(|runs| picked.is_empty() || picked.contains(runs))
        .collect();
    Parts {
        modes,
        concurrency,
        throughput: neither || has("throughput"),
        latency: neither || has("latency"),
        fanout: neither || has("fanout"),
        items,
    }
}

fn main() {
    let parts = parts();
    let dir = tempfile::tempdir().expect("a temporary directory");
    println!("database files in {}", dir.path().display());
    let [fsync, fdatasync] = measure_fsync(dir.path());
    println!(
        "disk: 4 KiB append + fsync p50 {:.0} µs, p99 {:.0} µs; + fdatasync p50 {:.0} µs, p99 {:.0} µs ({FSYNCS} each)",
        fsync.0, fsync.1, fdatasync.0, fdatasync.1
    );
    let rt = runtime();
    for synchronous in parts.modes {
        println!();
        println!("== synchronous = {} ==", sql_level(synchronous));
        if parts.throughput {
            throughput(&rt, dir.path(), synchronous, &parts.concurrency);
        }
        if parts.latency {
            latency(&rt, dir.path(), synchronous);
        }
        if parts.fanout {
            fanout(&rt, dir.path(), synchronous, &parts.items);
        }
    }
}
