//! Workflows to fill stores with, and the binary run as a child process.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use trailhead::{Engine, RunId, SqliteStore, workflow};

async fn price(item: &str) -> Result<u32, std::io::Error> {
    Ok(u32::try_from(item.len()).unwrap() * 100)
}

/// Declines a "broken" item, except in a fork of its run: a fork stands in
/// for the run again after the step was fixed.
async fn charge(item: &str, cents: u32) -> Result<String, std::io::Error> {
    let forked = trailhead::current_step().is_some_and(|step| step.run.as_str().contains("~fork-"));
    if item == "broken" && !forked {
        return Err(std::io::Error::other("card declined"));
    }
    Ok(format!("receipt for {cents} cents"))
}

async fn publish(doc: &str, by: &str) -> Result<String, std::io::Error> {
    Ok(format!("{doc} approved by {by}"))
}

/// A signal's value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Approval {
    pub(crate) by: String,
}

workflow! {
    /// Prices an item and charges for it; a "broken" item's charge fails
    /// (but for a fork of the run).
    pub workflow buy(item: String) -> Result<String, trailhead::Error> {
        let cents = step price(&item);
        let receipt = step charge(&item, cents);
        Ok(receipt)
    }

    /// Buys an item through a child run.
    pub workflow order(item: String) -> Result<String, trailhead::Error> {
        let receipt = call buy(item);
        Ok(receipt)
    }

    /// Waits for an approval, then publishes.
    pub workflow review(doc: String) -> Result<String, trailhead::Error> {
        let approval: Approval = signal "approval";
        let published = step publish(&doc, &approval.by);
        Ok(published)
    }

}

/// An engine on the SQLite store at `path` that sees other processes'
/// signals soon.
pub(crate) fn engine(path: &Path) -> Engine {
    Engine::builder()
        .store(SqliteStore::open(path).unwrap())
        .poll_interval(Duration::from_millis(20))
        .build()
}

/// Fills `path` with: `buy-1` (book, completed), `buy-2` (broken, failed),
/// `order-1` (completed, with a child run of `buy`), `buy-3` (cup,
/// completed), created in that order, 20 ms apart.
pub(crate) async fn fill(path: &Path) {
    let engine = engine(path);
    let pause = || tokio::time::sleep(Duration::from_millis(20));
    let book = engine.start_with_id(RunId::new("buy-1"), buy, "book".to_owned());
    assert!(book.await.unwrap().result().await.is_ok());
    pause().await;
    let broken = engine.start_with_id(RunId::new("buy-2"), buy, "broken".to_owned());
    assert!(broken.await.unwrap().result().await.is_err());
    pause().await;
    let pen = engine.start_with_id(RunId::new("order-1"), order, "pen".to_owned());
    assert!(pen.await.unwrap().result().await.is_ok());
    pause().await;
    let cup = engine.start_with_id(RunId::new("buy-3"), buy, "cup".to_owned());
    assert!(cup.await.unwrap().result().await.is_ok());
}

/// A temporary folder with a filled store in it, and the store's path.
pub(crate) async fn filled() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    fill(&path).await;
    (dir, path)
}

/// The binary, run with `args` (no store from the environment).
pub(crate) fn trailhead<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailhead"))
        .args(args)
        .env_remove("TRAILHEAD_STORE")
        .output()
        .unwrap()
}

/// The binary on the store at `path`, run with `args`.
pub(crate) fn on(path: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--store", path.to_str().unwrap()];
    all.extend_from_slice(args);
    trailhead(&all)
}

/// `on`, off the async workers (for tests whose runs go on meanwhile).
pub(crate) async fn on_blocking(path: &Path, args: &[&str]) -> Output {
    let path = path.to_owned();
    let args: Vec<String> = args.iter().map(|&arg| arg.to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        on(&path, &args)
    })
    .await
    .unwrap()
}

/// Stdout, which must be UTF-8.
pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Stderr, which must be UTF-8.
pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// The exit code (the binary never dies of a signal here).
pub(crate) fn code(output: &Output) -> i32 {
    output.status.code().expect("exited, not killed")
}

/// Stdout parsed as JSON, after checking the command succeeded.
pub(crate) fn json(output: &Output) -> serde_json::Value {
    assert_eq!(code(output), 0, "stderr: {}", stderr(output));
    serde_json::from_str(&stdout(output)).unwrap()
}

/// The `id`s of a JSON array of runs.
pub(crate) fn ids(runs: &serde_json::Value) -> Vec<String> {
    runs.as_array()
        .unwrap()
        .iter()
        .map(|run| run["id"].as_str().unwrap().to_owned())
        .collect()
}
