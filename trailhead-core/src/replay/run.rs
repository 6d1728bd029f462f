//! Replaying one recorded run, or every run in a folder or a store, against
//! the current workflow code.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use tokio_util::sync::CancellationToken;

use super::check::{Ledger, ReplayCheck};
use super::{Divergence, History, HistoryError, ReplayError};
use crate::picture::Graph;
use crate::store::{RunState, StepOutcome, Store};
use crate::{Engine, RunContext, RunId, StepKey, Workflow};

/// Whether the body was woken while it was polled, and the waker of the
/// task polling it (for a wake-up from outside the poll).
#[derive(Default)]
struct Woken {
    flag: AtomicBool,
    outer: std::sync::Mutex<Option<Waker>>,
}

impl Woken {
    fn set(&self, outer: &Waker) {
        self.flag.store(false, Ordering::SeqCst);
        let mut held = self.outer.lock().unwrap_or_else(PoisonError::into_inner);
        if !held.as_ref().is_some_and(|held| held.will_wake(outer)) {
            *held = Some(outer.clone());
        }
    }

    fn take(&self) -> bool {
        self.flag.swap(false, Ordering::SeqCst)
    }
}

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.flag.store(true, Ordering::SeqCst);
        if let Some(outer) = &*self.outer.lock().unwrap_or_else(PoisonError::into_inner) {
            outer.wake_by_ref();
        }
    }
}

/// A recorded run that replayed clean against the current code.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Replayed {
    /// The run.
    pub run: RunId,
    /// The journaled steps the code reached and took from the journal.
    pub replayed: usize,
    /// The steps the code reached that the journal lacks: where the run,
    /// resumed under this code, would carry on. Empty for a run the code
    /// takes to its end on the journal alone.
    pub continues_at: Vec<StepKey>,
}

/// Replays `history` against `workflow`'s current code without running any
/// step: every step, call, sleep and signal the code reaches takes its
/// journaled entry, and the replay stops where the journal ends.
///
/// Use it in tests, on histories of real runs (`trailhead export RUN`), to
/// prove that a change to a workflow is safe for the runs recorded under
/// the old code: [`replay_folder`] replays every history in a folder.
///
/// The code's order is compared with the recorded definition's: the
/// replay reaches every site reachable at once together and one that takes
/// another's value after it, and no step may be reached before one the
/// recorded flowchart has upstream of it. Runs recorded by builds that
/// kept no graph (or no step targets) skip the order (or target) check.
/// Child runs are replayed as their call's journaled output, not step by
/// step: replay their histories with their own workflow.
///
/// # Errors
///
/// - [`ReplayError::Diverged`] with the first [`Divergence`]: a key the
///   journal lacks reached while it has entries the code does not reach, a
///   journaled key no longer reached, another function at a journaled key,
///   an output that no longer decodes, or a step reached before one the recorded definition has upstream;
/// - [`ReplayError::NotDeclaredCompatible`] for an unfinished run that
///   replays clean under a definition that does not declare its hash;
/// - [`ReplayError::OtherWorkflow`] and [`ReplayError::Input`] for a
///   history that is not a run of this workflow.
///
/// # Examples
///
/// ```
/// use trailhead_core::replay::{self, History};
/// use trailhead_core::{Engine, Error, RunContext, Workflow};
/// # use std::future::Future;
///
/// # #[derive(Clone, Copy, Default)]
/// # struct Double;
/// # impl Workflow for Double {
/// #     type Input = u32;
/// #     type Output = u32;
/// #     type Error = Error;
/// #     const NAME: &'static str = "double";
/// #     const MERMAID: &'static str = "flowchart TD\n  start --> done";
/// #     const DEFINITION_HASH: u64 = 1;
/// #     fn execute<'a>(self, ctx: &'a RunContext, n: u32)
/// #         -> impl Future<Output = Result<u32, Error>> + Send + 'a {
/// #         async move { Ok(n * 2) }
/// #     }
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = Engine::new();
/// let handle = engine.start(Double, 21).await?;
/// let run = handle.id().clone();
/// handle.result().await?;
/// let history = History::of_run(&**engine.store(), &run).await?;
/// let replayed = replay::replay(Double, &history)?;
/// assert_eq!(replayed.run, run);
/// # Ok(())
/// # }
/// ```
pub fn replay<W: Workflow>(workflow: W, history: &History) -> Result<Replayed, ReplayError> {
    let record = &history.record;
    if record.workflow != W::name() {
        return Err(ReplayError::OtherWorkflow {
            run: record.id.clone(),
            recorded: record.workflow.clone(),
            replaying: W::name(),
        });
    }
    let input =
        <W::Input as crate::step::Journaled>::from_journal(&record.input).map_err(|error| {
            ReplayError::Input {
                run: record.id.clone(),
                error: error.to_string(),
            }
        })?;
    // On a thread and runtime of its own, whichever runtime (if any) the
    // caller is on.
    let ledger = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                    .map_err(|error| ReplayError::Runtime(error.to_string()))?
                    .block_on(walk(workflow, history, input))
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })?;
    let replayed = judge::<W>(history, ledger)?;
    let hash = record.definition_hash;
    let declared = hash == W::definition_hash() || W::COMPATIBLE_WITH.contains(&hash);
    if !record.state.is_ended() && !declared {
        return Err(ReplayError::NotDeclaredCompatible {
            run: record.id.clone(),
            workflow: W::name(),
            recorded: hash,
            current: W::definition_hash(),
        });
    }
    Ok(replayed)
}

