//! Re-running the test binary as a child process, to kill it mid-run.
#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::process::{Command, Stdio};

/// The environment variable naming the child's working directory.
pub const DIR_ENV: &str = "TRAILHEAD_CRASH_DIR";
/// The environment variable naming the run the child drives.
pub const RUN_ENV: &str = "TRAILHEAD_CRASH_RUN";

/// This test binary, running only its test `child_process_entry`, with the
/// directory and run in its environment; its stderr goes to `child.err`.
pub fn child(dir: &Path, run: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "child_process_entry",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(DIR_ENV, dir)
        .env(RUN_ENV, run)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("child.err")).unwrap());
    command
}
