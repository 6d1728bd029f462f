use std::sync::Arc;
use std::time::SystemTime;

use super::{SqliteStore, Synchronous};
use crate::store::{
    AfterCompensation, Codec, DatabaseProblem, RunOutcome, RunRecord, RunState, RunStatus,
    StepOutcome, StepRecord, Store, Value,
};
use crate::{RunId, StepKey, StoreError};

/// `json` as a journaled value.
fn value(json: serde_json::Value) -> Value {
    Value::encode(&json).unwrap()
}

pub(super) fn record(id: &str) -> RunRecord {
    RunRecord {
        id: RunId::new(id),
        workflow: "w".to_owned(),
        definition_hash: u64::MAX - 7,
        parent: None,
        input: value(serde_json::json!({"order": 42})),
        state: crate::store::RunState::Running,
        mermaid: "flowchart TD".to_owned(),
        created_at: SystemTime::now(),
        cancel_requested: false,
    }
}

pub(super) fn step(key: &str, json: serde_json::Value) -> StepRecord {
    StepRecord {
        key: key.parse::<StepKey>().unwrap(),
        outcome: StepOutcome::Completed(value(json)),
        attempts: 2,
        started_at: SystemTime::now(),
        finished_at: SystemTime::now(),
        retries: Vec::new(),
    }
}

#[tokio::test]
async fn runs_and_journals_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        let journal = store.create_run(record("r1")).await.unwrap();
        journal
            .record_step(step("charge", serde_json::json!(12)))
            .await
            .unwrap();
        journal
            .record_step(step("pack[3][1]", serde_json::json!({"box": "a"})))
            .await
            .unwrap();
        let other = store.create_run(record("r2")).await.unwrap();
        other
            .finish(RunOutcome::Completed(value(serde_json::json!("done"))))
            .await
            .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let (run, journal, _) = store.open_run(&RunId::new("r1")).await.unwrap().unwrap();
    assert_eq!(
        run.definition_hash,
        u64::MAX - 7,
        "all 64 bits of the hash kept"
    );
    assert_eq!(run.input, value(serde_json::json!({"order": 42})));
    assert_eq!(run.status(), RunStatus::Running);
    let keys: Vec<String> = journal.iter().map(|r| r.key.to_string()).collect();
    assert_eq!(keys, ["charge", "pack[3][1]"]);
    assert_eq!(
        journal[1].outcome,
        StepOutcome::Completed(value(serde_json::json!({"box": "a"})))
    );
    assert_eq!(journal[1].attempts, 2);
    let running = store.list_runs(Some(RunStatus::Running)).await.unwrap();
    assert_eq!(running.len(), 1);
    let finished = store.run(&RunId::new("r2")).await.unwrap().unwrap();
    assert_eq!(
        finished.outcome().cloned(),
        Some(RunOutcome::Completed(value(serde_json::json!("done"))))
    );
    assert!(store.open_run(&RunId::new("nope")).await.unwrap().is_none());
}

