//! `trailhead watch RUN`: a run followed until it ends, as progress bars
//! on stderr and one line on stdout when it ends.
//!
//! Out of the run's process there are no live events: progress is the
//! journal read every 200 ms against the sites the workflow's recorded
//! graph has. Compensations (journaled under `undo:` keys) are counted
//! apart. Each step site in a loop or fan-out gets a bar of its own (see
//! [`Sites`]); when stderr is not a terminal, the bars are lines written as
//! they change.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use trailhead_core::RunId;
use trailhead_core::picture::{self, NodeKind, RunPicture};
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
    let bar =
        ProgressBar::new(0).with_style(style("{spinner} [{bar:30}] {pos}/{len} steps  {msg}"));
    let mut sites = if std::io::stderr().is_terminal() {
        // The main bar first, the sites' bars under it.
        let multi = MultiProgress::new();
        multi.add(bar.clone());
        Sites::Bars {
            multi,
            bars: HashMap::new(),
        }
    } else {
        Sites::Lines {
            last: HashMap::new(),
        }
    };
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
        if let Ok(picture) = picture::from_records(&run, &journal) {
            for site in Site::all(&picture) {
                sites.show(&site);
            }
        }
        if run.state.is_ended() {
            sites.clear();
            bar.finish_and_clear();
            return Ok(ended(&run, &progress));
        }
        tokio::time::sleep(POLL).await;
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// A step site in a loop or fan-out, as far as its run's journal shows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Site {
    /// Its node in the graph.
    node: String,
    /// Its step key name.
    name: String,
    /// Executions journaled: done and failed.
    done: u32,
    failed: u32,
    /// Of its loop's or fan-out's items, the most any of its sites reached
    /// (how many items are known so far: out of process, the rest are not).
    of: u32,
}

impl Site {
    /// The sites of `picture` in a loop or fan-out that have run, in the
    /// graph's order.
    fn all(picture: &RunPicture) -> Vec<Self> {
        // The picture's nodes are the graph's, in its order.
        let counted: Vec<_> = picture
            .graph()
            .nodes()
            .iter()
            .zip(&picture.nodes)
            .filter(|(graph, node)| {
                graph.scope.is_some()
                    && node.counts.total > 0
                    && matches!(
                        node.kind,
                        NodeKind::Step | NodeKind::Call | NodeKind::Sleep | NodeKind::Signal
                    )
            })
            .collect();
        let mut of: HashMap<&Option<String>, u32> = HashMap::new();
        for (graph, node) in &counted {
            let most = of.entry(&graph.scope).or_default();
            *most = (*most).max(node.counts.total);
        }
        counted
            .iter()
            .map(|(graph, node)| Self {
                node: node.id.clone(),
                name: node.site.clone().unwrap_or_else(|| node.id.clone()),
                done: node.counts.done,
                failed: node.counts.failed,
                of: of[&graph.scope],
            })
            .collect()
    }

    /// The site as a line: "price ×40: 32 done, 0 failed".
    fn line(&self) -> String {
        format!(
            "{} ×{}: {} done, {} failed",
            self.name, self.of, self.done, self.failed
        )
    }
}

/// Where a run's sites in loops and fan-outs are shown: as bars under its
/// main bar on a terminal, else as a line each time one changes.
enum Sites {
    Bars {
        multi: MultiProgress,
        bars: HashMap<String, ProgressBar>,
    },
    Lines {
        last: HashMap<String, Site>,
    },
}

impl Sites {
    /// Shows `site` as it is now.
    fn show(&mut self, site: &Site) {
        match self {
            Self::Bars { multi, bars } => {
                let bar = bars.entry(site.node.clone()).or_insert_with(|| {
                    let bar = multi.add(
                        ProgressBar::new(0)
                            .with_style(style("  {prefix:>16} [{bar:30}] {pos}/{len}  {msg}")),
                    );
                    bar.set_prefix(site.name.clone());
                    bar
                });
                bar.set_length(u64::from(site.of));
                bar.set_position(u64::from(site.done + site.failed));
                bar.set_message(if site.failed > 0 {
                    format!("{} failed", site.failed)
                } else {
                    String::new()
                });
            }
            Self::Lines { last } => {
                if last.get(&site.node) != Some(site) {
                    eprintln!("{}", site.line());
                    last.insert(site.node.clone(), site.clone());
                }
            }
        }
    }

    fn clear(&self) {
        if let Self::Bars { bars, .. } = self {
            for bar in bars.values() {
                bar.finish_and_clear();
            }
        }
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
