//! The `Store` and `RunWriter` semantics, as the SQLite store has them.

use std::time::{Duration, SystemTime};

use super::*;
use crate::store::{AfterCompensation, FailedStep, Retention, RunState, RunStatus, Store};

#[tokio::test]
async fn a_journal_is_written_in_order_and_closed_by_finish() {
    let store = store_in(&fresh("journal").await).await;
    let run = RunId::new("r");
    let journal = store.create_run(record("r")).await.unwrap();
    for (name, n) in [("a", 1), ("b", 2), ("c", 3)] {
        journal.record_step(step(name, n)).await.unwrap();
    }
    match journal.record_step(step("b", 9)).await {
        Err(StoreError::DuplicateStep { run: named, step }) => {
            assert_eq!((named, step.to_string()), (run.clone(), "b".to_owned()));
        }
        other => panic!("expected a duplicate, got {other:?}"),
    }
    let entries = store.journal(&run).await.unwrap();
    let keys: Vec<String> = entries.iter().map(|e| e.key.to_string()).collect();
    assert_eq!(keys, ["a", "b", "c"]);
    assert_eq!(
        entries[1].outcome,
        StepOutcome::Completed(Value::encode(&2_u32).unwrap())
    );

    journal.finish(completed(6)).await.unwrap();
    let ended = store.run(&run).await.unwrap().unwrap();
    assert_eq!(ended.status(), RunStatus::Completed);
    assert_eq!(ended.outcome(), Some(&completed(6)));
    assert!(matches!(
        journal.record_step(step("d", 4)).await,
        Err(StoreError::RunFinished { .. })
    ));
    assert!(matches!(
        journal.finish(completed(7)).await,
        Err(StoreError::RunFinished { .. })
    ));
    assert_eq!(store.journal(&run).await.unwrap().len(), 3);
}

#[tokio::test]
async fn missing_and_existing_runs_are_told_apart() {
    let store = store_in(&fresh("exists").await).await;
    store.create_run(record("r")).await.unwrap();
    assert!(matches!(
        store.create_run(record("r")).await,
        Err(StoreError::RunExists { .. })
    ));
    let nobody = RunId::new("nobody");
    assert!(store.open_run(&nobody).await.unwrap().is_none());
    assert!(store.run(&nobody).await.unwrap().is_none());
    assert!(matches!(
        store.journal(&nobody).await,
        Err(StoreError::UnknownRun { .. })
    ));
    assert!(matches!(
        store
            .send_signal(&nobody, "go", Value::encode(&1_u8).unwrap())
            .await,
        Err(StoreError::UnknownRun { .. })
    ));
    assert!(matches!(
        store.reopen_run(&nobody).await,
        Err(StoreError::UnknownRun { .. })
    ));
    assert!(matches!(
        store.remove_run(&nobody).await,
        Err(StoreError::UnknownRun { .. })
    ));
    assert!(matches!(
        store
            .begin_compensation(&nobody, AfterCompensation::Cancelled)
            .await,
        Err(StoreError::UnknownRun { .. })
    ));
}

#[tokio::test]
async fn a_retried_run_sets_its_failed_entries_aside_and_replays_the_rest() {
    let schema = fresh("reopen").await;
    let store = store_in(&schema).await;
    let run = RunId::new("r");
    assert!(matches!(
        store.reopen_run(&run).await,
        Err(StoreError::UnknownRun { .. })
    ));
    let journal = store.create_run(record("r")).await.unwrap();
    assert!(matches!(
        store.reopen_run(&run).await,
        Err(StoreError::NotEnded { .. })
    ));
    journal.record_step(step("a", 1)).await.unwrap();
    journal
        .record_step(StepRecord::new(
            StepKey::new("b", &[]),
            StepOutcome::Failed(FailedStep::from_message("boom")),
            3,
            SystemTime::now(),
            SystemTime::now(),
        ))
        .await
        .unwrap();
    journal
        .finish(RunOutcome::Failed("boom".into()))
        .await
        .unwrap();
    store.reopen_run(&run).await.unwrap();
    let reopened = store.run(&run).await.unwrap().unwrap();
    assert_eq!(reopened.state, RunState::Running);
    let keys: Vec<String> = store
        .journal(&run)
        .await
        .unwrap()
        .iter()
        .map(|e| e.key.to_string())
        .collect();
    assert_eq!(keys, ["a"], "the failed entry moved out");
    let retired: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT key FROM {schema}.retired_steps WHERE run_id = 'r'"
    )))
    .fetch_all(&admin().await)
    .await
    .unwrap();
    assert_eq!(retired, ["b"], "kept aside, not deleted");
    // Reopened, the run is this worker's again under a new epoch.
    let (_, _, again) = store.open_run(&run).await.unwrap().unwrap();
    again.record_step(step("b", 2)).await.unwrap();
    // A completed run is not retried.
    again.finish(completed(2)).await.unwrap();
    assert!(matches!(
        store.reopen_run(&run).await,
        Err(StoreError::NotEnded { .. })
    ));
    // Reopening again keeps what was set aside before.
    drop(store);
    let store = store_in(&schema).await;
    assert!(store.run(&run).await.unwrap().is_some());
    let count: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM {schema}.retired_steps"
    )))
    .fetch_one(&admin().await)
    .await
    .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn signals_are_received_in_order_once_each_and_again_by_the_same_step() {
    let store = store_in(&fresh("signals").await).await;
    let run = RunId::new("r");
    let journal = store.create_run(record("r")).await.unwrap();
    let (first, second) = (StepKey::new("wait", &[0]), StepKey::new("wait", &[1]));
    assert_eq!(
        store.receive_signal(&run, "go", &first).await.unwrap(),
        None
    );
    for n in [10_u32, 20] {
        store
            .send_signal(&run, "go", Value::encode(&n).unwrap())
            .await
            .unwrap();
    }
    store
        .send_signal(&run, "other", Value::encode(&99_u32).unwrap())
        .await
        .unwrap();
    let got = |value: Option<Value>| value.map(|v| v.decode::<u32>().unwrap());
    assert_eq!(
        got(store.receive_signal(&run, "go", &first).await.unwrap()),
        Some(10)
    );
    assert_eq!(
        got(store.receive_signal(&run, "go", &first).await.unwrap()),
        Some(10),
        "the same step asking again"
    );
    assert_eq!(
        got(store.receive_signal(&run, "go", &second).await.unwrap()),
        Some(20)
    );
    let third = StepKey::new("wait", &[2]);
    assert_eq!(
        store.receive_signal(&run, "go", &third).await.unwrap(),
        None
    );
    journal.finish(completed(0)).await.unwrap();
    assert!(matches!(
        store
            .send_signal(&run, "go", Value::encode(&1_u32).unwrap())
            .await,
        Err(StoreError::RunFinished { .. })
    ));
}

