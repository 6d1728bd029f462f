//! Crash test of generic workflows: one definition, `tally<T>`, instantiated
//! for two types, each with runs on one store file, SIGKILLed at random
//! points and started again until every run completes.
//!
//! Each round's child resumes the runs of both instances, each through its
//! own instance (`engine.resume(tally::<Apples>::default())`), and starts the
//! runs that do not exist yet. A run of `tally<Apples>` resumed under
//! `tally<Pears>` would weigh its items with the wrong weight (1 against
//! 1,000), and be refused by its definition hash anyway: the test checks
//! that each run is recorded under its own instance's name, that each
//! resume hands back only its instance's runs, that every total is exact,
//! and that no step whose entry was journaled before a kill ran again.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use trailhead::{Data, Engine, RunId, RunOutcome, RunStatus, Workflow, workflow};

use crate::support::{child, child_args, engine_in, log_line, logged};

/// Items per run.
const ITEMS: u32 = 40;
/// Runs per instance.
const RUNS: usize = 2;
/// SIGKILLs: each round is killed after a few more effects are logged.
const KILLS: u32 = 12;

/// What a tally weighs its items with.
trait Weight: Data + Default {
    /// The weight of one item.
    const WEIGHT: u64;
    /// The name its effects are logged with.
    const LABEL: &'static str;
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Apples;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Pears;

impl Weight for Apples {
    const WEIGHT: u64 = 1;
    const LABEL: &'static str = "apples";
}

impl Weight for Pears {
    const WEIGHT: u64 = 1_000;
    const LABEL: &'static str = "pears";
}

/// Weighs item `item` of run `run`: logs its effect (synced, so it survives
/// a SIGKILL), takes a little while, gives the weight.
async fn weigh<T: Weight>(run: String, item: u32) -> Result<u64, std::io::Error> {
    log_line("effects.log", &format!("{} {run} {item}", T::LABEL))?;
    tokio::time::sleep(Duration::from_millis(2)).await;
    Ok(u64::from(item) * T::WEIGHT)
}

workflow! {
    /// Weighs every item, one after the other, and adds the weights up.
    workflow tally<T: Weight>(run: String, items: u32) -> Result<u64, trailhead::Error> {
        let mut total = 0;
        for item in 0..items {
            total += step weigh::<T>(run.clone(), item);
        }
        Ok(total)
    }
}

fn run_name<T: Weight>(i: usize) -> String {
    format!("{}-{i}", T::LABEL)
}

/// Resumes the runs of instance `T`, starts those missing, waits for all.
async fn drive<T: Weight>(engine: &Engine) {
    let resumed = engine.resume(tally::<T>::default()).await.unwrap();
    let mut handles = Vec::new();
    for handle in resumed {
        // Only this instance's runs come back.
        assert!(
            handle.id().as_str().starts_with(T::LABEL),
            "{} resumed {}",
            <tally<T> as Workflow>::name(),
            handle.id()
        );
        handles.push(handle);
    }
    for i in 0..RUNS {
        let id = RunId::new(run_name::<T>(i));
        if engine.run_record(&id).await.unwrap().is_none() {
            let input = (run_name::<T>(i), ITEMS);
            handles.push(
                engine
                    .start_with_id(id, tally::<T>::default(), input)
                    .await
                    .unwrap(),
            );
        }
    }
    for handle in handles {
        handle.result().await.unwrap();
    }
}

/// The child: drives both instances' runs at once.
#[test]
fn child_process_entry() {
    let Some((dir, _)) = child_args() else {
        return; // an ordinary test run: nothing to do
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = engine_in(&dir);
        tokio::join!(drive::<Apples>(&engine), drive::<Pears>(&engine));
    });
}

/// Each run's journaled items, read from the store file between rounds.
async fn journaled(dir: &Path) -> BTreeMap<String, BTreeSet<u32>> {
    let engine = engine_in(dir);
    let mut items = BTreeMap::new();
    for run in engine.store().list_runs(None).await.unwrap() {
        let journal = engine.journal(&run.id).await.unwrap();
        let done = journal
            .iter()
            .filter_map(|record| record.key.path().first().copied())
            .collect();
        items.insert(run.id.to_string(), done);
    }
    items
}

#[test]
fn two_instances_resume_each_run_under_its_own_instance_after_kills() {
    let dir = tempfile::tempdir().unwrap();
    let total_effects = ITEMS as usize * RUNS * 2;
    let mut kills = 0;
    loop {
        let before = journaled(dir.path()).await_blocking();
        let logged_before = logged(dir.path(), "effects.log").len();
        let mut process = child(dir.path(), "tally").spawn().unwrap();
        let status = if kills < KILLS {
            // Kill once a few more effects are logged (or the child ended).
            let target = logged_before + 3 + (kills as usize * 7) % 11;
            loop {
                if let Some(status) = process.try_wait().unwrap() {
                    break status;
                }
                if logged(dir.path(), "effects.log").len() >= target {
                    process.kill().unwrap();
                    break process.wait().unwrap();
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        } else {
            process.wait().unwrap()
        };
        // No step journaled before this round ran again in it.
        let effects = logged(dir.path(), "effects.log");
        for line in &effects[logged_before..] {
            let mut parts = line.split(' ');
            let (_, run, item) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
            let item: u32 = item.parse().unwrap();
            assert!(
                !before.get(run).is_some_and(|done| done.contains(&item)),
                "item {item} of {run} was journaled, yet weighed again"
            );
        }
        if status.signal().is_some() {
            kills += 1;
            continue;
        }
        assert!(
            status.success(),
            "the child failed: {}",
            child_err(dir.path())
        );
        break;
    }
    assert_eq!(kills, KILLS, "the runs ended before every kill landed");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = engine_in(dir.path());
        let expected_sum: u64 = (0..u64::from(ITEMS)).sum();
        for (label, weight, name) in [
            ("apples", 1, <tally<Apples> as Workflow>::name()),
            ("pears", 1_000, <tally<Pears> as Workflow>::name()),
        ] {
            for i in 0..RUNS {
                let id = RunId::new(format!("{label}-{i}"));
                let record = engine.run_record(&id).await.unwrap().unwrap();
                assert_eq!(
                    record.workflow, name,
                    "{id} recorded under another instance"
                );
                assert_eq!(record.status(), RunStatus::Completed);
                let Some(RunOutcome::Completed(output)) = record.outcome() else {
                    panic!("{id} has no output");
                };
                let output: u64 = output.decode().unwrap();
                assert_eq!(output, expected_sum * weight, "{id}'s total");
            }
        }
    });
    // Every item of every run was weighed; again only a step in flight at a
    // kill (its effect logged, its entry not yet written): at most one per
    // run per kill, the four runs going at once.
    let effects = logged(dir.path(), "effects.log");
    let distinct: BTreeSet<&String> = effects.iter().collect();
    assert_eq!(distinct.len(), total_effects);
    let again = effects.len() - total_effects;
    assert!(
        again <= 2 * RUNS * KILLS as usize,
        "{again} effects done again over {KILLS} kills"
    );
}

fn child_err(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("child.err")).unwrap_or_default()
}

/// Runs a future to its end on a runtime of its own, from a plain test.
trait AwaitBlocking: std::future::Future + Sized {
    fn await_blocking(self) -> Self::Output {
        tokio::runtime::Runtime::new().unwrap().block_on(self)
    }
}

impl<F: std::future::Future> AwaitBlocking for F {}
