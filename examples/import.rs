//! Import: a 2,000,000-line CSV file read by a stream loop, durably. The loop
//! reads the file in chunks of 500 lines; a batch step parses each chunk
//! and writes its rows into a table (the sink), and the loop counts the rows
//! and sums their amounts. The run journals one checkpoint (the file's byte
//! offset, the counts so far) every 200 chunks or second, in place of 4,000
//! journal entries. Kill it mid-way and run it again: it carries on from the
//! last checkpoint and ends with the same totals.
//!
//! ```sh
//! cargo run --release --example import
//! # press Ctrl-C mid-way (or, from another shell, kill -9 the `import`
//! # process), then run the same command again:
//! cargo run --release --example import
//! ```
//!
//! The first run writes `orders.csv` (`id,amount` lines, 27 MB) into
//! `target/import-example/` (another folder: `-- <dir>` or
//! `TRAILHEAD_IMPORT_DIR`), beside the run store `import.db` and the sink
//! `orders.db`, and prints where. Every start first resumes an unfinished
//! import in the store, printing "resuming after N chunks" (the loop's
//! `Event::StreamResumed`): the file is opened again at the checkpoint's byte
//! offset and the accumulators come back from it. The chunks read after that
//! checkpoint are written again (a step in a stream loop runs at least once
//! per item); the sink's upsert keeps one row per id and the run reports how
//! many it had already. With nothing unfinished, a start begins a new import
//! into an empty sink. Either way the totals are checked against the ones
//! computed while writing the file, and the sink's table against both.
//! Delete the folder to start afresh.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use trailhead::stream::{self, SourceExt as _};
use trailhead::{Engine, Event, RunHandle, RunStatus, workflow};

/// Rows in the generated file, one a line.
const ROWS: u64 = 2_000_000;
/// Lines per chunk: the loop's items, and the batch step's input. `ROWS` is
/// a multiple of it, so every chunk is whole (a shorter last chunk of a
/// `lines` source polls the file's stream after its end, which panics the
/// run as of this writing).
const CHUNK: usize = 500;

/// What an import counts: rows, the sum of their amounts in cents, and the
/// rows the sink already had (written again after a resume).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Totals {
    rows: u64,
    cents: u64,
    again: u64,
}

#[derive(Debug, thiserror::Error)]
enum ImportError {
    #[error("line `{line}` is not `id,amount` with an amount like 12.34")]
    BadLine { line: String },
    #[error("the sink: {0}")]
    Sink(#[from] rusqlite::Error),
}

/// Parses one `id,amount` line: the id and the amount in cents.
fn parse(line: &str) -> Option<(u64, u64)> {
    let (id, amount) = line.split_once(',')?;
    let (units, cents) = amount.split_once('.')?;
    if cents.len() != 2 {
        return None;
    }
    let cents = units.parse::<u64>().ok()? * 100 + cents.parse::<u64>().ok()?;
    Some((id.parse().ok()?, cents))
}

/// The sink's connection, opened by the first chunk a process writes.
static SINK: Mutex<Option<(String, rusqlite::Connection)>> = Mutex::new(None);

/// Opens the sink at `path` with its table, empty when `empty`.
fn open_sink(path: &str, empty: bool) -> rusqlite::Result<rusqlite::Connection> {
    let sink = rusqlite::Connection::open(path)?;
    sink.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, cents INTEGER NOT NULL);",
    )?;
    if empty {
        sink.execute("DELETE FROM orders", [])?;
    }
    Ok(sink)
}

/// The batch step: parses a chunk of lines and upserts its rows into the
/// sink at `sink`, in one transaction. A chunk written again after a resume
/// finds its rows there (`again`), so the table holds each row once however
/// often its chunk ran; a sink without a natural key would store
/// `trailhead::current_step()`'s idempotency key instead, the same for the
/// same chunk of the same run.
fn save_chunk(sink: String, lines: Vec<String>) -> Result<Totals, ImportError> {
    let mut open = SINK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if open.as_ref().is_none_or(|(path, _)| *path != sink) {
        *open = Some((sink.clone(), open_sink(&sink, false)?));
    }
    let (_, connection) = open.as_mut().expect("opened");
    let transaction = connection.transaction()?;
    let mut totals = Totals::default();
    {
        let mut insert = transaction
            .prepare_cached("INSERT OR IGNORE INTO orders (id, cents) VALUES (?1, ?2)")?;
        for line in lines {
            let Some((id, cents)) = parse(&line) else {
                return Err(ImportError::BadLine { line });
            };
            if insert.execute((id, cents))? == 0 {
                totals.again += 1;
            }
            totals.rows += 1;
            totals.cents += cents;
        }
    }
    transaction.commit()?;
    Ok(totals)
}