#[tokio::test]
async fn compensation_starts_on_running_and_completed_runs_and_resumes() {
    let store = store_in(&fresh("compensation").await).await;
    let run = RunId::new("r");
    let journal = store.create_run(record("r")).await.unwrap();
    journal.record_step(step("a", 1)).await.unwrap();
    let undo = store
        .begin_compensation(&run, AfterCompensation::Failed("boom".into()))
        .await
        .unwrap();
    // A resumed rollback keeps the outcome it recorded first.
    let again = store
        .begin_compensation(&run, AfterCompensation::Cancelled)
        .await
        .unwrap();
    let compensating = store.run(&run).await.unwrap().unwrap();
    assert_eq!(
        compensating.state,
        RunState::Compensating(AfterCompensation::Failed("boom".into()))
    );
    undo.record_step(step("undo:a", 0)).await.unwrap();
    again
        .finish(RunOutcome::Failed("boom".into()))
        .await
        .unwrap();
    assert!(matches!(
        store
            .begin_compensation(&run, AfterCompensation::Cancelled)
            .await,
        Err(StoreError::RunFinished { .. })
    ));

    // A completed child run is undone when its parent is.
    let child = RunId::new("child");
    let journal = store
        .create_run(record("child").with_parent(RunId::new("r")))
        .await
        .unwrap();
    journal.finish(completed(5)).await.unwrap();
    let then = AfterCompensation::Compensated {
        output: Value::encode(&5_u32).unwrap(),
        cause: "parent failed".into(),
    };
    let undo = store
        .begin_compensation(&child, then.clone())
        .await
        .unwrap();
    assert_eq!(
        store.run(&child).await.unwrap().unwrap().state,
        RunState::Compensating(then.clone())
    );
    undo.finish(then.into()).await.unwrap();
    assert_eq!(
        store.run(&child).await.unwrap().unwrap().status(),
        RunStatus::Compensated
    );
}

