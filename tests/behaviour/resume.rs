//! Resuming: a run whose process stopped mid-way carries on from its last
//! journaled step when a new engine opens the same store file.

use crate::support;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use trailhead::{Engine, EngineError, RunId, RunStatus, SqliteStore, workflow};

/// Every step execution, as `key`, in order.
static EXECUTED: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// While set, `gate` never returns: the "process" stops there.
static BLOCKED: AtomicBool = AtomicBool::new(true);

async fn work(name: &str, x: u64) -> Result<u64, std::io::Error> {
    EXECUTED.lock().unwrap().push(format!("{name}({x})"));
    Ok(x * 2)
}

async fn gate(x: u64) -> Result<u64, std::io::Error> {
    EXECUTED.lock().unwrap().push(format!("gate({x})"));
    if BLOCKED.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    Ok(x)
}

workflow! {
    workflow child(x: u64) -> Result<u64, trailhead::Error> {
        let y = step work("child", x);
        Ok(y)
    }

    workflow long(n: u64) -> Result<u64, trailhead::Error> {
        let mut total = 0;
        for i in 0..n {
            total += step work("loop", i);
        }
        let doubled = parallel(limit = 2) for i in 0..n {
            step work("fan", i)
        };
        let from_child = call child(total);
        let opened = step gate(from_child);
        let last = step work("last", opened);
        Ok(total + doubled.iter().sum::<u64>() + last)
    }
}

fn executed() -> Vec<String> {
    std::mem::take(&mut EXECUTED.lock().unwrap())
}

#[test]
fn a_stopped_run_resumes_from_its_last_journaled_step() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let run = RunId::new("order-7");

    // First process: runs until the gate, then stops (its runtime is dropped
    // with the run's task in it, as a killed process would).
    {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let engine = Engine::builder()
                .store(SqliteStore::open(&path).unwrap())
                .build();
            let mut events = engine.subscribe();
            let _handle = engine.start_with_id(run.clone(), long, 3).await.unwrap();
            support::step_started(&mut events, "gate").await;
        });
    }
    let first = executed();
    assert_eq!(first.len(), 3 + 3 + 1 + 1, "{first:?}");
    assert_eq!(first.last().unwrap(), "gate(12)");

    // Second process: same file, resumes; the gate is open now.
    BLOCKED.store(false, Ordering::SeqCst);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(&path).unwrap();
        let engine = Engine::builder().store(store).build();
        let record = engine.run_record(&run).await.unwrap().unwrap();
        assert_eq!(
            record.status(),
            RunStatus::Running,
            "the stop left the run unfinished"
        );
        let handles = engine.resume(long).await.unwrap();
        assert_eq!(
            handles.len(),
            1,
            "the child is resumed by its parent, not on its own"
        );
        let output = handles.into_iter().next().unwrap().result().await.unwrap();
        // loop: 0+2+4; fan: 0+2+4; child: 2*6 = 12; gate 12; last 24.
        assert_eq!(output, 6 + 6 + 24);
        // Only the step that was running when the process stopped runs again.
        assert_eq!(executed(), ["gate(12)", "last(12)"]);
        let keys = support::journal_keys(&engine, &run).await;
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), keys.len(), "no key journaled twice: {keys:?}");
        assert_eq!(keys.len(), 3 + 3 + 1 + 2);
        assert_eq!(
            engine.run_record(&run).await.unwrap().unwrap().status(),
            RunStatus::Completed
        );
        assert!(
            engine.resume(long).await.unwrap().is_empty(),
            "nothing left to resume"
        );
    });
}

workflow! {
    /// The same name as `long`, another definition.
    workflow renamed_long(n: u64) -> Result<u64, trailhead::Error> {
        let x = step work("other", n);
        Ok(x)
    }
}

#[test]
fn a_run_started_under_another_definition_is_not_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(&path).unwrap();
        // A run recorded by an older build of `renamed_long`.
        let input = support::value(serde_json::json!(1));
        let record = trailhead::RunRecord::new(RunId::new("old"), "renamed_long", input)
            .with_definition_hash(0x0bad);
        trailhead::Store::create_run(&store, record).await.unwrap();
        let engine = Engine::builder().store(store).build();
        let error = engine.resume(renamed_long).await.unwrap_err();
        assert!(
            matches!(
                error,
                EngineError::DefinitionChanged {
                    recorded: 0x0bad,
                    ..
                }
            ),
            "{error}"
        );
        let text = error.to_string();
        assert!(text.contains("0x0000000000000bad"), "{text}");
        assert!(
            text.contains(&format!("{:#018x}", renamed_long::DEFINITION_HASH)),
            "{text}"
        );
    });
}

/// A step for the versioning tests (which run beside the one that counts `work`).
async fn double(x: u64) -> Result<u64, std::io::Error> {
    Ok(x * 2)
}

mod v1 {
    use super::double;
    trailhead::workflow! {
        /// The first version of `versioned`: runs started under it are finished by it.
        pub workflow versioned(x: u64) -> Result<u64, trailhead::Error> {
            let y = step double(x);
            Ok(y)
        }
    }
}

workflow! {
    /// The second version: one more step.
    workflow versioned(x: u64) -> Result<u64, trailhead::Error> {
        let y = step double(x);
        let z = step double(y).name("again");
        Ok(z)
    }
}

mod v3 {
    use super::double;
    trailhead::workflow! {
        /// A change declared safe for runs of the first version.
        #[compatible_with(0)]
        pub workflow versioned(x: u64) -> Result<u64, trailhead::Error> {
            let y = step double(x);
            Ok(y)
        }
    }
}

/// Records an unfinished run of `versioned` under `hash`, as an older build would have.
async fn recorded_run(store: &SqliteStore, id: &str, hash: u64) {
    let input = support::value(serde_json::json!(5));
    let record =
        trailhead::RunRecord::new(RunId::new(id), "versioned", input).with_definition_hash(hash);
    trailhead::Store::create_run(store, record).await.unwrap();
}

#[test]
fn an_upgrade_keeps_the_old_definition_to_finish_old_runs() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(dir.path().join("runs.db")).unwrap();
        recorded_run(&store, "old", v1::versioned::DEFINITION_HASH).await;
        recorded_run(&store, "new", versioned::DEFINITION_HASH).await;
        let engine = Engine::builder().store(store).build();
        // The strict form refuses: a run would resume under a definition it did not start with.
        assert!(matches!(
            engine.resume(versioned).await,
            Err(EngineError::DefinitionChanged { .. })
        ));
        // Keeping v1 finishes its runs; the current version finishes its own.
        let old = engine.resume_only(v1::versioned).await.unwrap();
        let new = engine.resume_only(versioned).await.unwrap();
        assert_eq!((old.len(), new.len()), (1, 1));
        assert_eq!(old.into_iter().next().unwrap().result().await.unwrap(), 10);
        assert_eq!(new.into_iter().next().unwrap().result().await.unwrap(), 20);
    });
}

#[test]
fn a_definition_can_declare_itself_compatible_with_an_older_one() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(dir.path().join("runs.db")).unwrap();
        recorded_run(&store, "older", 0).await;
        let engine = Engine::builder().store(store).build();
        let resumed = engine.resume(v3::versioned).await.unwrap();
        assert_eq!(resumed.len(), 1);
        assert_eq!(
            resumed.into_iter().next().unwrap().result().await.unwrap(),
            10
        );
    });
}
