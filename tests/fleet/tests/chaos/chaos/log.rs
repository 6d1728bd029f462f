//! The execution log: every step and compensation execution appends a
//! synced `START` line before its work and an `END` line after it (see
//! [`log_line`]), naming the run, the key, the attempt and the worker; the
//! parent reads the lines back as [`Execution`]s.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::log_line;

/// The log file, in the shared directory.
pub(crate) const FILE: &str = "executions.log";

/// In a worker: `"{role} {pid} {worker id}"`, set once the store is open.
pub(crate) static WORKER: OnceLock<String> = OnceLock::new();

/// In a worker: appends `{marker} {run} {key} {attempt} {role} {pid}
/// {worker}` (and the time).
pub(crate) fn execution(marker: &str, run: &str, key: &str, attempt: &str) -> std::io::Result<()> {
    let worker = WORKER
        .get()
        .ok_or_else(|| std::io::Error::other("not a worker process"))?;
    log_line(FILE, &format!("{marker} {run} {key} {attempt} {worker}"))
}

/// One execution of a step (or compensation) by one worker process.
#[derive(Clone, Debug)]
pub(crate) struct Execution {
    /// The run the step belongs to (a child run's own id).
    pub(crate) run: String,
    /// The step's key (`undo:…` for a compensation).
    pub(crate) key: String,
    /// The worker process: its role, `w{slot}.{incarnation}`.
    pub(crate) role: String,
    /// The store's worker id in that process.
    pub(crate) worker: String,
    pub(crate) start: SystemTime,
    /// `None`: the process died (or stopped for good) before it ended.
    pub(crate) end: Option<SystemTime>,
}

impl Execution {
    /// The top-level run: the id before the first `/` (a child run is
    /// driven by its parent's worker).
    pub(crate) fn top_run(&self) -> &str {
        self.run.split('/').next().unwrap_or(&self.run)
    }
}

/// Every execution in the log of `dir`, in the order they started.
pub(crate) fn read(dir: &Path) -> Vec<Execution> {
    let text = std::fs::read_to_string(dir.join(FILE)).unwrap_or_default();
    let mut executions: Vec<Execution> = Vec::new();
    // (run, key, attempt, role) -> its execution without an end yet.
    let mut open: HashMap<(String, String, String, String), usize> = HashMap::new();
    // A line still being written (by a live worker) is not read yet.
    for line in text
        .split_inclusive('\n')
        .filter_map(|l| l.strip_suffix('\n'))
    {
        let fields: Vec<&str> = line.split(' ').collect();
        let &[marker, run, key, attempt, role, _pid, worker, nanos] = &fields[..] else {
            panic!("a torn execution log line: {line:?}");
        };
        let at = UNIX_EPOCH + Duration::from_nanos(nanos.parse().expect("nanoseconds"));
        let id = (
            run.to_owned(),
            key.to_owned(),
            attempt.to_owned(),
            role.to_owned(),
        );
        match marker {
            "START" => {
                open.insert(id, executions.len());
                executions.push(Execution {
                    run: run.to_owned(),
                    key: key.to_owned(),
                    role: role.to_owned(),
                    worker: worker.to_owned(),
                    start: at,
                    end: None,
                });
            }
            "END" => {
                let index = open
                    .remove(&id)
                    .unwrap_or_else(|| panic!("an END with no START: {line:?}"));
                executions[index].end = Some(at);
            }
            other => panic!("unknown marker {other:?} in {line:?}"),
        }
    }
    executions.sort_by_key(|execution| execution.start);
    executions
}
