//! The fleet on PostgreSQL (issue 11): trailhead workers on `PgStore`s
//! against hand-written sqlx writing the same rows to the same server (the
//! floor), in the same run.
//!
//! `cargo bench -p trailhead-benches --bench fleet` (a plain binary, not
//! divan: each sample is a multi-second throughput run with its own schema,
//! workers and checks, which divan's many short iterations do not fit).
//! The server is `trailhead_test_postgres::url()`: a throwaway cluster
//! (`fsync = on`), or `DATABASE_URL`'s. `synchronous_commit` is read and
//! must be `on`.
//!
//! 1. **Throughput**: 1, 2 and 4 workers, each an `Engine` on its own
//!    `PgStore` (own pool of 10 connections, own worker row) that registered
//!    the workflow, with `worker_concurrency` = concurrency / workers; a
//!    separate client engine on its own store enqueues the runs (up to 64
//!    enqueues in flight). Timed from the first enqueue until every run is
//!    completed (a count polled every 5 ms on one more connection). Cases:
//!    a 100-step chain with 64 runs at 64 in flight and 1,000 runs at 1,000,
//!    and a 1-step workflow with 2,000 runs at 64 and at 1,000 in flight.
//!    The floors, right after each trailhead sample, on a fresh schema made
//!    by `PgStore` (the same tables and indexes): the same rows (a run row,
//!    its step rows, its end update) through sqlx 0.9,
//!    - **per-step commits**: the same number of runs in flight, each
//!      writing its rows one autocommitted statement after another, on one
//!      pool with the fleet's connections (10 per worker);
//!    - **batched**: one connection per worker, each writing its share of
//!      the runs in waves of the same concurrency: each wave's run rows in
//!      one multi-row `INSERT … unnest` committed, then each step index's
//!      rows of the wave likewise, then the end updates.
//! 2. **Latency**: runs of a 3-step workflow one at a time on one worker,
//!    each from `enqueue` to `handle.result()` on the client (after a
//!    warm-up not counted); the claim latency of each is from the enqueue to
//!    the start of its first step's body. The floor, interleaved: one
//!    connection writing the same rows (run row, 3 steps, end) one
//!    autocommitted statement at a time, and the 3 step rows alone.
//!
//! Every sample checks its work: each run's output through its handle, and
//! afterwards the rows (every run completed, every step row there) in both
//! trailhead's schema and the floor's. Any wrong result exits non-zero.
//!
//! Arguments (after `--`): `throughput` or `latency` for one part,
//! `rounds=N` (default 3), `quick` (a tenth of the runs, for a smoke test).

mod common;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt as _;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection as _, PgConnection};
use trailhead::store::Value;
use trailhead::{Engine, PgStore, RunHandle, Workflow, workflow};

use common::{inc, runtime};

/// Connections in each worker's pool (`PgStore`'s default).
const POOL: u32 = 10;
/// Enqueues the client keeps in flight.
const ENQUEUERS: usize = 64;
/// Workers per throughput row.
const WORKERS: [usize; 3] = [1, 2, 4];
/// (steps per run, runs in flight, runs) of the throughput rows.
const CASES: [(u64, usize, usize); 4] = [
    (100, 64, 64),
    (100, 1000, 1000),
    (1, 64, 2000),
    (1, 1000, 2000),
];
/// Runs of [`three`] timed, and before them not timed.
const LATENCY_RUNS: usize = 300;
const LATENCY_WARMUP: usize = 50;
/// The longest a throughput sample may take before it counts as failed.
const SAMPLE_DEADLINE: Duration = Duration::from_secs(240);

/// When the body of [`three`]'s first step last started.
static FIRST_STEP: Mutex<Option<Instant>> = Mutex::new(None);

/// [`inc`], noting when it started in [`FIRST_STEP`].
async fn mark(x: u64) -> Result<u64, Infallible> {
    *FIRST_STEP
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
    inc(x).await
}

workflow! {
    /// `x = inc(x)`, `n` times from `start`: gives `start + n`.
    workflow chain(start: u64, n: u64) -> Result<u64, trailhead::Error> {
        let mut x = start;
        for _ in 0..n {
            x = step inc(x);
        }
        Ok(x)
    }

    /// Three steps, one after another; the first notes when it started.
    workflow three(x: u64) -> Result<u64, trailhead::Error> {
        let a = step mark(x);
        let b = step inc(a);
        let c = step inc(b);
        Ok(c)
    }
}

