//! The watchdog: a shell that stops the cluster and removes its folder once
//! the test process is gone, however it went.
//!
//! It blocks reading a pipe whose write end only the test process holds
//! (opened close-on-exec, so no child of the test inherits it). The operating
//! system closes that end when the process ends, `SIGKILL` included, and the
//! read returns. The shell ignores the terminal's signals and sits in its own
//! process group, so a Ctrl-C that ends the tests does not end it before it
//! has cleaned up; its output goes nowhere, so cargo's test harness, which
//! reads the test's output to its end, does not wait for it.

use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};

/// `$1` the folder, `$2` the binaries, `$3` whether to run as `postgres`.
const SCRIPT: &str = r#"
trap '' INT HUP TERM QUIT
read _ignored
if [ "$3" = postgres ]; then
    runuser -u postgres -- "$2/pg_ctl" -D "$1/data" -m immediate stop
else
    "$2/pg_ctl" -D "$1/data" -m immediate stop
fi
rm -rf -- "$1"
"#;

/// The test process's end of the watchdog's pipe: dropping it (or ending the
/// process) tells the watchdog to clean up.
#[derive(Debug)]
pub(crate) struct Watchdog {
    _pipe: ChildStdin,
}

impl Watchdog {
    /// Starts the watchdog of the cluster in `dir`, run by the binaries in `bin`.
    pub(crate) fn spawn(dir: &Path, bin: &Path, as_postgres: bool) -> Result<Self, String> {
        let mut child = Command::new("sh");
        child
            .arg("-c")
            .arg(SCRIPT)
            .arg("trailhead-pg-watchdog")
            .arg(dir)
            .arg(bin)
            .arg(if as_postgres { "postgres" } else { "self" })
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut child, 0);
        let mut child = child
            .spawn()
            .map_err(|error| format!("cannot start the cluster's watchdog (sh): {error}"))?;
        let pipe = child
            .stdin
            .take()
            .ok_or_else(|| "the watchdog has no stdin".to_owned())?;
        // The child is not waited for: it outlives this process by design.
        drop(child);
        Ok(Self { _pipe: pipe })
    }
}
