//! Re-running the test binary as a child process, to kill it mid-run.

use std::path::{Path, PathBuf};

pub(crate) use trailhead_test_child::{child, child_args, log_line, logged};

/// The engine on the SQLite store the parent and its children share in `dir`.
pub(crate) fn engine_in(dir: &Path) -> trailhead::Engine {
    let store = trailhead::SqliteStore::open(dir.join("runs.db")).unwrap();
    trailhead::Engine::builder().store(store).build()
}

/// In the child process: runs `body` with the directory, the role ([`child`]'s
/// `run` argument) and the engine on the shared store, on a runtime of its own.
/// In an ordinary test run it does nothing.
pub(crate) fn in_child(body: impl AsyncFnOnce(PathBuf, String, trailhead::Engine)) {
    let Some((dir, role)) = child_args() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let engine = engine_in(&dir);
        body(dir, role, engine).await;
    });
}
