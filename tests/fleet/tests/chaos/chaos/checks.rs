//! The checks after the chaos, from every run's record and journal (read
//! through an engine on the store) and the execution log; and the figures.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, SystemTime};

use trailhead::store::{RunOutcome, StepOutcome, Value};
use trailhead::{Engine, RunId, RunStatus, StepRecord};

use super::log::{self, Execution};
use super::store::StoreSpec;
use super::{Fleet, Plan, declined, expected, run_id};

/// What the checks counted, for the issue note.
#[derive(Debug, Default)]
pub(super) struct Figures {
    /// Changes of worker within a run where the previous worker had been
    /// SIGKILLed before the next one started.
    pub(super) takeovers: usize,
    /// Changes of worker while the previous one lived: a sleeping run
    /// handed back and woken elsewhere.
    pub(super) hand_backs: usize,
    /// Step and compensation executions in the log.
    pub(super) executions: usize,
    /// Executions of a key that had run before (cut off by a kill).
    pub(super) again: usize,
    /// Overlaps excused: a stopped worker's fenced in-flight step.
    pub(super) excused: usize,
    /// Executions of the stopped worker in flight across its stop.
    pub(super) across_stop: usize,
    /// Executions the stopped worker started after it went on.
    pub(super) after_stop: usize,
}

/// The keys a run `n`'s journal must hold, and its child's.
fn expected_keys(n: u64) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut steps: Vec<String> = (0..3).map(|i| format!("leg[{i}]")).collect();
    steps.extend((0..4).map(|i| format!("room[{i}]")));
    steps.push("chaos_stay".to_owned());
    let mut parent: BTreeSet<String> = steps.iter().cloned().collect();
    parent.extend(["sleep", "go", "pay"].map(str::to_owned));
    let mut child: BTreeSet<String> = ["room", "meal"].map(str::to_owned).into();
    if declined(n) {
        parent.extend(steps.iter().map(|key| format!("undo:{key}")));
        child.extend(["undo:room", "undo:meal"].map(str::to_owned));
    }
    (parent, child)
}