#[tokio::test]
async fn children_removal_and_retention_follow_the_run_tree() {
    let store = store_in(&fresh("tree").await).await;
    let parent = store.create_run(record("p")).await.unwrap();
    let child = store
        .create_run(record("c").with_parent(RunId::new("p")))
        .await
        .unwrap();
    let grandchild = store
        .create_run(record("g").with_parent(RunId::new("c")))
        .await
        .unwrap();
    store.create_run(record("other")).await.unwrap();
    let children: Vec<String> = store
        .children(&RunId::new("p"))
        .await
        .unwrap()
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(children, ["c"]);
    parent.finish(completed(1)).await.unwrap();
    child.finish(completed(1)).await.unwrap();
    match store.remove_run(&RunId::new("p")).await {
        Err(StoreError::NotRemovable { unended, .. }) => assert_eq!(unended, RunId::new("g")),
        other => panic!("expected not removable, got {other:?}"),
    }
    match store.remove_run(&RunId::new("c")).await {
        Err(StoreError::NotRemovable { unended, .. }) => assert_eq!(unended, RunId::new("g")),
        other => panic!("expected not removable, got {other:?}"),
    }
    grandchild.record_step(step("a", 1)).await.unwrap();
    grandchild.finish(completed(1)).await.unwrap();
    assert_eq!(
        store.list_runs(None).await.unwrap().len(),
        4,
        "nothing was removed"
    );

    // Retention removes the ended tree, not the running run.
    let later = SystemTime::now() + Duration::from_secs(3600);
    let retention = Retention::new().with_completed_for(Duration::from_secs(60));
    assert_eq!(store.apply_retention(&retention, later).await.unwrap(), 1);
    let left: Vec<String> = store
        .list_runs(None)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(left, ["other"]);
    assert!(matches!(
        store.journal(&RunId::new("g")).await,
        Err(StoreError::UnknownRun { .. })
    ));
    assert_eq!(
        store
            .list_runs(Some(RunStatus::Running))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .list_runs(Some(RunStatus::Completed))
            .await
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn rows_no_run_can_have_are_malformed_naming_the_run() {
    let schema = fresh("malformed").await;
    let store = store_in(&schema).await;
    store.create_run(record("r")).await.unwrap();
    exec(format!(
        "UPDATE {schema}.runs SET outcome = '\\x00'::bytea, outcome_codec = 'cbor' WHERE id = 'r'"
    ))
    .await;
    let error = store.run(&RunId::new("r")).await.unwrap_err();
    let StoreError::Database {
        run: Some(named),
        problem: DatabaseProblem::Malformed(text),
        ..
    } = &error
    else {
        panic!("not malformed: {error:?}");
    };
    assert_eq!(named, &RunId::new("r"));
    assert!(text.contains("run outcome"), "{text}");

    store.create_run(record("s")).await.unwrap();
    exec(format!(
        "UPDATE {schema}.runs SET status = 'completed', outcome = NULL, finished_at = 1 WHERE id = 's'"
    ))
    .await;
    let error = store.run(&RunId::new("s")).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::Database { problem: DatabaseProblem::Malformed(text), .. } if text.contains("has no outcome")),
        "{error:?}"
    );
    exec(format!(
        "UPDATE {schema}.runs SET input_codec = 'yaml' WHERE id = 'r'"
    ))
    .await;
    assert!(matches!(
        problem(&store.list_runs(None).await.unwrap_err()),
        DatabaseProblem::Malformed(_)
    ));
}

/// A run's end is noticed only if a waiter asked (`watch_end`): a commit
/// that notifies serializes with every other one in the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_watched_runs_end_is_noticed() {
    use crate::store::Notice;
    let schema = fresh("watched").await;
    let store = store_in(&schema).await;
    let waiter = store_in(&schema).await;
    let mut notices = waiter.notices().expect("notices are on by default");
    let watched = store.create_run(record("watched")).await.unwrap();
    let unwatched = store.create_run(record("unwatched")).await.unwrap();
    waiter.watch_end(&RunId::new("watched")).await.unwrap();
    unwatched.finish(completed(1)).await.unwrap();
    watched.finish(completed(2)).await.unwrap();
    let mut ended = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
    while let Ok(Ok(notice)) = tokio::time::timeout_at(deadline, notices.recv()).await {
        if let Notice::Ended(run) = notice {
            ended.push(run.as_str().to_owned());
        }
    }
    assert_eq!(ended, ["watched"]);
}

#[tokio::test]
async fn a_checkpoint_replaces_the_one_before_and_a_new_generation_keeps_unreceived_signals() {
    let store = store_in(&fresh("generations").await).await;
    let run = RunId::new("r");
    let journal = store.create_run(record("r")).await.unwrap();
    journal.record_step(step("a", 1)).await.unwrap();
    for n in [10, 20, 30] {
        journal.record_checkpoint(step("stream", n)).await.unwrap();
    }
    let entries = store.journal(&run).await.unwrap();
    let keys: Vec<String> = entries.iter().map(|e| e.key.to_string()).collect();
    assert_eq!(keys, ["a", "stream"], "one checkpoint, in its first place");
    assert_eq!(
        entries[1].outcome,
        StepOutcome::Completed(Value::encode(&30_u32).unwrap())
    );

    for n in [1_u32, 2] {
        store
            .send_signal(&run, "go", Value::encode(&n).unwrap())
            .await
            .unwrap();
    }
    let wait = StepKey::new("wait", &[]);
    assert!(
        store
            .receive_signal(&run, "go", &wait)
            .await
            .unwrap()
            .is_some()
    );
    let input = Value::encode(&"next".to_owned()).unwrap();
    journal
        .continue_as_new(input.clone(), step("~generation", 1))
        .await
        .unwrap();
    let keys: Vec<String> = store
        .journal(&run)
        .await
        .unwrap()
        .iter()
        .map(|e| e.key.to_string())
        .collect();
    assert_eq!(keys, ["~generation"]);
    assert_eq!(store.run(&run).await.unwrap().unwrap().input, input);
    let got = store.receive_signal(&run, "go", &wait).await.unwrap();
    assert_eq!(
        got.map(|v| v.decode::<u32>().unwrap()),
        Some(2),
        "the received signal went with its generation, the other waits"
    );
    journal.finish(completed(0)).await.unwrap();
    assert!(matches!(
        journal.continue_as_new(input, step("~generation", 2)).await,
        Err(StoreError::RunFinished { .. } | StoreError::LeaseLost { .. })
    ));
}
