//! `trailhead fork RUN --from KEY`: a finished run recorded again from a
//! step, for a worker that knows the workflow to resume.

use std::path::Path;
use std::time::Duration;

use trailhead::store::{RunRecord, RunStatus, StepRecord, Store as _};
use trailhead::{RunId, SqliteStore};

use crate::support::{self, code, filled, on, on_blocking, stderr, stdout};

/// The record and journal of run `id` in the store at `path`.
async fn recorded(path: &Path, id: &str) -> (RunRecord, Vec<StepRecord>) {
    let store = SqliteStore::open(path).unwrap();
    let id = RunId::new(id);
    let record = store.run(&id).await.unwrap().expect("the run is recorded");
    let journal = store.journal(&id).await.unwrap();
    (record, journal)
}

/// The ids of every run in the store at `path`, sorted.
async fn run_ids(path: &Path) -> Vec<String> {
    let store = SqliteStore::open(path).unwrap();
    let mut ids: Vec<String> = store
        .list_runs(None)
        .await
        .unwrap()
        .into_iter()
        .map(|run| run.id.to_string())
        .collect();
    ids.sort();
    ids
}

fn keys(journal: &[StepRecord]) -> Vec<String> {
    journal.iter().map(|step| step.key.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_run_forked_from_its_failing_step_completes_when_resumed() {
    let (_dir, path) = filled().await;
    let (record_before, journal_before) = recorded(&path, "buy-2").await;
    assert_eq!(record_before.status(), RunStatus::Failed);
    assert_eq!(keys(&journal_before), ["price", "charge"]);

    let forked = on(&path, &["fork", "buy-2", "--from", "charge"]);
    assert_eq!(code(&forked), 0, "{}", stderr(&forked));
    assert_eq!(
        stdout(&forked),
        "run `buy-2~fork-1` forked from `buy-2` at `charge` (1 journal entry copied); \
         it runs when a worker resumes workflow `buy`\n"
    );
    assert_eq!(stderr(&forked), "");

    let (fork, journal) = recorded(&path, "buy-2~fork-1").await;
    assert_eq!(fork.status(), RunStatus::Running, "recorded unfinished");
    assert_eq!(fork.workflow, "buy");
    assert_eq!(fork.input, record_before.input);
    assert_eq!(fork.definition_hash, record_before.definition_hash);
    assert_eq!(fork.parent, None);
    assert_eq!(journal, journal_before[..1], "the entries before `charge`");
    assert_eq!(
        recorded(&path, "buy-2").await,
        (record_before.clone(), journal_before.clone()),
        "the original is untouched"
    );

    // A worker that knows `buy` picks the fork up and runs `charge` again.
    let engine = support::engine(&path);
    let handles = engine.resume(support::buy).await.unwrap();
    let ids: Vec<&str> = handles.iter().map(|handle| handle.id().as_str()).collect();
    assert_eq!(ids, ["buy-2~fork-1"]);
    let handle = handles.into_iter().next().unwrap();
    let receipt = tokio::time::timeout(Duration::from_secs(20), handle.result())
        .await
        .expect("the fork ran to its end")
        .unwrap();
    assert_eq!(receipt, "receipt for 600 cents");
    engine.shutdown(Duration::from_secs(5)).await;

    let (fork, journal) = recorded(&path, "buy-2~fork-1").await;
    assert_eq!(fork.status(), RunStatus::Completed);
    assert_eq!(keys(&journal), ["price", "charge"]);
    assert_eq!(journal[0], journal_before[0], "`price` replayed, not run");
    assert!(journal[1].outcome.failure().is_none(), "{:?}", journal[1]);
    assert_eq!(
        recorded(&path, "buy-2").await,
        (record_before, journal_before),
        "the original is still untouched"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn id_names_the_fork_and_an_existing_id_is_refused() {
    let (_dir, path) = filled().await;
    let first = on(&path, &["fork", "buy-2", "--from", "charge"]);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let second = on(&path, &["fork", "buy-2", "--from", "price"]);
    assert_eq!(code(&second), 0, "{}", stderr(&second));
    assert_eq!(
        stdout(&second),
        "run `buy-2~fork-2` forked from `buy-2` at `price` (0 journal entries copied); \
         it runs when a worker resumes workflow `buy`\n",
        "the first free number"
    );

    let named = on(
        &path,
        &["fork", "buy-2", "--from", "charge", "--id", "retry-2"],
    );
    assert_eq!(code(&named), 0, "{}", stderr(&named));
    assert_eq!(
        stdout(&named),
        "run `retry-2` forked from `buy-2` at `charge` (1 journal entry copied); \
         it runs when a worker resumes workflow `buy`\n"
    );
    let (retry, journal) = recorded(&path, "retry-2").await;
    assert_eq!(retry.status(), RunStatus::Running);
    assert_eq!(keys(&journal), ["price"]);

    let runs = run_ids(&path).await;
    let again = on(
        &path,
        &["fork", "buy-1", "--from", "charge", "--id", "retry-2"],
    );
    assert_eq!(code(&again), 1);
    assert_eq!(
        stderr(&again),
        format!(
            "trailhead: the store at `{}`: run `retry-2` already exists: --id must name a new run\n",
            path.display()
        )
    );
    assert_eq!(stdout(&again), "");
    assert_eq!(run_ids(&path).await, runs, "nothing written");
    assert_eq!(
        recorded(&path, "retry-2").await,
        (retry, journal),
        "the run that has the id is left as it was"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_run_an_unjournaled_step_and_a_running_run_are_refused() {
    let (_dir, path) = filled().await;
    {
        let engine = support::engine(&path);
        engine
            .start_with_id(RunId::new("review-1"), support::review, "spec".to_owned())
            .await
            .unwrap();
        // Stopped while it waits for its signal: left running.
        let left = engine.shutdown(Duration::ZERO).await;
        assert_eq!(left, [RunId::new("review-1")]);
    }
    let runs = run_ids(&path).await;
    let store = path.display();

    let shown = on(&path, &["show", "nope"]);
    let missing = on_blocking(&path, &["fork", "nope", "--from", "charge"]).await;
    assert_eq!(code(&missing), 3);
    assert_eq!(code(&missing), code(&shown));
    assert_eq!(stderr(&missing), stderr(&shown));

    let unjournaled = on_blocking(&path, &["fork", "buy-1", "--from", "price[2]"]).await;
    assert_eq!(code(&unjournaled), 1);
    assert_eq!(
        stderr(&unjournaled),
        format!(
            "trailhead: the store at `{store}`: run `buy-1` has no journaled step `price[2]` \
             to fork from (`trailhead show buy-1` lists its journal)\n"
        )
    );

    let running = on_blocking(&path, &["fork", "review-1", "--from", "publish"]).await;
    assert_eq!(code(&running), 1);
    assert_eq!(
        stderr(&running),
        format!(
            "trailhead: the store at `{store}`: run `review-1` has not ended: \
             only a run that has ended can be forked\n"
        )
    );

    let bad_key = on_blocking(&path, &["fork", "buy-1", "--from", "price[x]"]).await;
    assert_eq!(code(&bad_key), 2, "a bad key is a usage error");
    let message = stderr(&bad_key);
    assert!(
        message.starts_with(
            "error: invalid value 'price[x]' for '--from <KEY>': invalid step key `price[x]`"
        ),
        "{message}"
    );

    for refused in [&missing, &unjournaled, &running, &bad_key] {
        assert_eq!(stdout(refused), "");
    }
    assert_eq!(run_ids(&path).await, runs, "no fork written");
}
