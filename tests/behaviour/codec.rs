//! What was live is what was stored: a run gives the same result when it runs
//! through as when it is stopped between steps and resumed from its journal
//! on a new engine, whatever serde types its steps return; what the journal
//! could not give back is refused the same way every time; and journals
//! written as JSON by older builds still resume.

use crate::support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use trailhead::store::{Codec, Value};
use trailhead::{Engine, RunError, RunId, RunStatus, SqliteStore, StepOutcome, workflow};

use support::Calls;

/// The steps of `faithful` run, in order (each test has its own log).
static FAITHFUL: Calls = Calls::new();
/// The steps of `doubly_optional` run.
static OPTIONAL: Calls = Calls::new();
/// The steps of `order` run.
static ORDER: Calls = Calls::new();
/// While set, `gate` never returns: the "process" stops there.
static BLOCKED: AtomicBool = AtomicBool::new(false);

/// A ratio of nothing to nothing: NaN, which JSON journaled as `null`.
async fn ratio(n: u32) -> Result<f64, std::io::Error> {
    FAITHFUL.push("ratio");
    Ok(f64::from(n) * 0.0 / 0.0)
}

async fn total(n: u32) -> Result<u128, std::io::Error> {
    FAITHFUL.push("total");
    Ok(u128::MAX - u128::from(n))
}

async fn grid(n: u32) -> Result<HashMap<(u32, u32), f64>, std::io::Error> {
    FAITHFUL.push("grid");
    Ok(HashMap::from([
        ((0, 0), -0.0),
        ((n, 1), f64::INFINITY),
        ((1, n), f64::NEG_INFINITY),
    ]))
}

/// 1 MB of bytes that do not compress into a pattern.
async fn blob(n: u32) -> Result<ByteBuf, std::io::Error> {
    FAITHFUL.push("blob");
    let mut state = u64::from(n) | 1;
    let bytes: Vec<u8> = (0..1 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    Ok(ByteBuf::from(bytes))
}

async fn gate(n: u32) -> Result<u32, std::io::Error> {
    FAITHFUL.push("gate");
    if BLOCKED.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    Ok(n)
}

/// What `faithful` returns: everything its steps gave.
#[derive(Debug, Serialize, Deserialize)]
struct Report {
    nan: f64,
    big: u128,
    cells: HashMap<(u32, u32), f64>,
    bytes: ByteBuf,
    opened: u32,
}

impl Report {
    /// Equal bit for bit (NaN included).
    fn assert_same(&self, other: &Report) {
        assert_eq!(self.nan.to_bits(), other.nan.to_bits());
        assert_eq!(self.big, other.big);
        let bits = |cells: &HashMap<(u32, u32), f64>| {
            let mut bits: Vec<_> = cells.iter().map(|(k, v)| (*k, v.to_bits())).collect();
            bits.sort_unstable();
            bits
        };
        assert_eq!(bits(&self.cells), bits(&other.cells));
        assert!(self.bytes == other.bytes, "the byte buffers differ");
        assert_eq!(self.opened, other.opened);
    }
}

workflow! {
    workflow faithful(n: u32) -> Result<Report, trailhead::Error> {
        let nan = step ratio(n);
        let big = step total(n);
        let cells = step grid(n);
        let bytes = step blob(n);
        let opened = step gate(n);
        Ok(Report { nan, big, cells, bytes, opened })
    }
}

#[test]
fn a_resumed_run_gives_exactly_what_the_uninterrupted_run_gave() {
    let dir = tempfile::tempdir().unwrap();

    // Live: the run goes through in one process.
    let live = {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let store = SqliteStore::open(dir.path().join("live.db")).unwrap();
            Engine::builder()
                .store(store)
                .build()
                .run(faithful, 3)
                .await
                .unwrap()
        })
    };
    assert!(live.nan.is_nan());
    assert_eq!(live.big, u128::MAX - 3);
    assert!(live.cells[&(0, 0)].is_sign_negative());
    assert_eq!(live.cells[&(3, 1)], f64::INFINITY);
    assert_eq!(live.bytes.len(), 1 << 20);
    assert_eq!(FAITHFUL.take(), ["ratio", "total", "grid", "blob", "gate"]);

    // Stopped at the gate: the first process dies with the run in it.
    let path = dir.path().join("resumed.db");
    let run = RunId::new("stopped");
    BLOCKED.store(true, Ordering::SeqCst);
    {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let engine = Engine::builder()
                .store(SqliteStore::open(&path).unwrap())
                .build();
            let mut events = engine.subscribe();
            let _handle = engine
                .start_with_id(run.clone(), faithful, 3)
                .await
                .unwrap();
            support::step_started(&mut events, "gate").await;
        });
    }
    assert_eq!(FAITHFUL.take(), ["ratio", "total", "grid", "blob", "gate"]);

    // A new engine on the same file resumes the run from its journal.
    BLOCKED.store(false, Ordering::SeqCst);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = Engine::builder()
            .store(SqliteStore::open(&path).unwrap())
            .build();
        let journal = engine.journal(&run).await.unwrap();
        let shown: Vec<String> = journal
            .iter()
            .map(|step| step.outcome.value().unwrap().to_string())
            .collect();
        assert_eq!(shown[0], "NaN");
        assert_eq!(shown[1], (u128::MAX - 3).to_string());
        assert!(shown[2].contains("[0, 0]: -0.0"), "{}", shown[2]);
        assert!(shown[3].ends_with("…' /1048576 bytes/"), "{}", shown[3]);
        assert!(
            journal
                .iter()
                .all(|step| step.outcome.value().unwrap().codec() == Codec::Cbor)
        );

        let handles = engine.resume(faithful).await.unwrap();
        assert_eq!(handles.len(), 1);
        let resumed = handles.into_iter().next().unwrap().result().await.unwrap();
        assert_eq!(FAITHFUL.take(), ["gate"], "the journaled steps replay");
        resumed.assert_same(&live);

        let record = engine.run_record(&run).await.unwrap().unwrap();
        assert_eq!(record.status(), RunStatus::Completed);
        let Some(trailhead::RunOutcome::Completed(output)) = record.outcome().cloned() else {
            panic!("{:?}", record.outcome().cloned());
        };
        output.decode::<Report>().unwrap().assert_same(&live);
    });
}

