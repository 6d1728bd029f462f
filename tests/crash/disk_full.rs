//! A full disk is not a business failure: runs whose journal writes fail
//! because the store's disk filled up mid-run are suspended (not failed, not
//! rolled back), and every one of them completes with the right output once
//! space is freed and the engine resumes them.
//!
//! The store lives on a small tmpfs this test mounts (CI runs as root); the
//! disk is filled with a ballast file while the runs wait at a gate.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use trailhead::{
    DatabaseProblem, Engine, RetryPolicy, RunError, RunId, RunStatus, SqliteStore, StoreError,
    workflow,
};

const RUNS: u64 = 8;

static UNDONE: Mutex<Vec<u64>> = Mutex::new(Vec::new());
static OPEN: AtomicBool = AtomicBool::new(false);

async fn reserve(n: u64) -> Result<u64, std::io::Error> {
    Ok(n)
}

async fn unreserve(n: u64) -> Result<(), std::io::Error> {
    UNDONE.lock().unwrap().push(n);
    Ok(())
}

/// A big output (so writing it needs fresh disk pages), once the gate opens.
async fn report(n: u64) -> Result<String, std::io::Error> {
    while !OPEN.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(format!("{n}:").repeat(40_000))
}

async fn measure(text: String) -> Result<u64, std::io::Error> {
    Ok(text.len() as u64)
}

workflow! {
    workflow nightly(n: u64) -> Result<u64, trailhead::Error> {
        let reserved = step reserve(n).compensate(unreserve);
        let text = step report(reserved);
        let length = step measure(text);
        Ok(length)
    }
}

/// A tmpfs mounted on a fresh folder, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .status()?;
        if !status.success() {
            return Err(std::io::Error::other(format!("mount exited with {status}")));
        }
        Ok(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the file system at `dir` to the last byte; the ballast's path.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("ballast");
    let mut file = std::fs::File::create(&path).unwrap();
    for chunk in [1 << 20, 64 << 10, 4 << 10, 512, 1] {
        let bytes = vec![0_u8; chunk];
        while file.write_all(&bytes).and_then(|()| file.flush()).is_ok() {}
    }
    path
}

fn expected(n: u64) -> u64 {
    format!("{n}:").len() as u64 * 40_000
}

#[test]
fn runs_suspended_by_a_full_disk_complete_once_space_is_freed() {
    let tmpfs = match Tmpfs::mount("6m") {
        Ok(tmpfs) => tmpfs,
        // CI runs as root and must run this test; elsewhere it needs root.
        Err(error) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped outside CI: cannot mount a tmpfs ({error}); run as root");
            return;
        }
        Err(error) => panic!("cannot mount a tmpfs for the disk-full test: {error}"),
    };
    let path = tmpfs.path().join("runs.db");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let engine = Engine::builder()
            .store(SqliteStore::open(&path).unwrap())
            .journal_retries(
                RetryPolicy::attempts(3)
                    .with_backoff(trailhead::Backoff::fixed(Duration::from_millis(20))),
            )
            .build();
        let mut handles = Vec::new();
        for n in 0..RUNS {
            let id = RunId::new(format!("night-{n}"));
            handles.push(engine.start_with_id(id, nightly, n).await.unwrap());
        }
        // Every run has journaled its reservation and waits at the gate.
        for n in 0..RUNS {
            let id = RunId::new(format!("night-{n}"));
            while engine.journal(&id).await.unwrap().is_empty() {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }

        // The disk fills up; the runs go on and cannot journal.
        let ballast = fill(tmpfs.path());
        OPEN.store(true, Ordering::SeqCst);
        for handle in handles {
            let id = handle.id().clone();
            match handle.result().await {
                Err(RunError::Suspended { run, cause }) => {
                    assert_eq!(run, id);
                    assert!(
                        matches!(
                            cause,
                            StoreError::Database {
                                problem: DatabaseProblem::Full,
                                ..
                            }
                        ),
                        "{cause}"
                    );
                }
                other => panic!("run {id}: expected a suspension, got {other:?}"),
            }
        }
        let health = engine.health().await.unwrap();
        assert_eq!(health.suspended.len(), RUNS as usize, "{health:?}");
        for n in 0..RUNS {
            let id = RunId::new(format!("night-{n}"));
            let record = engine.run_record(&id).await.unwrap().unwrap();
            assert_eq!(record.status(), RunStatus::Running, "not failed: {id}");
        }
        assert!(UNDONE.lock().unwrap().is_empty(), "nothing rolled back");

        // Space is freed: resuming completes every run.
        std::fs::remove_file(ballast).unwrap();
        let resumed = engine.resume(nightly).await.unwrap();
        assert_eq!(resumed.len(), RUNS as usize);
        for handle in resumed {
            let id = handle.id().clone();
            let n: u64 = id.as_str()["night-".len()..].parse().unwrap();
            assert_eq!(handle.result().await.unwrap(), expected(n), "run {id}");
        }
        assert!(engine.health().await.unwrap().suspended.is_empty());
        assert!(UNDONE.lock().unwrap().is_empty(), "nothing rolled back");
        for n in 0..RUNS {
            let id = RunId::new(format!("night-{n}"));
            let keys: Vec<String> = engine
                .journal(&id)
                .await
                .unwrap()
                .iter()
                .map(|entry| entry.key.to_string())
                .collect();
            assert_eq!(keys, ["reserve", "report", "measure"], "run {id}");
        }
    });
}
