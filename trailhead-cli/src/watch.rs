//! `trailhead watch RUN`: a run followed until it ends, as a progress bar
//! on stderr and one line on stdout when it ends.
//!
//! Out of the run's process there are no live events: progress is the
//! journal read every 200 ms against the sites the workflow's recorded
//! graph has. Compensations (journaled under `undo:` keys) are counted
//! apart.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use trailhead_core::RunId;
use trailhead_core::store::{RunRecord, RunStatus, StepRecord, Store};

use crate::cli::WatchArgs;
use crate::failure::{Failure, RUN_DID_NOT_COMPLETE};
use crate::{Output, format, graph};

/// How often the store is read.
const POLL: Duration = Duration::from_millis(200);

/// Follows the run `args` names until it ends.
pub(crate) async fn watch(
    store: &dyn Store,
    name: &str,
    args: &WatchArgs,
) -> Result<Output, Failure> {
    let id = RunId::new(args.run.as_str());
    let fail = |error| Failure::store(name, &error);
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} steps  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    loop {
        let run = store
            .run(&id)
            .await
            .map_err(fail)?
            .ok_or_else(|| Failure::no_run(name, &args.run))?;
        let journal = store.journal(&id).await.map_err(fail)?;
        let progress = Progress::of(&run, &journal);
        bar.set_length(progress.known.max(progress.done) as u64);
        bar.set_position(progress.done as u64);
        bar.set_message(progress.message(&run));
        bar.tick();
        if run.state.is_ended() {
            bar.finish_and_clear();
            return Ok(ended(&run, &progress));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// How far a run is, from its journal.
#[derive(Debug)]
struct Progress {
    /// Steps journaled (compensations not counted).
    done: usize,
    /// Sites in the workflow's graph (0 if it recorded none).
    known: usize,
    /// Compensations journaled.
    undone: usize,
    /// The last step journaled.
    last: Option<String>,
}

impl Progress {
    fn of(run: &RunRecord, journal: &[StepRecord]) -> Self {
        let undone = journal
            .iter()
            .filter(|step| step.key.undone().is_some())
            .count();
        Self {
            done: journal.len() - undone,
            known: graph::sites(run),
            undone,
            last: journal.last().map(|step| step.key.to_string()),
        }
    }

    fn message(&self, run: &RunRecord) -> String {
        let mut message = format!(
            "{}  {}",
            run.status().name(),
            format::duration(format::run_duration(run))
        );
        if let Some(last) = &self.last {
            message.push_str(&format!("  last: {last}"));
        }
        if self.undone > 0 {
            message.push_str(&format!("  {} compensated", self.undone));
        }
        message
    }
}

/// The line printed when the run ended, and the exit code it gives.
fn ended(run: &RunRecord, progress: &Progress) -> Output {
    let status = run.status();
    let mut line = format!(
        "run `{}` {} after {}, {} steps journaled",
        run.id,
        status.name(),
        format::duration(format::run_duration(run)),
        progress.done
    );
    if let Some(error) = format::run_error(run) {
        line.push_str(&format!(": {error}"));
    }
    line.push('\n');
    Output {
        stdout: line,
        stderr: None,
        code: if status == RunStatus::Completed {
            0
        } else {
            RUN_DID_NOT_COMPLETE
        },
    }
}