#[tokio::test]
async fn nothing_journaled_is_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("runs.db")).unwrap();
    let journal = store.create_run(record("r")).await.unwrap();
    journal
        .record_step(step("a", serde_json::json!(1)))
        .await
        .unwrap();
    let again = journal
        .record_step(step("a", serde_json::json!(2)))
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::DuplicateStep { ref step, .. } if step.to_string() == "a"));
    assert!(matches!(
        store.create_run(record("r")).await.unwrap_err(),
        StoreError::RunExists { .. }
    ));
    journal
        .finish(RunOutcome::Failed("boom".to_owned()))
        .await
        .unwrap();
    assert!(matches!(
        journal
            .record_step(step("b", serde_json::json!(3)))
            .await
            .unwrap_err(),
        StoreError::RunFinished { .. }
    ));
    assert!(matches!(
        journal.finish(RunOutcome::Cancelled).await.unwrap_err(),
        StoreError::RunFinished { .. }
    ));
    let kept = store.journal(&RunId::new("r")).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        kept[0].outcome,
        StepOutcome::Completed(value(serde_json::json!(1)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with(dir.path().join("runs.db"), Synchronous::Full).unwrap();
    let mut journals = Vec::new();
    for i in 0..50 {
        journals.push(store.create_run(record(&format!("r{i}"))).await.unwrap());
    }
    let before = store.commits();
    let writes = journals.iter().flat_map(|journal| {
        (0..20).map(move |s| {
            let journal = Arc::clone(journal);
            async move {
                journal
                    .record_step(step(&format!("s{s}"), serde_json::json!(s)))
                    .await
            }
        })
    });
    for outcome in futures::future::join_all(writes).await {
        outcome.unwrap();
    }
    let commits = store.commits() - before;
    assert!(
        commits < 1_000,
        "1,000 writes took {commits} commits: no grouping"
    );
    assert_eq!(store.journal(&RunId::new("r7")).await.unwrap().len(), 20);
}

#[test]
fn a_file_that_is_not_a_database_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    std::fs::write(&path, vec![0x42_u8; 8192]).unwrap();
    let error = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Database {
                problem: DatabaseProblem::Corrupt,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn a_database_from_a_newer_trailhead_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    drop(SqliteStore::open(&path).unwrap());
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute("UPDATE trailhead_schema SET version = 99", [])
        .unwrap();
    drop(connection);
    let error = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Database {
                problem: DatabaseProblem::NewerSchema {
                    found: 99,
                    supported: super::schema::VERSION
                },
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("schema version 99"), "{error}");
}

#[test]
fn a_folder_that_does_not_exist_cannot_be_opened() {
    let error = SqliteStore::open("/nonexistent-folder/for/sure/runs.db").unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Database {
                problem: DatabaseProblem::CannotOpen(_),
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn a_reopened_run_keeps_its_good_steps_and_sets_failed_ones_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let store = SqliteStore::open(&path).unwrap();
    let journal = store.create_run(record("r")).await.unwrap();
    journal
        .record_step(step("good", serde_json::json!(1)))
        .await
        .unwrap();
    let mut failed = step("bad", serde_json::json!(null));
    failed.outcome = StepOutcome::Failed(crate::store::FailedStep::from_message("down"));
    journal.record_step(failed).await.unwrap();
    assert!(matches!(
        store.reopen_run(&RunId::new("r")).await.unwrap_err(),
        StoreError::NotEnded { .. }
    ));
    journal
        .finish(RunOutcome::Failed("down".to_owned()))
        .await
        .unwrap();
    store.reopen_run(&RunId::new("r")).await.unwrap();
    let (run, entries, journal) = store.open_run(&RunId::new("r")).await.unwrap().unwrap();
    assert_eq!(run.status(), RunStatus::Running);
    assert_eq!(entries.len(), 1, "only the good step stays in the journal");
    journal
        .record_step(step("bad", serde_json::json!(2)))
        .await
        .unwrap();
    let connection = rusqlite::Connection::open(&path).unwrap();
    let retired: i64 = connection
        .query_row(
            "SELECT COUNT(*) FROM retired_steps WHERE run_id = 'r'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(retired, 1, "the failed entry is kept aside, not lost");
}

/// The SQLite type and `codec` of the value cells of run `run`'s rows.
fn cell_types(path: &std::path::Path, run: &str) -> (String, String, Vec<(String, String)>) {
    let connection = rusqlite::Connection::open(path).unwrap();
    let (input, codec) = connection
        .query_row(
            "SELECT typeof(input), codec FROM runs WHERE id = ?1",
            [run],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    let mut steps = connection
        .prepare("SELECT typeof(outcome), codec FROM steps WHERE run_id = ?1 ORDER BY seq")
        .unwrap();
    let steps = steps
        .query_map([run], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    (input, codec, steps)
}

#[tokio::test]
async fn values_are_stored_as_cbor_blobs_and_read_back_faithfully() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let faithful = (
        f64::NAN,
        u128::MAX,
        std::collections::BTreeMap::from([((1_u8, 2_u8), -0.0_f64)]),
        serde_bytes::ByteBuf::from(vec![0_u8, 255]),
    );
    let encoded = Value::encode(&faithful).unwrap();
    {
        let store = SqliteStore::open(&path).unwrap();
        let mut run = record("r");
        run.input = encoded.clone();
        let journal = store.create_run(run).await.unwrap();
        let mut done = step("done", serde_json::json!(null));
        done.outcome = StepOutcome::Completed(encoded.clone());
        journal.record_step(done).await.unwrap();
        let mut fell_back = step("fell", serde_json::json!(null));
        fell_back.outcome = StepOutcome::FellBack(encoded.clone());
        journal.record_step(fell_back).await.unwrap();
        let mut failed = step("failed", serde_json::json!(null));
        failed.outcome = StepOutcome::Failed(crate::store::FailedStep::from_message("down"));
        journal.record_step(failed).await.unwrap();
        store
            .send_signal(&RunId::new("r"), "go", encoded.clone())
            .await
            .unwrap();
    }
    let (input, codec, steps) = cell_types(&path, "r");
    assert_eq!((input.as_str(), codec.as_str()), ("blob", "cbor"));
    assert!(
        steps
            .iter()
            .all(|(kind, codec)| kind == "blob" && codec == "cbor"),
        "{steps:?}"
    );

    let store = SqliteStore::open(&path).unwrap();
    let (run, journal, handle) = store.open_run(&RunId::new("r")).await.unwrap().unwrap();
    assert_eq!(run.input, encoded);
    let outcomes: Vec<_> = journal.into_iter().map(|step| step.outcome).collect();
    assert_eq!(
        outcomes,
        [
            StepOutcome::Completed(encoded.clone()),
            StepOutcome::FellBack(encoded.clone()),
            StepOutcome::Failed(crate::store::FailedStep::from_message("down")),
        ]
    );
    let back: (
        f64,
        u128,
        std::collections::BTreeMap<(u8, u8), f64>,
        serde_bytes::ByteBuf,
    ) = outcomes[0].value().unwrap().decode().unwrap();
    assert!(back.0.is_nan());
    assert_eq!(back.1, u128::MAX);
    assert!(back.2[&(1, 2)].is_sign_negative());
    assert_eq!(back.3.as_slice(), [0, 255]);
    let key = StepKey::new("wait", &[]);
    let received = store
        .receive_signal(&RunId::new("r"), "go", &key)
        .await
        .unwrap();
    assert_eq!(received, Some(encoded.clone()));
    handle
        .finish(RunOutcome::Completed(encoded.clone()))
        .await
        .unwrap();
    let finished = store.run(&RunId::new("r")).await.unwrap().unwrap();
    assert_eq!(
        finished.outcome().cloned(),
        Some(RunOutcome::Completed(encoded))
    );

    // A failed CBOR entry is retired when the run is retried; the rest stay.
    let store = SqliteStore::open(&path).unwrap();
    let mut run = record("again");
    run.input = value(serde_json::json!(1));
    let journal = store.create_run(run).await.unwrap();
    journal
        .record_step(step("good", serde_json::json!(1)))
        .await
        .unwrap();
    let mut failed = step("bad", serde_json::json!(null));
    failed.outcome = StepOutcome::Failed(crate::store::FailedStep::from_message("down"));
    journal.record_step(failed).await.unwrap();
    journal
        .finish(RunOutcome::Failed("down".to_owned()))
        .await
        .unwrap();
    store.reopen_run(&RunId::new("again")).await.unwrap();
    let kept = store.journal(&RunId::new("again")).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].key.to_string(), "good");
}

#[tokio::test]
async fn rows_written_as_json_by_older_builds_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    drop(SqliteStore::open(&path).unwrap());
    // What a build before CBOR wrote: JSON text, codec 'json' (the default).
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute_batch(
            r#"INSERT INTO runs (id, workflow, definition_hash, parent, input, status, outcome, mermaid, created_at)
                 VALUES ('old', 'w', 1, NULL, '{"order":42}', 'running', NULL, '', 0),
                        ('done', 'w', 1, NULL, '7', 'completed', '{"Completed":"shipped"}', '', 0),
                        ('gone', 'w', 1, NULL, 'null', 'cancelled', '"Cancelled"', '', 0);
               INSERT INTO steps (run_id, key, seq, outcome, attempts, started_at, finished_at)
                 VALUES ('old', 'a', 0, '{"Completed":{"box":"a","n":[1,2.5]}}', 1, 0, 0),
                        ('old', 'b[1]', 1, '{"FellBack":null}', 3, 0, 0),
                        ('old', 'c', 2, '{"Failed":"boom"}', 2, 0, 0);
               INSERT INTO signals (run_id, name, payload) VALUES ('old', 'go', '{"ok":true}');"#,
        )
        .unwrap();
    drop(connection);

    let store = SqliteStore::open(&path).unwrap();
    let json = |text: &str| Value::from_bytes(Codec::Json, text.as_bytes().to_vec());
    let (run, journal, handle) = store.open_run(&RunId::new("old")).await.unwrap().unwrap();
    assert_eq!(run.input, json(r#"{"order":42}"#));
    assert_eq!(
        run.input.decode::<serde_json::Value>().unwrap(),
        serde_json::json!({ "order": 42 })
    );
    let outcomes: Vec<_> = journal.iter().map(|step| step.outcome.clone()).collect();
    assert_eq!(
        outcomes,
        [
            StepOutcome::Completed(json(r#"{"box":"a","n":[1,2.5]}"#)),
            StepOutcome::FellBack(json("null")),
            StepOutcome::Failed(crate::store::FailedStep::from_message("boom")),
        ]
    );
    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Packed {
        #[serde(rename = "box")]
        packed: String,
        n: (u8, f64),
    }
    assert_eq!(
        outcomes[0].value().unwrap().decode::<Packed>().unwrap(),
        Packed {
            packed: "a".into(),
            n: (1, 2.5)
        }
    );
    let done = store.run(&RunId::new("done")).await.unwrap().unwrap();
    assert_eq!(
        done.outcome().cloned(),
        Some(RunOutcome::Completed(json(r#""shipped""#)))
    );
    let gone = store.run(&RunId::new("gone")).await.unwrap().unwrap();
    assert_eq!(gone.outcome().cloned(), Some(RunOutcome::Cancelled));
    let received = store
        .receive_signal(&RunId::new("old"), "go", &StepKey::new("wait", &[]))
        .await
        .unwrap();
    assert_eq!(received, Some(json(r#"{"ok":true}"#)));

    // This build goes on with CBOR in the same run: each cell says its codec.
    handle
        .record_step(step("d", serde_json::json!([1])))
        .await
        .unwrap();
    handle
        .finish(RunOutcome::Completed(value(serde_json::json!("ok"))))
        .await
        .unwrap();
    let (input, _, steps) = cell_types(&path, "old");
    assert_eq!(input, "text");
    let kinds: Vec<_> = steps
        .iter()
        .map(|(kind, codec)| (kind.as_str(), codec.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("text", "json"),
            ("text", "json"),
            ("text", "json"),
            ("blob", "cbor")
        ]
    );
    let run = store.run(&RunId::new("old")).await.unwrap().unwrap();
    assert_eq!(run.input, json(r#"{"order":42}"#));
    assert_eq!(
        run.outcome().cloned(),
        Some(RunOutcome::Completed(value(serde_json::json!("ok"))))
    );

    // An old failed entry is retired on retry like a new one.
    let store = SqliteStore::open(&path).unwrap();
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute("UPDATE runs SET status = 'failed' WHERE id = 'old'", [])
        .unwrap();
    store.reopen_run(&RunId::new("old")).await.unwrap();
    let keys: Vec<_> = store
        .journal(&RunId::new("old"))
        .await
        .unwrap()
        .iter()
        .map(|step| step.key.to_string())
        .collect();
    assert_eq!(keys, ["a", "b[1]", "d"]);
}

#[test]
fn the_failed_prefix_retired_steps_match_is_how_a_failed_outcome_encodes() {
    let failed = super::rows::step_outcome_to_sql(&StepOutcome::Failed(
        crate::store::FailedStep::from_message("any text"),
    ));
    assert_eq!(failed.codec(), Codec::Cbor);
    let prefix: String = failed.bytes()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(&failed.bytes()[2..8], b"Failed");
    assert!(
        super::apply::RETIRED.contains(&format!("substr(outcome, 1, 8) = x'{prefix}'")),
        "{prefix}"
    );
}

#[tokio::test]
async fn a_row_whose_columns_no_run_can_be_in_reads_as_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let store = SqliteStore::open(&path).unwrap();
    let connection = rusqlite::Connection::open(&path).unwrap();
    // Each row's status, outcome and end time, and what reading it says.
    let impossible = [
        (
            "running",
            r#"'"Cancelled"'"#,
            "NULL",
            "a running run has an outcome",
        ),
        ("running", "NULL", "5", "a running run has an end time"),
        (
            "compensating",
            r#"'"Cancelled"'"#,
            "5",
            "a compensating run has an end time",
        ),
        (
            "compensating",
            r#"'{"Completed":1}'"#,
            "NULL",
            "a compensating run is to end completed",
        ),
        ("failed", "NULL", "5", "a failed run has no outcome"),
        (
            "completed",
            r#"'"Cancelled"'"#,
            "5",
            "a completed run has a cancelled outcome",
        ),
    ];
    for (n, (status, outcome, finished_at, expected)) in impossible.iter().enumerate() {
        connection
            .execute(
                &format!(
                    "INSERT INTO runs (id, workflow, definition_hash, input, status, outcome, mermaid, created_at, finished_at)
                     VALUES ('r{n}', 'w', 1, '1', '{status}', {outcome}, '', 0, {finished_at})"
                ),
                [],
            )
            .unwrap();
        let run = RunId::new(format!("r{n}"));
        let error = store.run(&run).await.unwrap_err();
        let StoreError::Database {
            run: Some(named),
            problem: DatabaseProblem::Malformed(text),
            ..
        } = &error
        else {
            panic!("not a malformed record: {error:?}");
        };
        assert_eq!(named, &run);
        assert_eq!(text, expected);
        connection
            .execute("DELETE FROM runs WHERE id = ?1", [run.as_str()])
            .unwrap();
    }
    // What older builds wrote reads as it meant: a compensating run without
    // its end was cancelled; an ended run without a time ended when created.
    connection
        .execute_batch(
            r#"INSERT INTO runs (id, workflow, definition_hash, input, status, outcome, mermaid, created_at)
                 VALUES ('undoing', 'w', 1, '1', 'compensating', NULL, '', 0),
                        ('done', 'w', 1, '1', 'cancelled', '"Cancelled"', '', 0);"#,
        )
        .unwrap();
    let undoing = store.run(&RunId::new("undoing")).await.unwrap().unwrap();
    assert_eq!(
        undoing.state,
        RunState::Compensating(AfterCompensation::Cancelled)
    );
    let done = store.run(&RunId::new("done")).await.unwrap().unwrap();
    assert_eq!(
        done.state,
        RunState::ended(RunOutcome::Cancelled, SystemTime::UNIX_EPOCH)
    );
}

#[tokio::test]
async fn each_state_is_written_to_its_columns_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("runs.db")).unwrap();
    let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    let states = [
        RunState::Running,
        RunState::Compensating(AfterCompensation::Failed("boom".into())),
        RunState::Compensating(AfterCompensation::Compensated {
            output: value(serde_json::json!(3)),
            cause: "its parent run `p` was undone".into(),
        }),
        RunState::ended(RunOutcome::Completed(value(serde_json::json!("ok"))), at),
        RunState::ended(
            RunOutcome::CompensationFailed {
                step: StepKey::new("charge", &[]),
                error: "refund refused".into(),
                cause: "declined".into(),
            },
            at,
        ),
    ];
    for (n, state) in states.into_iter().enumerate() {
        let record = record(&format!("s{n}")).with_state(state.clone());
        store.create_run(record.clone()).await.unwrap();
        let read = store.run(&record.id).await.unwrap().unwrap();
        assert_eq!(read.state, state);
        assert_eq!(read.status(), state.status());
        assert_eq!(read.finished_at(), state.finished_at());
        let listed = store.list_runs(Some(state.status())).await.unwrap();
        assert!(listed.iter().any(|listed| listed.id == record.id), "{n}");
    }
}