/// A failed check: the bench prints it and exits non-zero.
type Checked<T> = Result<T, String>;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let part = |name: &str| {
        !args.iter().any(|a| a == "throughput" || a == "latency") || args.iter().any(|a| a == name)
    };
    let rounds = args
        .iter()
        .find_map(|a| a.strip_prefix("rounds=").and_then(|n| n.parse().ok()))
        .unwrap_or(3usize);
    let quick = args.iter().any(|a| a == "quick");
    let rt = runtime();
    let outcome = rt.block_on(async {
        let url = trailhead_test_postgres::url();
        server_settings(url).await?;
        if part("throughput") {
            throughput(url, rounds, quick).await?;
        }
        if part("latency") {
            latency(url, rounds, quick).await?;
        }
        Ok::<(), String>(())
    });
    if let Err(why) = outcome {
        eprintln!("FAILED: {why}");
        std::process::exit(1);
    }
}

/// Prints the server's version and durability settings; refuses to measure
/// unless `synchronous_commit` and `fsync` are on.
async fn server_settings(url: &str) -> Checked<()> {
    let mut connection = PgConnection::connect(url)
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    let mut settings = Vec::new();
    for name in [
        "server_version",
        "synchronous_commit",
        "fsync",
        "wal_sync_method",
        "shared_buffers",
        "max_connections",
    ] {
        let value: String = sqlx::query_scalar(AssertSqlSafe(format!("SHOW {name}")))
            .fetch_one(&mut connection)
            .await
            .map_err(|e| format!("SHOW {name}: {e}"))?;
        settings.push((name, value));
    }
    println!("# fleet on PostgreSQL");
    for (name, value) in &settings {
        println!("{name} = {value}");
    }
    for name in ["synchronous_commit", "fsync"] {
        let on = settings.iter().any(|(n, v)| *n == name && v == "on");
        if !on {
            return Err(format!("{name} must be on for this bench"));
        }
    }
    println!(
        "cores = {}",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    Ok(())
}

/// A fresh schema made by a `PgStore` (migrations applied), and that store.
async fn fresh_store(url: &str, schema: &str, max_connections: u32) -> Checked<PgStore> {
    PgStore::builder(url)
        .schema(schema)
        .max_connections(max_connections)
        .connect()
        .await
        .map_err(|e| format!("connecting a store in {schema}: {e}"))
}

async fn drop_schema(pool: &PgPool, schema: &str) -> Checked<()> {
    sqlx::query(AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE")))
        .execute(pool)
        .await
        .map_err(|e| format!("dropping {schema}: {e}"))?;
    Ok(())
}

async fn scalar(pool: &PgPool, sql: String) -> Checked<i64> {
    sqlx::query_scalar(AssertSqlSafe(sql.clone()))
        .fetch_one(pool)
        .await
        .map_err(|e| format!("{sql}: {e}"))
}

/// Checks that `schema` holds `runs` completed runs and `runs × steps` step
/// rows.
async fn check_rows(
    pool: &PgPool,
    schema: &str,
    runs: usize,
    steps: u64,
    what: &str,
) -> Checked<()> {
    let completed = scalar(
        pool,
        format!("SELECT count(*) FROM \"{schema}\".runs WHERE status = 'completed'"),
    )
    .await?;
    let all = scalar(pool, format!("SELECT count(*) FROM \"{schema}\".runs")).await?;
    let rows = scalar(pool, format!("SELECT count(*) FROM \"{schema}\".steps")).await?;
    let want_rows = i64::try_from(runs as u64 * steps).unwrap_or(i64::MAX);
    let want_runs = i64::try_from(runs).unwrap_or(i64::MAX);
    if completed != want_runs || all != want_runs || rows != want_rows {
        return Err(format!(
            "{what}: {completed} of {all} runs completed (want {want_runs}), {rows} step rows (want {want_rows})"
        ));
    }
    Ok(())
}

fn per_second(items: f64, took: Duration) -> f64 {
    items / took.as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn now_nanos() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
}

// ---------------------------------------------------------------------------
// Throughput
// ---------------------------------------------------------------------------

/// One sample of one row: durable steps/s of trailhead and of the floors.
#[derive(Debug, Clone, Copy)]
struct Sample {
    trailhead: f64,
    runs: f64,
    per_step: f64,
    batched: f64,
}

/// A throughput row: (workers, steps per run, runs in flight, runs).
type Row = (usize, u64, usize, usize);

async fn throughput(url: &str, rounds: usize, quick: bool) -> Checked<()> {
    let admin = PgPoolOptions::new()
        .max_connections(2)
        .connect(url)
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    let mut table: Vec<(Row, Vec<Sample>)> = Vec::new();
    for round in 1..=rounds {
        for (steps, in_flight, runs) in CASES {
            let (in_flight, runs) = if quick {
                let runs = (runs / 10).max(10);
                (in_flight.min(runs), runs)
            } else {
                (in_flight, runs)
            };
            for workers in WORKERS {
                let trailhead_took =
                    fleet_sample(url, &admin, workers, steps, in_flight, runs).await?;
                let per_step_took =
                    floor_per_step(url, &admin, workers, steps, in_flight, runs).await?;
                let batched_took =
                    floor_batched(url, &admin, workers, steps, in_flight, runs).await?;
                let rows = (runs as u64 * steps) as f64;
                let sample = Sample {
                    trailhead: per_second(rows, trailhead_took),
                    runs: per_second(runs as f64, trailhead_took),
                    per_step: per_second(rows, per_step_took),
                    batched: per_second(rows, batched_took),
                };
                println!(
                    "round {round}: {steps:>3} steps, {in_flight:>4} in flight, {runs:>4} runs, {workers} worker(s): \
                     trailhead {:>7.0} steps/s ({:>6.0} runs/s, {:.2} s) | floor per-step {:>7.0} ({:.0}%) | batched {:>7.0} ({:.0}%)",
                    sample.trailhead,
                    sample.runs,
                    trailhead_took.as_secs_f64(),
                    sample.per_step,
                    100.0 * sample.trailhead / sample.per_step,
                    sample.batched,
                    100.0 * sample.trailhead / sample.batched,
                );
                let key = (workers, steps, in_flight, runs);
                match table.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, samples)) => samples.push(sample),
                    None => table.push((key, vec![sample])),
                }
            }
        }
    }
    println!();
    println!(
        "| steps | in flight | runs | workers | trailhead steps/s | runs/s | floor per-step | trailhead ÷ per-step | floor batched | trailhead ÷ batched |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for ((workers, steps, in_flight, runs), samples) in &table {
        let list = |f: fn(&Sample) -> f64| {
            samples
                .iter()
                .map(|s| format!("{:.0}", f(s)))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let pct = |f: fn(&Sample) -> f64| {
            let mut ratios: Vec<f64> = samples.iter().map(|s| s.trailhead / f(s)).collect();
            let each = ratios
                .iter()
                .map(|r| format!("{:.0}%", 100.0 * r))
                .collect::<Vec<_>>()
                .join(" / ");
            format!("{each} (median {:.0}%)", 100.0 * median(&mut ratios))
        };
        println!(
            "| {steps} | {in_flight} | {runs} | {workers} | {} | {} | {} | {} | {} | {} |",
            list(|s| s.trailhead),
            list(|s| s.runs),
            list(|s| s.per_step),
            pct(|s| s.per_step),
            list(|s| s.batched),
            pct(|s| s.batched),
        );
    }
    println!();
    Ok(())
}