/// Runs the workflow body on the journal until it ends or reaches nothing
/// more; gives what it reached.
async fn walk<W: Workflow>(
    workflow: W,
    history: &History,
    input: W::Input,
) -> Result<Ledger, ReplayError> {
    let engine = Engine::new();
    let mut record = history.record.clone();
    record.state = RunState::Running;
    let writer = engine.store().create_run(record).await?;
    let mut ctx = RunContext::new(
        engine,
        history.record.id.clone(),
        W::name(),
        writer,
        history.journal.clone(),
        CancellationToken::new(),
        false,
    );
    let check = Arc::new(ReplayCheck::new());
    ctx.check = Some(Arc::clone(&check));
    {
        let body = workflow.execute(&ctx, input);
        tokio::pin!(body);
        let woken = Arc::new(Woken::default());
        std::future::poll_fn(|cx| {
            let waker = Waker::from(Arc::clone(&woken));
            loop {
                woken.set(cx.waker());
                if body
                    .as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_ready()
                {
                    return Poll::Ready(());
                }
                // Something moved during the poll (a fan-out's place freed):
                // poll again; else let the waiting sites on; else done.
                if !woken.take() && !check.next_wave() {
                    return Poll::Ready(());
                }
            }
        })
        .await;
    }
    drop(ctx);
    Ok(Arc::into_inner(check)
        .map(ReplayCheck::into_ledger)
        .unwrap_or_default())
}

/// The first divergence between what the code reached and the journal.
fn judge<W: Workflow>(history: &History, ledger: Ledger) -> Result<Replayed, Divergence> {
    let run = &history.record.id;
    if let Some((key, error)) = ledger.undecodable.into_iter().next() {
        return Err(Divergence::OutputDoesNotDecode {
            run: run.clone(),
            key,
            error,
        });
    }
    // Runs recorded by builds before graphs were kept have no order or
    // targets to check.
    if let Ok((recorded, mermaid)) = Graph::recorded(run, &history.record.mermaid) {
        targets::<W>(run, &recorded, &ledger.replayed)?;
        super::order::check(run, &recorded, mermaid, &ledger.replayed)?;
    }
    let reached: HashSet<&StepKey> = ledger.replayed.iter().map(|(key, _)| key).collect();
    // A step that fell back to a fallback step replays the value it fell
    // back to: the fallback step's own entry is not reached again. So is one
    // whose step the code reaches again (the journal ends before the step's
    // own entry): it replays when that step falls back again.
    let fell_back: HashSet<StepKey> = history
        .journal
        .iter()
        .filter(|entry| {
            matches!(entry.outcome, StepOutcome::FellBack(_)) && reached.contains(&entry.key)
        })
        .map(|entry| &entry.key)
        .chain(&ledger.missing)
        .map(StepKey::fallback)
        .collect();
    // Compensations are journaled by the rollback, not reached by the body;
    // a generation's opening entry (`continue_as_new`) by the engine.
    let unreached = history.journal.iter().map(|entry| &entry.key).find(|key| {
        !key.is_undo() && !key.is_generation() && !reached.contains(key) && !fell_back.contains(key)
    });
    match (unreached, ledger.missing.first()) {
        (Some(journaled), Some(key)) => Err(Divergence::Missing {
            run: run.clone(),
            key: key.clone(),
            journaled: journaled.clone(),
        }),
        (Some(key), None) => Err(Divergence::Unreached {
            run: run.clone(),
            key: key.clone(),
        }),
        (None, _) => Ok(Replayed {
            run: run.clone(),
            replayed: reached.len(),
            continues_at: ledger.missing,
        }),
    }
}

/// Each journaled key reached runs what the recorded definition ran there.
/// Graphs recorded before they named their targets are not checked.
fn targets<W: Workflow>(
    run: &RunId,
    recorded: &Graph,
    replayed: &[(StepKey, u64)],
) -> Result<(), Divergence> {
    let Ok(current) = Graph::from_json(W::GRAPH) else {
        return Ok(());
    };
    let targets_of = |graph: &Graph| -> HashMap<String, String> {
        graph
            .step_nodes()
            .filter_map(|(site, node)| Some((site.to_owned(), node.target.clone()?)))
            .collect()
    };
    let (was, now) = (targets_of(recorded), targets_of(&current));
    for (key, _) in replayed {
        if let (Some(was), Some(now)) = (was.get(key.name()), now.get(key.name()))
            && was != now
        {
            return Err(Divergence::DifferentTarget {
                run: run.clone(),
                key: key.clone(),
                journaled: was.clone(),
                now: now.clone(),
            });
        }
    }
    Ok(())
}

