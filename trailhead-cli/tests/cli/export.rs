//! `trailhead export RUN`: a run's history as the JSON file replay tests
//! read.

use trailhead::replay::{HISTORY_FORMAT, History};
use trailhead::store::Store as _;
use trailhead::{RunId, SqliteStore};

use crate::support::{code, filled, on, stderr, stdout};

#[tokio::test(flavor = "multi_thread")]
async fn a_finished_runs_history_reads_back_as_the_store_holds_it() {
    let (_dir, path) = filled().await;
    let store = SqliteStore::open_read_only(&path).unwrap();
    for run in ["buy-1", "buy-2", "order-1"] {
        let printed = on(&path, &["export", run]);
        assert_eq!(code(&printed), 0, "{run}: {}", stderr(&printed));
        let history = History::from_json(&stdout(&printed))
            .unwrap_or_else(|error| panic!("{run}: {error}\n{}", stdout(&printed)));
        let id = RunId::new(run);
        let record = store.run(&id).await.unwrap().unwrap();
        let journal = store.journal(&id).await.unwrap();
        assert_eq!(history.format, HISTORY_FORMAT);
        assert_eq!(history.record.id, record.id);
        assert_eq!(history.record.workflow, record.workflow);
        let entries = |journal: &[trailhead::store::StepRecord]| {
            journal
                .iter()
                .map(|step| (step.key.to_string(), step.outcome.clone()))
                .collect::<Vec<_>>()
        };
        assert!(!journal.is_empty(), "{run}");
        assert_eq!(entries(&history.journal), entries(&journal), "{run}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn output_is_a_new_file_only_its_owner_reads() {
    let (dir, path) = filled().await;
    let file = dir.path().join("buy-2.json");
    let file_arg = file.to_str().unwrap();
    let written = on(&path, &["export", "buy-2", "--output", file_arg]);
    assert_eq!(code(&written), 0, "{}", stderr(&written));
    assert!(
        stdout(&written).contains("history of run `buy-2` written to"),
        "{}",
        stdout(&written)
    );
    let saved = History::read(&file).unwrap();
    let printed = History::from_json(&stdout(&on(&path, &["export", "buy-2"]))).unwrap();
    assert_eq!(saved, printed);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let before = std::fs::read(&file).unwrap();
    let again = on(&path, &["export", "buy-1", "-o", file_arg]);
    assert_eq!(code(&again), 1);
    assert!(
        stderr(&again).contains("cannot write the history"),
        "{}",
        stderr(&again)
    );
    assert_eq!(std::fs::read(&file).unwrap(), before, "left as it was");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_run_fails_as_show_does() {
    let (dir, path) = filled().await;
    let shown = on(&path, &["show", "nope"]);
    let exported = on(&path, &["export", "nope"]);
    assert_eq!(code(&exported), code(&shown));
    assert_eq!(code(&exported), 3);
    assert_eq!(stderr(&exported), stderr(&shown));
    assert!(stdout(&exported).is_empty());

    let file = dir.path().join("nope.json");
    let to_file = on(&path, &["export", "nope", "-o", file.to_str().unwrap()]);
    assert_eq!(code(&to_file), 3);
    assert!(!file.exists(), "no file for a missing run");
}