/// One trailhead sample: `workers` engines on their own stores in a fresh
/// schema, a client enqueuing `runs` runs of `chain(i, steps)`; the time from
/// the first enqueue until all completed. Checks every result and the rows.
async fn fleet_sample(
    url: &str,
    admin: &PgPool,
    workers: usize,
    steps: u64,
    in_flight: usize,
    runs: usize,
) -> Checked<Duration> {
    let schema = trailhead_test_postgres::unique_schema("fleet");
    let client_store = fresh_store(url, &schema, POOL).await?;
    let client = Engine::builder().store(client_store.clone()).build();
    let mut fleet = Vec::new();
    for _ in 0..workers {
        let store = fresh_store(url, &schema, POOL).await?;
        let engine = Engine::builder()
            .store(store.clone())
            .worker_concurrency(in_flight.div_ceil(workers))
            .build();
        engine.register(chain);
        fleet.push((engine, store));
    }
    // Let every worker's first (empty) claim and its listener settle.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let counted = format!("SELECT count(*) FROM \"{schema}\".runs WHERE status = 'completed'");
    let want = i64::try_from(runs).unwrap_or(i64::MAX);
    let started = Instant::now();
    let enqueued: Vec<Checked<(u64, RunHandle<chain>)>> = futures::stream::iter(0..runs as u64)
        .map(|i| {
            let client = client.clone();
            async move {
                client
                    .enqueue(chain, (i, steps))
                    .await
                    .map(|handle| (i, handle))
                    .map_err(|e| format!("enqueuing run {i}: {e}"))
            }
        })
        .buffer_unordered(ENQUEUERS)
        .collect()
        .await;
    let handles = enqueued.into_iter().collect::<Checked<Vec<_>>>()?;
    loop {
        if scalar(admin, counted.clone()).await? >= want {
            break;
        }
        if started.elapsed() > SAMPLE_DEADLINE {
            return Err(format!(
                "{workers} workers, {runs} runs of {steps} steps: not all completed in {SAMPLE_DEADLINE:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed();
    for (i, handle) in handles {
        let output = handle.result().await.map_err(|e| format!("run {i}: {e}"))?;
        if output != i + steps {
            return Err(format!(
                "run {i} of {steps} steps gave {output}, not {}",
                i + steps
            ));
        }
    }
    check_rows(admin, &schema, runs, steps, "trailhead").await?;
    for (engine, store) in fleet {
        engine.shutdown(Duration::from_secs(5)).await;
        store
            .close()
            .await
            .map_err(|e| format!("closing a worker: {e}"))?;
    }
    client_store
        .close()
        .await
        .map_err(|e| format!("closing the client: {e}"))?;
    drop(client);
    drop_schema(admin, &schema).await?;
    Ok(took)
}

/// The rows the floors write, as trailhead's writer would: each value
/// encoded as trailhead encodes it.
struct FloorRows {
    schema: String,
    mermaid: &'static str,
    hash: i64,
}

impl FloorRows {
    fn input(start: u64, steps: u64) -> Value {
        Value::encode(&(start, steps)).unwrap_or_else(|e| panic!("encoding an input: {e}"))
    }

    /// A step's or run's outcome cell: `{"Completed": x}`.
    fn completed(x: u64) -> Value {
        let map: BTreeMap<String, u64> = BTreeMap::from([("Completed".to_owned(), x)]);
        Value::encode(&map).unwrap_or_else(|e| panic!("encoding an outcome: {e}"))
    }

    fn insert_run(&self) -> String {
        let s = &self.schema;
        format!(
            "INSERT INTO \"{s}\".runs (id, workflow, definition_hash, input, input_codec, status, mermaid,
                 created_at, lease_owner, lease_epoch, started_at, claimed_at)
             VALUES ($1, 'chain', $2, $3, $4, 'running', $5, $6, 'floor', 1, now(), now())"
        )
    }

    fn insert_step(&self) -> String {
        let s = &self.schema;
        format!(
            "INSERT INTO \"{s}\".steps (run_id, key, outcome, codec, attempts, started_at, finished_at, lease_epoch)
             VALUES ($1, $2, $3, $4, 1, $5, $6, 1)"
        )
    }

    fn finish(&self) -> String {
        let s = &self.schema;
        format!(
            "UPDATE \"{s}\".runs SET status = 'completed', outcome = $2, outcome_codec = $3, finished_at = $4,
                 lease_owner = NULL WHERE id = $1"
        )
    }

    /// One run's rows, one autocommitted statement each.
    async fn write_run(&self, pool: &PgPool, id: &str, start: u64, steps: u64) -> Checked<()> {
        let fail = |e: sqlx::Error| format!("floor run {id}: {e}");
        let input = Self::input(start, steps);
        sqlx::query(AssertSqlSafe(self.insert_run()))
            .bind(id)
            .bind(self.hash)
            .bind(input.bytes())
            .bind(input.codec().name())
            .bind(self.mermaid)
            .bind(now_nanos())
            .execute(pool)
            .await
            .map_err(fail)?;
        let mut x = start;
        for _ in 0..steps {
            let began = now_nanos();
            x = inc(x).await.unwrap_or_else(|never| match never {});
            let outcome = Self::completed(x);
            sqlx::query(AssertSqlSafe(self.insert_step()))
                .bind(id)
                .bind(format!("inc[{}]", x - start - 1))
                .bind(outcome.bytes())
                .bind(outcome.codec().name())
                .bind(began)
                .bind(now_nanos())
                .execute(pool)
                .await
                .map_err(fail)?;
        }
        let outcome = Self::completed(x);
        sqlx::query(AssertSqlSafe(self.finish()))
            .bind(id)
            .bind(outcome.bytes())
            .bind(outcome.codec().name())
            .bind(now_nanos())
            .execute(pool)
            .await
            .map_err(fail)?;
        Ok(())
    }
}

/// A fresh schema for a floor, and the rows' helper.
async fn floor_schema(url: &str) -> Checked<FloorRows> {
    let schema = trailhead_test_postgres::unique_schema("floor");
    let store = fresh_store(url, &schema, POOL).await?;
    store
        .close()
        .await
        .map_err(|e| format!("closing the floor's store: {e}"))?;
    Ok(FloorRows {
        schema,
        mermaid: <chain as Workflow>::MERMAID,
        hash: <chain as Workflow>::DEFINITION_HASH.cast_signed(),
    })
}

/// The floor with a commit per row: `in_flight` runs at a time, each written
/// one statement after another, on one pool of the fleet's connections.
async fn floor_per_step(
    url: &str,
    admin: &PgPool,
    workers: usize,
    steps: u64,
    in_flight: usize,
    runs: usize,
) -> Checked<Duration> {
    let rows = floor_schema(url).await?;
    let pool = PgPoolOptions::new()
        .max_connections(POOL * u32::try_from(workers).unwrap_or(1))
        .connect(url)
        .await
        .map_err(|e| format!("connecting the floor: {e}"))?;
    let started = Instant::now();
    let done: Vec<Checked<()>> = futures::stream::iter(0..runs as u64)
        .map(|i| {
            let (rows, pool) = (&rows, &pool);
            async move { rows.write_run(pool, &format!("floor-{i}"), i, steps).await }
        })
        .buffer_unordered(in_flight)
        .collect()
        .await;
    let took = started.elapsed();
    done.into_iter().collect::<Checked<Vec<()>>>()?;
    check_outputs(admin, &rows.schema, runs, steps).await?;
    check_rows(admin, &rows.schema, runs, steps, "floor per-step").await?;
    pool.close().await;
    drop_schema(admin, &rows.schema).await?;
    Ok(took)
}

/// Checks the floor's runs end with `start + steps`, as trailhead's do.
async fn check_outputs(admin: &PgPool, schema: &str, runs: usize, steps: u64) -> Checked<()> {
    let outcomes: Vec<(String, Vec<u8>)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT id, outcome FROM \"{schema}\".runs"
    )))
    .fetch_all(admin)
    .await
    .map_err(|e| format!("reading the floor's outcomes: {e}"))?;
    if outcomes.len() != runs {
        return Err(format!("the floor has {} runs, not {runs}", outcomes.len()));
    }
    for (id, outcome) in outcomes {
        let start: u64 = id
            .strip_prefix("floor-")
            .and_then(|i| i.parse().ok())
            .ok_or_else(|| format!("a floor run named {id}"))?;
        if outcome != FloorRows::completed(start + steps).bytes() {
            return Err(format!("floor run {id} ended with the wrong outcome"));
        }
    }
    Ok(())
}

