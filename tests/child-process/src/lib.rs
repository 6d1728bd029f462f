//! Re-running the test binary as a child process, to kill it mid-run: the
//! crash tests (`tests/crash`) and the fleet's chaos tests
//! (`tests/fleet/tests/chaos`) share this.
//!
//! A test module has a test `child_process_entry` that does nothing in an
//! ordinary run and, in a child started by [`child`], plays the part the
//! parent gave it ([`child_args`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The environment variable naming the child's working directory.
pub const DIR_ENV: &str = "TRAILHEAD_CRASH_DIR";
/// The environment variable naming the run (or role) the child plays.
pub const RUN_ENV: &str = "TRAILHEAD_CRASH_RUN";

/// This test binary, running only the test `child_process_entry` of the
/// module that calls this (`saga_crash::child_process_entry` when called
/// from `tests/crash/saga_crash.rs` of the test binary `crash`), with the
/// directory and run in its environment; its stderr goes to `child.err` in
/// `dir`.
///
/// # Panics
///
/// If the test binary or the caller's module cannot be told, or `child.err`
/// cannot be created.
#[track_caller]
pub fn child(dir: &Path, run: &str) -> Command {
    let exe = std::env::current_exe().expect("the test binary's path");
    let entry = entry_of(&exe, std::panic::Location::caller().file());
    let mut command = Command::new(&exe);
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
        .stderr(std::fs::File::create(dir.join("child.err")).expect("child.err"));
    command
}

/// The full name of the `child_process_entry` test in the module whose file
/// is `file`, of the test binary `exe`: cargo names the binary of the test
/// target `<name>` (a `tests/<name>/main.rs`) `<name>-<hash>`, and the
/// module path is the file's path below `tests/<name>/`.
fn entry_of(exe: &Path, file: &str) -> String {
    let stem = exe
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or_default();
    let target = stem.rsplit_once('-').map_or(stem, |(target, _)| target);
    let root = format!("tests/{target}/");
    let module = file
        .replace('\\', "/")
        .rsplit_once(&root)
        .and_then(|(_, module)| module.strip_suffix(".rs").map(str::to_owned))
        .unwrap_or_else(|| panic!("{file} is not a module of the test target {target}"));
    format!("{}::child_process_entry", module.replace('/', "::"))
}

/// In the child process: the directory and run [`child`] passed it; `None`
/// in an ordinary test run.
pub fn child_args() -> Option<(PathBuf, String)> {
    let dir = std::env::var_os(DIR_ENV)?;
    let run = std::env::var(RUN_ENV).ok()?;
    Some((PathBuf::from(dir), run))
}

/// In the child process: appends `line` and the time in nanoseconds to the
/// log `file` of its directory, as one write, synced to disk, so a line
/// written before a SIGKILL is never lost or torn.
///
/// # Errors
///
/// If this is not a child process, or the log cannot be written.
pub fn log_line(file: &str, line: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let (dir, _) = child_args().ok_or_else(|| std::io::Error::other("not a child process"))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(std::io::Error::other)?
        .as_nanos();
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(file))?;
    log.write_all(format!("{line} {nanos}\n").as_bytes())?;
    log.sync_all()
}

/// The lines of log `file` in `dir`, without the times [`log_line`] adds
/// (none if there is no such log).
pub fn logged(dir: &Path, file: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_default()
        .lines()
        .map(|line| {
            line.rsplit_once(' ')
                .map_or(line, |(text, _)| text)
                .to_owned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::entry_of;
    use std::path::Path;

    #[test]
    fn the_entry_is_the_module_path_below_the_test_target() {
        let crash = Path::new("/t/target/debug/deps/crash-0a1b2c");
        assert_eq!(
            entry_of(crash, "tests/crash/saga_crash.rs"),
            "saga_crash::child_process_entry"
        );
        let chaos = Path::new("/t/target/debug/deps/chaos-99");
        assert_eq!(
            entry_of(chaos, "tests/fleet/tests/chaos/chaos.rs"),
            "chaos::child_process_entry"
        );
        assert_eq!(
            entry_of(chaos, "tests/fleet/tests/chaos/chaos/log.rs"),
            "chaos::log::child_process_entry"
        );
    }

    #[test]
    #[should_panic(expected = "is not a module of the test target crash")]
    fn a_file_of_another_target_is_refused() {
        entry_of(Path::new("/deps/crash-1"), "tests/behaviour/calls.rs");
    }
}
