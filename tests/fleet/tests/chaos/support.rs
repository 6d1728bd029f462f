//! Re-running the test binary as a child process, to kill it mid-run (as
//! the crash tests do).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The environment variable naming the child's working directory.
pub(crate) const DIR_ENV: &str = "TRAILHEAD_CRASH_DIR";
/// The environment variable naming the run the child drives.
pub(crate) const RUN_ENV: &str = "TRAILHEAD_CRASH_RUN";

/// This test binary, running only the test `child_process_entry` of the
/// module that calls this (`chaos::child_process_entry` when called from
/// `tests/chaos/chaos.rs`), with the directory and run in its
/// environment; its stderr goes to `child.err`.
#[track_caller]
pub(crate) fn child(dir: &Path, run: &str) -> Command {
    let entry = entry_of(std::panic::Location::caller().file());
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            entry.as_str(),
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

/// The full name of the `child_process_entry` test in the module whose file
/// is `file` (a path ending in `tests/chaos/<module>.rs`).
fn entry_of(file: &str) -> String {
    let module = file
        .rsplit_once("tests/chaos/")
        .and_then(|(_, module)| module.strip_suffix(".rs"))
        .unwrap_or_else(|| panic!("{file} is not a module of the chaos tests"));
    format!("{}::child_process_entry", module.replace('/', "::"))
}

/// In the child process: the directory and run [`child`] passed it; `None`
/// in an ordinary test run.
pub(crate) fn child_args() -> Option<(PathBuf, String)> {
    let dir = std::env::var_os(DIR_ENV)?;
    let run = std::env::var(RUN_ENV).ok()?;
    Some((PathBuf::from(dir), run))
}

/// In the child process: appends `line` and the time in nanoseconds to the
/// log `file` of its directory, as one write, synced to disk, so a line
/// written before a SIGKILL is never lost or torn.
pub(crate) fn log_line(file: &str, line: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let (dir, _) = child_args().ok_or_else(|| std::io::Error::other("not a child process"))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(file))?;
    log.write_all(format!("{line} {nanos}\n").as_bytes())?;
    log.sync_all()
}