/// The batched floor: one connection per worker, each writing its share of
/// the runs in waves of `in_flight / workers`: a wave's run rows in one
/// statement and commit, then each step index's rows, then the ends.
async fn floor_batched(
    url: &str,
    admin: &PgPool,
    workers: usize,
    steps: u64,
    in_flight: usize,
    runs: usize,
) -> Checked<Duration> {
    let rows = floor_schema(url).await?;
    let mut connections = Vec::new();
    for _ in 0..workers {
        connections.push(
            PgConnection::connect(url)
                .await
                .map_err(|e| format!("connecting the floor: {e}"))?,
        );
    }
    let wave = in_flight.div_ceil(workers);
    let s = &rows.schema;
    let insert_runs = format!(
        "INSERT INTO \"{s}\".runs (id, workflow, definition_hash, input, input_codec, status, mermaid,
             created_at, lease_owner, lease_epoch, started_at, claimed_at)
         SELECT id, 'chain', $2, input, $4, 'running', $5, $6, 'floor', 1, now(), now()
         FROM unnest($1::text[], $3::bytea[]) AS t(id, input)"
    );
    let insert_steps = format!(
        "INSERT INTO \"{s}\".steps (run_id, key, outcome, codec, attempts, started_at, finished_at, lease_epoch)
         SELECT id, $2, outcome, $4, 1, $5, $6, 1 FROM unnest($1::text[], $3::bytea[]) AS t(id, outcome)"
    );
    let finish = format!(
        "UPDATE \"{s}\".runs AS r SET status = 'completed', outcome = t.outcome, outcome_codec = $3,
             finished_at = $4, lease_owner = NULL
         FROM unnest($1::text[], $2::bytea[]) AS t(id, outcome) WHERE r.id = t.id"
    );
    let codec = FloorRows::completed(0).codec().name();
    let input_codec = FloorRows::input(0, steps).codec().name();
    let started = Instant::now();
    let shares = connections
        .into_iter()
        .enumerate()
        .map(|(worker, mut connection)| {
            let (insert_runs, insert_steps, finish, rows) =
                (&insert_runs, &insert_steps, &finish, &rows);
            async move {
                let fail = |e: sqlx::Error| format!("batched floor: {e}");
                let mine: Vec<u64> = (0..runs as u64)
                    .filter(|i| *i as usize % workers == worker)
                    .collect();
                for group in mine.chunks(wave) {
                    let ids: Vec<String> = group.iter().map(|i| format!("floor-{i}")).collect();
                    let inputs: Vec<Vec<u8>> = group
                        .iter()
                        .map(|&i| FloorRows::input(i, steps).bytes().to_vec())
                        .collect();
                    sqlx::query(AssertSqlSafe(insert_runs.clone()))
                        .bind(&ids)
                        .bind(rows.hash)
                        .bind(&inputs)
                        .bind(input_codec)
                        .bind(rows.mermaid)
                        .bind(now_nanos())
                        .execute(&mut connection)
                        .await
                        .map_err(fail)?;
                    let mut xs: Vec<u64> = group.to_vec();
                    for index in 0..steps {
                        let began = now_nanos();
                        for x in &mut xs {
                            *x = inc(*x).await.unwrap_or_else(|never| match never {});
                        }
                        let outcomes: Vec<Vec<u8>> = xs
                            .iter()
                            .map(|&x| FloorRows::completed(x).bytes().to_vec())
                            .collect();
                        sqlx::query(AssertSqlSafe(insert_steps.clone()))
                            .bind(&ids)
                            .bind(format!("inc[{index}]"))
                            .bind(&outcomes)
                            .bind(codec)
                            .bind(began)
                            .bind(now_nanos())
                            .execute(&mut connection)
                            .await
                            .map_err(fail)?;
                    }
                    let outcomes: Vec<Vec<u8>> = xs
                        .iter()
                        .map(|&x| FloorRows::completed(x).bytes().to_vec())
                        .collect();
                    sqlx::query(AssertSqlSafe(finish.clone()))
                        .bind(&ids)
                        .bind(&outcomes)
                        .bind(codec)
                        .bind(now_nanos())
                        .execute(&mut connection)
                        .await
                        .map_err(fail)?;
                }
                connection.close().await.map_err(fail)?;
                Ok::<(), String>(())
            }
        });
    let done = futures::future::join_all(shares).await;
    let took = started.elapsed();
    done.into_iter().collect::<Checked<Vec<()>>>()?;
    check_outputs(admin, &rows.schema, runs, steps).await?;
    check_rows(admin, &rows.schema, runs, steps, "floor batched").await?;
    drop_schema(admin, &rows.schema).await?;
    Ok(took)
}