async fn maybe(n: u32) -> Result<Option<Option<u32>>, std::io::Error> {
    OPTIONAL.push("maybe");
    Ok(if n > 0 { Some(None) } else { Some(Some(n)) })
}

workflow! {
    workflow doubly_optional(n: u32) -> Result<u32, trailhead::Error> {
        let found = step maybe(n);
        Ok(found.flatten().unwrap_or(7))
    }
}

#[tokio::test]
async fn what_would_not_read_back_fails_the_same_way_live_and_when_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::builder()
        .store(SqliteStore::open(dir.path().join("runs.db")).unwrap())
        .build();
    let handle = engine.start(doubly_optional, 1).await.unwrap();
    let run = handle.id().clone();
    let Err(RunError::Failed { error: first, .. }) = handle.result().await else {
        panic!("`Some(None)` would read back as `None`: the step must fail");
    };
    let first = first.to_string();
    assert!(
        first.contains("could not encode the output of step `maybe`"),
        "{first}"
    );
    assert!(first.contains("would read back as `None`"), "{first}");
    assert!(
        engine.journal(&run).await.unwrap().is_empty(),
        "nothing journaled: the step runs again on a retry"
    );

    let again = engine.rerun(doubly_optional, &run).await.unwrap();
    let Err(RunError::Failed { error: second, .. }) = again.result().await else {
        panic!("the retried step must fail the same way");
    };
    assert_eq!(second.to_string(), first);
    assert_eq!(OPTIONAL.take(), ["maybe", "maybe"]);
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Quote {
    item: String,
    cents: u64,
}

async fn quote(item: String) -> Result<Quote, std::io::Error> {
    ORDER.push("quote");
    Ok(Quote { item, cents: 250 })
}

async fn confirm(quote: &Quote) -> Result<String, std::io::Error> {
    ORDER.push("confirm");
    Ok(format!("{} for {}", quote.item, quote.cents))
}

workflow! {
    workflow order(item: String) -> Result<String, trailhead::Error> {
        let priced = step quote(item);
        let done = step confirm(&priced);
        Ok(done)
    }
}

#[tokio::test]
async fn a_run_journaled_as_json_by_an_older_build_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    drop(SqliteStore::open(&path).unwrap());
    // As a build before CBOR wrote it: JSON text, codec 'json' by default.
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute(
            "INSERT INTO runs (id, workflow, definition_hash, input, status, mermaid, created_at)
             VALUES ('old', 'order', ?1, '\"tea\"', 'running', '', 0)",
            [order::DEFINITION_HASH.cast_signed()],
        )
        .unwrap();
    connection
        .execute(
            r#"INSERT INTO steps (run_id, key, seq, outcome, attempts, started_at, finished_at)
               VALUES ('old', 'quote', 0, '{"Completed":{"item":"tea","cents":300}}', 1, 0, 0)"#,
            [],
        )
        .unwrap();
    drop(connection);

    let engine = Engine::builder()
        .store(SqliteStore::open(&path).unwrap())
        .build();
    let handles = engine.resume(order).await.unwrap();
    assert_eq!(handles.len(), 1);
    let done = handles.into_iter().next().unwrap().result().await.unwrap();
    assert_eq!(done, "tea for 300", "the old JSON entry replayed");
    assert_eq!(ORDER.take(), ["confirm"]);

    let journal = engine.journal(&RunId::new("old")).await.unwrap();
    let codecs: Vec<_> = journal
        .iter()
        .map(|step| step.outcome.value().unwrap().codec())
        .collect();
    assert_eq!(codecs, [Codec::Json, Codec::Cbor]);
    assert_eq!(
        journal[0].outcome,
        StepOutcome::Completed(Value::from_bytes(
            Codec::Json,
            br#"{"item":"tea","cents":300}"#.to_vec()
        ))
    );
    let record = engine
        .run_record(&RunId::new("old"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.input.codec(), Codec::Json);
    assert_eq!(
        record.outcome().cloned(),
        Some(trailhead::RunOutcome::Completed(
            Value::encode(&"tea for 300".to_owned()).unwrap()
        ))
    );
}