/// Reads every run's record and journal and checks them and the execution
/// log in `dir` as the module docs of `chaos` say.
pub(super) async fn check(
    client: &Engine,
    dir: &Path,
    plan: &Plan,
    spec: &StoreSpec,
    fleet: &Fleet,
) -> Figures {
    // Outcomes, and the journals.
    let mut journals: HashMap<String, Vec<StepRecord>> = HashMap::new();
    for n in 0..plan.runs {
        let id = run_id(n);
        let child = RunId::new(format!("{id}/chaos_stay"));
        let record = client.run_record(&id).await.unwrap().expect("recorded");
        let child_record = client
            .run_record(&child)
            .await
            .unwrap()
            .expect("child recorded");
        if declined(n) {
            assert_eq!(record.status(), RunStatus::Failed, "{id}");
            assert!(
                matches!(record.outcome(), Some(RunOutcome::Failed(text)) if text.contains("declined")),
                "{id}: {:?}",
                record.outcome()
            );
            assert_eq!(child_record.status(), RunStatus::Compensated, "{child}");
        } else {
            assert_eq!(
                record.status(),
                RunStatus::Completed,
                "{id}: {:?}",
                record.outcome()
            );
            assert_eq!(
                record.outcome().cloned(),
                Some(RunOutcome::Completed(Value::encode(&expected(n)).unwrap())),
                "{id}"
            );
            assert_eq!(child_record.status(), RunStatus::Completed, "{child}");
        }
        let (parent_keys, child_keys) = expected_keys(n);
        for (run, keys) in [(id, parent_keys), (child, child_keys)] {
            let journal = client.journal(&run).await.unwrap();
            let written: Vec<String> = journal.iter().map(|r| r.key.to_string()).collect();
            let distinct: BTreeSet<String> = written.iter().cloned().collect();
            assert_eq!(
                distinct.len(),
                written.len(),
                "{run}: a key journaled twice: {written:?}"
            );
            assert_eq!(distinct, keys, "{run}: the journal's keys");
            if let Some(pay) = journal.iter().find(|r| r.key.to_string() == "pay") {
                assert_eq!(
                    matches!(pay.outcome, StepOutcome::Failed(_)),
                    declined(n),
                    "{run}: the payment"
                );
            }
            journals.insert(run.to_string(), journal);
        }
    }

    // Executions against the journal.
    let executions = log::read(dir);
    let mut figures = Figures {
        executions: executions.len(),
        ..Figures::default()
    };
    let mut by_key: BTreeMap<(&str, &str), Vec<&Execution>> = BTreeMap::new();
    for execution in &executions {
        by_key
            .entry((&execution.run, &execution.key))
            .or_default()
            .push(execution);
    }
    for (&(run, key), runs) in &by_key {
        let entry = journals
            .get(run)
            .and_then(|journal| journal.iter().find(|r| r.key.to_string() == key))
            .unwrap_or_else(|| panic!("{run} `{key}` was executed but never journaled"));
        for execution in runs {
            assert!(
                execution.start <= entry.finished_at,
                "{run} `{key}` started again by {} after it was journaled",
                execution.role
            );
        }
        // The journaled value came from an execution that had ended (1 ms
        // allowed between the log's clock reading and the engine's).
        assert!(
            runs.iter().any(|e| e
                .end
                .is_some_and(|end| end <= entry.finished_at + Duration::from_millis(1))),
            "{run} `{key}` journaled before any execution of it ended: {runs:?}"
        );
        figures.again += runs.len() - 1;
    }
    let journaled: usize = journals.values().map(Vec::len).sum();
    // Sleeps, signals, calls and the calls' undo entries are not
    // executions of a step function; every other entry is.
    let declines = (0..plan.runs).filter(|&n| declined(n)).count();
    let sites = 3 * plan.runs as usize + declines;
    assert_eq!(
        by_key.len(),
        journaled - sites,
        "every journaled step was executed"
    );

    // A worker process is one store worker, and a restarted one a new worker.
    let mut workers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for execution in &executions {
        workers
            .entry(&execution.worker)
            .or_default()
            .insert(&execution.role);
    }
    for (worker, roles) in &workers {
        assert_eq!(
            roles.len(),
            1,
            "worker {worker} in several processes: {roles:?}"
        );
    }

    // No two workers in one run at once.
    let stopped = fleet.stopped.first().cloned();
    // An execution of the stopped worker in flight across its stop may never
    // end: the worker, finding its lease lapsed when it wakes, halts the run
    // and abandons the step. It counts as lasting for ever (any later
    // execution of its run overlaps it, and must be excused by the fence).
    let abandoned = |execution: &Execution| {
        stopped.as_ref().is_some_and(|(role, from, _)| {
            execution.role == *role && execution.start <= *from && execution.end.is_none()
        })
    };
    let until = |execution: &Execution| -> SystemTime {
        if abandoned(execution) {
            return SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(u64::from(u32::MAX));
        }
        execution
            .end
            .or_else(|| fleet.killed.get(&execution.role).copied())
            .unwrap_or_else(|| panic!("{execution:?} never ended in a worker that lived"))
    };
    if let Some((role, from, to)) = &stopped {
        let of_it = || executions.iter().filter(|e| e.role == *role);
        figures.across_stop = of_it()
            .filter(|e| e.start <= *from && e.end.is_none_or(|end| end >= *to))
            .count();
        figures.after_stop = of_it().filter(|e| e.start >= *to).count();
    }
    let mut per_run: BTreeMap<&str, Vec<&Execution>> = BTreeMap::new();
    for execution in &executions {
        per_run
            .entry(execution.top_run())
            .or_default()
            .push(execution);
    }
    for (run, runs) in &per_run {
        for (i, earlier) in runs.iter().enumerate() {
            for later in &runs[i + 1..] {
                if later.role == earlier.role || until(earlier) <= later.start {
                    continue;
                }
                // On a store whose leases expire, the stopped worker's
                // in-flight step of a run taken over meanwhile: run again
                // elsewhere, its own write refused.
                let fenced = spec.leases_expire()
                    && stopped.as_ref().is_some_and(|(role, from, _)| {
                        earlier.role == *role && earlier.start <= *from
                    })
                    && by_key[&(earlier.run.as_str(), earlier.key.as_str())]
                        .iter()
                        .any(|other| other.role != earlier.role);
                assert!(
                    fenced,
                    "{run}: two workers at once: {earlier:?} until {:?} and {later:?}",
                    until(earlier)
                );
                figures.excused += 1;
            }
        }
        for pair in runs.windows(2) {
            let (before, after) = (pair[0], pair[1]);
            if before.role == after.role {
                continue;
            }
            match fleet.killed.get(&before.role) {
                Some(&killed) if killed <= after.start => figures.takeovers += 1,
                _ => figures.hand_backs += 1,
            }
        }
    }
    figures
}