// ---------------------------------------------------------------------------
// Latency
// ---------------------------------------------------------------------------

async fn latency(url: &str, rounds: usize, quick: bool) -> Checked<()> {
    let admin = PgPoolOptions::new()
        .max_connections(2)
        .connect(url)
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    let timed = if quick {
        LATENCY_RUNS / 10
    } else {
        LATENCY_RUNS
    };
    let mut lines = Vec::new();
    for round in 1..=rounds {
        let schema = trailhead_test_postgres::unique_schema("latency");
        let worker_store = fresh_store(url, &schema, POOL).await?;
        let worker = Engine::builder().store(worker_store.clone()).build();
        worker.register(three);
        let client_store = fresh_store(url, &schema, POOL).await?;
        let client = Engine::builder().store(client_store.clone()).build();
        let floor = floor_schema(url).await?;
        let floor_pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .map_err(|e| format!("connecting the floor: {e}"))?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (mut ends, mut claims, mut floor5, mut floor3) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..(LATENCY_WARMUP + timed) as u64 {
            *FIRST_STEP
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
            let started = Instant::now();
            let handle = client
                .enqueue(three, i)
                .await
                .map_err(|e| format!("enqueuing latency run {i}: {e}"))?;
            let output = handle
                .result()
                .await
                .map_err(|e| format!("latency run {i}: {e}"))?;
            let took = started.elapsed();
            if output != i + 3 {
                return Err(format!("latency run {i} gave {output}"));
            }
            let first = FIRST_STEP
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .ok_or_else(|| format!("latency run {i}: its first step never started"))?;
            // The floor: the same rows, one statement each, one connection.
            let floor_started = Instant::now();
            floor
                .write_run(&floor_pool, &format!("floor-{i}"), i, 3)
                .await?;
            let floor_took = floor_started.elapsed();
            // The three step rows alone.
            let three_started = Instant::now();
            for k in 0..3u64 {
                let outcome = FloorRows::completed(i + k + 1);
                sqlx::query(AssertSqlSafe(floor.insert_step()))
                    .bind(format!("floor-{i}"))
                    .bind(format!("again[{k}]"))
                    .bind(outcome.bytes())
                    .bind(outcome.codec().name())
                    .bind(now_nanos())
                    .bind(now_nanos())
                    .execute(&floor_pool)
                    .await
                    .map_err(|e| format!("floor step rows: {e}"))?;
            }
            let three_took = three_started.elapsed();
            if i as usize >= LATENCY_WARMUP {
                ends.push(took);
                claims.push(first.duration_since(started));
                floor5.push(floor_took);
                floor3.push(three_took);
            }
        }
        let runs = LATENCY_WARMUP + timed;
        check_rows(&admin, &schema, runs, 3, "trailhead latency").await?;
        let floor_rows = scalar(
            &admin,
            format!("SELECT count(*) FROM \"{}\".steps", floor.schema),
        )
        .await?;
        if floor_rows != i64::try_from(runs * 6).unwrap_or(i64::MAX) {
            return Err(format!(
                "the latency floor wrote {floor_rows} step rows, not {}",
                runs * 6
            ));
        }
        check_outputs_latency(&admin, &floor.schema, runs).await?;
        for list in [&mut ends, &mut claims, &mut floor5, &mut floor3] {
            list.sort();
        }
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let line = format!(
            "round {round}: 3-step enqueue→result p50 {:.0} µs p99 {:.0} µs | claim (enqueue→first step) p50 {:.0} µs p99 {:.0} µs | \
             floor 5 statements p50 {:.0} µs p99 {:.0} µs | floor 3 step rows p50 {:.0} µs p99 {:.0} µs | \
             trailhead ÷ floor(5) p50 {:.2}× | ÷ floor(3) {:.2}×",
            us(quantile(&ends, 0.5)),
            us(quantile(&ends, 0.99)),
            us(quantile(&claims, 0.5)),
            us(quantile(&claims, 0.99)),
            us(quantile(&floor5, 0.5)),
            us(quantile(&floor5, 0.99)),
            us(quantile(&floor3, 0.5)),
            us(quantile(&floor3, 0.99)),
            us(quantile(&ends, 0.5)) / us(quantile(&floor5, 0.5)),
            us(quantile(&ends, 0.5)) / us(quantile(&floor3, 0.5)),
        );
        println!("{line}");
        lines.push(line);
        worker.shutdown(Duration::from_secs(5)).await;
        worker_store
            .close()
            .await
            .map_err(|e| format!("closing the worker: {e}"))?;
        client_store
            .close()
            .await
            .map_err(|e| format!("closing the client: {e}"))?;
        drop((worker, client));
        floor_pool.close().await;
        drop_schema(&admin, &schema).await?;
        drop_schema(&admin, &floor.schema).await?;
    }
    Ok(())
}

/// Checks the latency floor's runs ended with `start + 3`.
async fn check_outputs_latency(admin: &PgPool, schema: &str, runs: usize) -> Checked<()> {
    check_outputs(admin, schema, runs, 3).await
}