/// Replays every history in folder `dir` (its `*.json` files) of a run of
/// `workflow`; histories of other workflows are left for theirs.
///
/// A project keeps histories of real runs (`trailhead export RUN >
/// tests/histories/order-1.json`) and a test that replays them, so that
/// `cargo test` proves a change to the workflow safe for them:
///
/// ```no_run
/// # use trailhead_core::{Error, RunContext, Workflow};
/// # use std::future::Future;
/// # #[derive(Clone, Copy, Default)]
/// # struct order;
/// # impl Workflow for order {
/// #     type Input = u32; type Output = u32; type Error = Error;
/// #     const NAME: &'static str = "order";
/// #     const MERMAID: &'static str = "";
/// #     const DEFINITION_HASH: u64 = 1;
/// #     fn execute<'a>(self, _: &'a RunContext, n: u32)
/// #         -> impl Future<Output = Result<u32, Error>> + Send + 'a { async move { Ok(n) } }
/// # }
/// #[test]
/// fn recorded_orders_replay_clean() {
///     let replayed = trailhead_core::replay::replay_folder(order, "tests/histories").unwrap();
///     assert!(!replayed.is_empty());
/// }
/// ```
///
/// # Errors
///
/// [`ReplayFailures`] listing every history that did not replay clean (or
/// could not be read), by file.
pub fn replay_folder<W: Workflow>(
    workflow: W,
    dir: impl AsRef<Path>,
) -> Result<Vec<Replayed>, ReplayFailures> {
    let dir = dir.as_ref();
    let mut failures = ReplayFailures::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(source) => {
            let error = HistoryError::Read {
                path: dir.display().to_string(),
                source,
            };
            failures.add(dir.to_path_buf(), error.into());
            return Err(failures);
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut replayed = Vec::new();
    for file in files {
        match History::read(&file) {
            Ok(history) if history.record.workflow != W::name() => {}
            Ok(history) => match replay(workflow, &history) {
                Ok(run) => replayed.push(run),
                Err(error) => failures.add(file, error.into()),
            },
            Err(error) => failures.add(file, error.into()),
        }
    }
    failures.or(replayed)
}

/// Replays every run of `workflow` in `store` (a copy of production, say):
/// finished runs prove the code still reads them, unfinished ones that
/// they resume.
///
/// # Errors
///
/// [`ReplayFailures`] listing every run that did not replay clean, by id.
pub async fn replay_store<W: Workflow>(
    workflow: W,
    store: &dyn Store,
) -> Result<Vec<Replayed>, ReplayFailures> {
    let mut failures = ReplayFailures::default();
    let runs = match store.list_runs(None).await {
        Ok(runs) => runs.into_iter().filter(|run| run.workflow == W::name()),
        Err(error) => {
            failures.add(
                PathBuf::from("the store"),
                HistoryError::Store(error).into(),
            );
            return Err(failures);
        }
    };
    let mut replayed = Vec::new();
    for record in runs {
        let place = PathBuf::from(record.id.as_str());
        match History::of_run(store, &record.id).await {
            Ok(history) => match replay(workflow, &history) {
                Ok(run) => replayed.push(run),
                Err(error) => failures.add(place, error.into()),
            },
            Err(error) => failures.add(place, error.into()),
        }
    }
    failures.or(replayed)
}

/// The histories or runs that did not replay clean, each with why.
///
/// Its `Debug` is its text, one line per failure, so that a test's
/// `.unwrap()` says what diverged where.
#[derive(Default, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ReplayFailures {
    /// Each history's file (or run's id) and why it failed.
    pub failures: Vec<(PathBuf, ReplayFailure)>,
}

/// Why one history did not replay clean.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayFailure {
    /// It could not be read.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// It does not fit the code.
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

impl std::fmt::Debug for ReplayFailures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl ReplayFailures {
    fn add(&mut self, place: PathBuf, failure: ReplayFailure) {
        self.failures.push((place, failure));
    }

    fn or(self, replayed: Vec<Replayed>) -> Result<Vec<Replayed>, Self> {
        if self.failures.is_empty() {
            Ok(replayed)
        } else {
            Err(self)
        }
    }

    fn describe(&self) -> String {
        let mut text = format!(
            "{} recorded run(s) did not replay clean:",
            self.failures.len()
        );
        for (place, failure) in &self.failures {
            text.push_str(&format!("\n  {}: {failure}", place.display()));
        }
        text
    }
}