workflow! {
    /// Imports the CSV file at `path` into the sink at `sink`, a chunk of
    /// lines at a time, and counts what it imported.
    workflow import(path: String, sink: String) -> Result<Totals, trailhead::Error> {
        // The loop's accumulators: journaled at every checkpoint, restored
        // from the last one when the run resumes.
        let mut rows: u64 = 0;
        let mut cents: u64 = 0;
        let mut again: u64 = 0;
        stream(every = 200, interval = 1s) for chunk in stream::lines(&path).chunks(CHUNK) {
            let saved = step blocking save_chunk(sink.clone(), chunk);
            rows += saved.rows;
            cents += saved.cents;
            again += saved.again;
        }
        Ok(Totals { rows, cents, again })
    }
}

/// The amount of row `id`, in cents (0.00 to 999.99): a fixed pseudo-random
/// sequence, so the file and its totals are the same every time.
fn amount(id: u64) -> u64 {
    let mut x = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    x % 100_000
}

/// Writes `rows` rows to `path` (through a temporary file, so that a kill
/// while writing leaves no half file), or only computes them when it exists;
/// the totals they make either way.
fn generate(path: &Path, rows: u64) -> std::io::Result<Totals> {
    let expected = Totals {
        rows,
        cents: (1..=rows).map(amount).sum(),
        again: 0,
    };
    if path.exists() {
        return Ok(expected);
    }
    let partial = path.with_extension(format!("{}.partial", std::process::id()));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&partial)?);
    for id in 1..=rows {
        let cents = amount(id);
        writeln!(file, "{id},{}.{:02}", cents / 100, cents % 100)?;
    }
    file.into_inner()?.sync_all()?;
    std::fs::rename(&partial, path)?;
    Ok(expected)
}

/// The data folder: `-- <dir>`, else `TRAILHEAD_IMPORT_DIR`, else
/// `target/import-example`.
fn data_dir() -> PathBuf {
    std::env::args_os()
        .nth(1)
        .or_else(|| std::env::var_os("TRAILHEAD_IMPORT_DIR"))
        .map_or_else(|| PathBuf::from("target/import-example"), PathBuf::from)
}

/// The lines `chunks` chunks hold.
fn lines(chunks: u64) -> u64 {
    (chunks * CHUNK as u64).min(ROWS)
}

/// Prints the loop's checkpoints as they land, and where a resumed loop
/// goes on from, until the run ends; its result.
async fn follow(
    handle: RunHandle<import>,
    events: &mut trailhead::EventReceiver,
) -> Result<Totals, trailhead::RunError<trailhead::Error>> {
    let began = Instant::now();
    // Chunks finished before this process took the run over.
    let mut before = 0;
    let result = handle.result();
    tokio::pin!(result);
    loop {
        tokio::select! {
            Some(event) = events.recv() => match event {
                Event::StreamResumed { items, .. } => {
                    before = items;
                    println!(
                        "resuming after {items} chunks ({} lines): reading on from the checkpoint",
                        lines(items)
                    );
                }
                Event::StreamCheckpointed { items, done, .. } => {
                    let rate = lines(items - before) as f64 / began.elapsed().as_secs_f64();
                    println!(
                        "checkpoint: {items:>4} chunks, {:>9} lines{}  ({:.2} M lines/s)",
                        lines(items),
                        if done { ", done" } else { "" },
                        rate / 1e6,
                    );
                }
                _ => {}
            },
            totals = &mut result => return totals,
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = data_dir();
    std::fs::create_dir_all(&dir)?;
    let csv = dir.join("orders.csv");
    let store = dir.join("import.db");
    let sink = dir.join("orders.db").display().to_string();
    let fresh = !csv.exists();
    let expected = generate(&csv, ROWS)?;
    println!(
        "data:  {} ({} rows{})\nstore: {}\nsink:  {sink}",
        csv.display(),
        expected.rows,
        if fresh { ", written now" } else { "" },
        store.display(),
    );

    let engine = Engine::open(&store)?;
    let mut events = engine.subscribe();
    // An import a killed process left unfinished carries on from its last
    // checkpoint; otherwise a new one starts.
    let mut handles = match engine.resume(import).await {
        Ok(handles) => handles,
        Err(error) => {
            println!(
                "not resuming: {error}\n(delete {} to start afresh)",
                dir.display()
            );
            return Ok(());
        }
    };
    let running = engine.store().list_runs(Some(RunStatus::Running)).await?;
    if handles.is_empty()
        && let Some(other) = running.iter().find(|run| run.workflow == import::NAME)
    {
        // Its process is alive and holds it: a new import would empty the
        // sink under it.
        println!("import {} is running in another process", other.id);
        return Ok(());
    }
    if handles.is_empty() {
        open_sink(&sink, true)?;
        let input = (csv.display().to_string(), sink.clone());
        let handle = engine.start(import, input).await?;
        println!("import {} started", handle.id());
        handles.push(handle);
    } else {
        println!(
            "{} unfinished import(s) found: resuming after the last checkpoint, if any",
            handles.len()
        );
    }
    for handle in handles {
        let run = handle.id().clone();
        let totals = follow(handle, &mut events).await?;
        println!(
            "import {run}: {} rows, {}.{:02} in total; {} rows were written again \
             after a resume (the sink had them)",
            totals.rows,
            totals.cents / 100,
            totals.cents % 100,
            totals.again,
        );
        let stored: (u64, u64) = open_sink(&sink, false)?.query_row(
            "SELECT COUNT(*), COALESCE(SUM(cents), 0) FROM orders",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        let counted = (totals.rows, totals.cents);
        if counted != (expected.rows, expected.cents) || stored != counted {
            return Err(format!(
                "expected {expected:?}; the run counted {totals:?}, the sink holds {stored:?}"
            )
            .into());
        }
        println!("as expected, and the sink holds each row once");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailhead::{RunId, SqliteStore};

    /// A runtime on the real clock (the SQLite store commits on a thread of
    /// its own).
    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// The example's kill and restart in one test: a process "dies" (its
    /// runtime is dropped) after the loop's first checkpoint, and the next
    /// one resumes the import from it and ends with the same totals.
    #[test]
    fn an_import_stopped_after_a_checkpoint_resumes_from_it_with_the_same_totals() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("orders.csv");
        let store = dir.path().join("import.db");
        let sink = dir.path().join("orders.db").display().to_string();
        let rows = 300_000;
        let expected = generate(&csv, rows).unwrap();
        let input = (csv.display().to_string(), sink.clone());

        let run = runtime().block_on(async {
            let engine = Engine::builder()
                .store(SqliteStore::open(&store).unwrap())
                .build();
            let mut events = engine.subscribe();
            let handle = engine
                .start_with_id(RunId::new("import-1"), import, input)
                .await
                .unwrap();
            loop {
                if let Some(Event::StreamCheckpointed { items, done, .. }) = events.recv().await {
                    assert!(!done && items > 0, "a checkpoint mid-way: {items}");
                    break;
                }
            }
            handle.id().clone()
        });

        runtime().block_on(async {
            let engine = Engine::builder()
                .store(SqliteStore::open(&store).unwrap())
                .build();
            let mut events = engine.subscribe();
            let handles = engine.resume(import).await.unwrap();
            assert_eq!(handles.len(), 1);
            let handle = handles.into_iter().next().unwrap();
            assert_eq!(handle.id(), &run);
            let totals = handle.result().await.unwrap();
            assert_eq!((totals.rows, totals.cents), (expected.rows, expected.cents));
            let mut resumed = None;
            while let Some(event) = events.try_recv() {
                if let Event::StreamResumed { items, .. } = event {
                    resumed = Some(items);
                }
            }
            let resumed = resumed.expect("the loop resumed from its checkpoint");
            assert!(
                (1..600).contains(&resumed),
                "after the first checkpoint, before the end: {resumed}"
            );
            let stored: u64 = open_sink(&sink, false)
                .unwrap()
                .query_row("SELECT COUNT(*) FROM orders", [], |row| row.get(0))
                .unwrap();
            assert_eq!(stored, rows, "each row once, however often its chunk ran");
        });
    }

    #[test]
    fn a_bad_line_fails_its_chunk() {
        assert_eq!(parse("7,12.34"), Some((7, 1_234)));
        assert_eq!(parse("7,12.3"), None);
        let dir = tempfile::tempdir().unwrap();
        let sink = dir.path().join("orders.db").display().to_string();
        let error = save_chunk(sink, vec!["1,1.00".to_owned(), "x,1.00".to_owned()]).unwrap_err();
        assert!(error.to_string().contains("x,1.00"), "{error}");
    }
}
