//! Crash test of the rollback: a child process runs sagas against a store
//! file; each run books nine things (three legs in a loop, three rooms fanned
//! out, a sub-workflow with two bookings of its own, a car), then its payment
//! is declined, so every booking is undone. The child is killed with SIGKILL
//! again and again *during the rollback* and started again, and resumes the
//! rollback from the journal, until every run has ended.
//!
//! Then, for every run: it ended `Failed` (not left `Compensating`); every
//! completed step has exactly one `undo:` entry; the compensations started in
//! reverse order of completion (the sub-workflow's own steps at the place the
//! call completed); no compensation started again after it was journaled, and
//! none was journaled before it finished. A compensation that was running
//! when the process was killed runs again (at least once, not exactly once):
//! those re-executions are counted, at most one per kill.
//!
//! The child is this test binary itself, running `child_process_entry` with
//! `TRAILHEAD_SAGA_CRASH_DIR` set, like `tests/crash/crash.rs`.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::{child, child_args, engine_in, log_line};
use trailhead::{
    Engine, RunError, RunId, RunOutcome, RunStatus, SqliteStore, StepOutcome, StepRecord, workflow,
};

/// Runs rolled back one after the other, each killed several times.
const RUNS: usize = 3;
/// How long one compensation takes, in real time.
const UNDO_TIME: Duration = Duration::from_millis(20);
/// Bookings per run that are undone: 3 legs, 3 rooms, 2 in the child, 1 car.
const BOOKINGS: usize = 9;

/// Books `key` for run `run`: the booking names both, so that its
/// compensation can log what it undoes.
async fn book(run: String, key: String) -> Result<String, std::io::Error> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    Ok(format!("{run} {key}"))
}

async fn decline() -> Result<u32, std::io::Error> {
    Err(std::io::Error::other("the card was declined"))
}

/// Undoes a booking: logs its start, takes a little while, logs its end.
async fn unbook(booking: String) -> Result<(), std::io::Error> {
    log("START", &booking)?;
    tokio::time::sleep(UNDO_TIME).await;
    log("DONE", &booking)
}

/// Appends `{what} {booking} {nanos}` to the log and syncs it to disk, so
/// that a line written before a SIGKILL is never lost.
fn log(what: &str, booking: &str) -> std::io::Result<()> {
    log_line("compensations.log", &format!("{what} {booking}"))
}

workflow! {
    /// The sub-workflow: a room, then a meal.
    #[saga]
    workflow crash_stay(run: String) -> Result<u32, trailhead::Error> {
        let room = step book(run.clone(), "room".to_owned()).name("room").compensate(unbook);
        let meal = step book(run.clone(), "meal".to_owned())
            .name("meal")
            .after(room)
            .compensate(unbook);
        Ok(2)
    }

    /// Nine bookings, then a declined payment.
    #[saga]
    workflow crash_trip(run: String) -> Result<u32, trailhead::Error> {
        let mut legs = Vec::new();
        for i in 0..3 {
            legs.push(step book(run.clone(), format!("leg[{i}]")).name("leg").compensate(unbook));
        }
        let rooms = parallel(limit = 2) for i in 0..3 {
            step book(run.clone(), format!("room[{i}]")).name("room").compensate(unbook)
        };
        // After the loop (it mentions `legs`) and the fan-out.
        let booked = legs.len() + rooms.len();
        let stay = call crash_stay(format!("{run}/crash_stay")).after(booked);
        let car = step book(run.clone(), "car".to_owned())
            .name("car")
            .after(stay)
            .compensate(unbook);
        let paid = step decline().name("pay").after(car).irreversible();
        Ok(stay + paid)
    }
}

/// The child: resumes the runs that exist, starts the one it is given if it
/// does not exist; waits for all of them to end as failed.
#[test]
fn child_process_entry() {
    let Some((dir, run)) = child_args() else {
        return; // an ordinary test run: nothing to do
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = engine_in(&dir);
        let mut handles = engine.resume(crash_trip).await.unwrap();
        let id = RunId::new(run.as_str());
        if engine.run_record(&id).await.unwrap().is_none() {
            handles.push(engine.start_with_id(id, crash_trip, run).await.unwrap());
        }
        for handle in handles {
            match handle.result().await {
                // A fresh run fails with its error; a resumed rollback with
                // the error's recorded text.
                Err(RunError::Failed { error, .. }) => println!("FAILED {error}"),
                Err(RunError::FailedEarlier { error, .. }) => println!("FAILED EARLIER {error}"),
                other => panic!("a run ended unexpectedly: {other:?}"),
            }
        }
    });
}

/// One line of the compensation log.
#[derive(Debug)]
struct Line {
    done: bool,
    run: String,
    key: String,
    at: SystemTime,
}

impl Line {
    /// Whether the line is about run `run` or its child.
    fn of(&self, run: &str) -> bool {
        self.run
            .strip_prefix(run)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

fn read_log(dir: &Path) -> Vec<Line> {
    let text = std::fs::read_to_string(dir.join("compensations.log")).unwrap_or_default();
    // A line still being written (by a live child) is not read yet.
    text.split_inclusive('\n')
        .filter_map(|line| line.strip_suffix('\n'))
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let &[what, run, key, nanos] = &fields[..] else {
                panic!("a torn log line: {line:?}");
            };
            Line {
                done: what == "DONE",
                run: run.to_owned(),
                key: key.to_owned(),
                at: UNIX_EPOCH + Duration::from_nanos(nanos.parse().unwrap()),
            }
        })
        .collect()
}

/// How many compensations of `run` (or of its child) have started so far.
fn starts(dir: &Path, run: &str) -> usize {
    read_log(dir)
        .iter()
        .filter(|line| !line.done && line.of(run))
        .count()
}

/// A small deterministic generator of extra waits before a kill, 0 to 24 ms:
/// about one compensation, so kills land in and between compensations.
fn jitters() -> impl Iterator<Item = Duration> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    std::iter::repeat(()).map(move |()| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Duration::from_millis(state % 25)
    })
}

fn status_of(runtime: &tokio::runtime::Runtime, dir: &Path, run: &str) -> RunStatus {
    runtime.block_on(async {
        let engine = Engine::builder()
            .store(SqliteStore::open(dir.join("runs.db")).unwrap())
            .build();
        let record = engine.run_record(&RunId::new(run)).await.unwrap();
        record.expect("the run is recorded").status()
    })
}

#[test]
fn killed_again_and_again_during_the_rollback_every_run_is_undone_once_in_reverse() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut jitters = jitters();
    let mut kills = 0;
    let mut kills_while_compensating = 0;
    let runs: Vec<String> = (0..RUNS).map(|i| format!("saga-{i}")).collect();
    for run in &runs {
        // Kill once two more compensations have started than at the last
        // kill: the one cut off runs again, and the next one starting shows
        // the rollback got further, so every run ends.
        let mut target = 2;
        loop {
            let mut process = child(dir, run).spawn().unwrap();
            let ended = loop {
                if let Some(status) = process.try_wait().unwrap() {
                    let err = std::fs::read_to_string(dir.join("child.err")).unwrap_or_default();
                    assert!(status.success(), "the child failed on its own: {err}");
                    break true;
                }
                if starts(dir, run) >= target {
                    std::thread::sleep(jitters.next().unwrap());
                    process.kill().unwrap(); // SIGKILL
                    process.wait().unwrap();
                    break false;
                }
                std::thread::sleep(Duration::from_millis(1));
            };
            if ended {
                break;
            }
            kills += 1;
            match status_of(&runtime, dir, run) {
                RunStatus::Compensating => kills_while_compensating += 1,
                // Killed after the rollback ended, before the process did.
                RunStatus::Failed => {}
                status => panic!("{run} killed while {status:?}"),
            }
            target = starts(dir, run) + 2;
        }
    }
    assert!(
        kills_while_compensating >= RUNS * 2,
        "only {kills_while_compensating} of {kills} kills landed during a rollback"
    );

    let journals: HashMap<String, Vec<StepRecord>> = runtime.block_on(async {
        let engine = Engine::builder()
            .store(SqliteStore::open(dir.join("runs.db")).unwrap())
            .build();
        let mut journals = HashMap::new();
        for run in &runs {
            let record = engine.run_record(&RunId::new(run.as_str())).await.unwrap();
            let record = record.expect("the run is recorded");
            assert_eq!(record.status(), RunStatus::Failed, "{run} after the kills");
            assert!(
                matches!(record.outcome(), Some(RunOutcome::Failed(text)) if text.contains("declined")),
                "{run}: {:?}",
                record.outcome().cloned()
            );
            let child = format!("{run}/crash_stay");
            let record = engine.run_record(&RunId::new(child.as_str())).await.unwrap();
            let record = record.expect("the child run is recorded");
            // The child had completed; undone for its parent, it is recorded
            // compensated.
            assert_eq!(record.status(), RunStatus::Compensated, "{child}");
            for id in [run.clone(), child] {
                let journal = engine.journal(&RunId::new(id.as_str())).await.unwrap();
                journals.insert(id, journal);
            }
        }
        journals
    });

    let text = std::fs::read_to_string(dir.join("compensations.log")).unwrap();
    assert!(
        text.ends_with('\n'),
        "a torn last line: a kill tore a write"
    );
    let log = read_log(dir);
    for run in &runs {
        let child = format!("{run}/crash_stay");
        // Every completed step has exactly one `undo:` entry, completed, and
        // the undo entries are the completed steps read backwards.
        for id in [run, &child] {
            let journal = &journals[id];
            let done: Vec<String> = journal
                .iter()
                .filter(|r| r.key.undone().is_none())
                .filter(|r| matches!(r.outcome, StepOutcome::Completed(_)))
                .map(|r| r.key.to_string())
                .collect();
            let undone: Vec<String> = journal
                .iter()
                .filter_map(|r| {
                    let step = r.key.undone()?;
                    assert_eq!(
                        r.outcome,
                        StepOutcome::Completed(trailhead::store::Value::encode(&()).unwrap())
                    );
                    Some(step.to_string())
                })
                .collect();
            let mut expected = done.clone();
            expected.reverse();
            assert_eq!(
                undone, expected,
                "{id}: one undo per completed step, last first"
            );
        }
        assert_eq!(
            journals[run].len(),
            9 + 8,
            "{run}: 7 bookings, the call, the payment, 8 undos"
        );
        assert_eq!(
            journals[&child].len(),
            2 + 2,
            "{child}: 2 bookings, 2 undos"
        );

        // The compensations started in that order: the parent's steps last
        // first, with the child's (last first) where the call completed.
        let mut expected: Vec<(String, String)> = Vec::new();
        for record in journals[run].iter().rev() {
            let key = record.key.to_string();
            if record.key.undone().is_some() || key == "pay" {
                continue;
            }
            if key == "crash_stay" {
                for inner in journals[&child].iter().rev() {
                    if inner.key.undone().is_none() {
                        expected.push((child.clone(), inner.key.to_string()));
                    }
                }
            } else {
                expected.push((run.clone(), key));
            }
        }
        assert_eq!(expected.len(), BOOKINGS);
        let mut seen = HashSet::new();
        let first_starts: Vec<(String, String)> = log
            .iter()
            .filter(|line| !line.done && line.of(run))
            .map(|line| (line.run.clone(), line.key.clone()))
            .filter(|started| seen.insert(started.clone()))
            .collect();
        assert_eq!(
            first_starts, expected,
            "{run}: compensations in reverse order"
        );
    }

    // No compensation started after its `undo:` entry was written, and none
    // was journaled before it had finished (1 ms allowed between the log's
    // clock reading and the engine's).
    let undo_entry = |run: &str, key: &str| -> &StepRecord {
        journals[run]
            .iter()
            .find(|r| r.key.undone().is_some_and(|step| step.to_string() == key))
            .unwrap_or_else(|| panic!("{run}: no undo entry for `{key}`"))
    };
    let mut executions: HashMap<(&str, &str), usize> = HashMap::new();
    for line in &log {
        let entry = undo_entry(&line.run, &line.key);
        if line.done {
            assert!(
                line.at <= entry.finished_at + Duration::from_millis(1),
                "`{}` of {} journaled before it finished",
                line.key,
                line.run
            );
        } else {
            assert!(
                line.at <= entry.finished_at,
                "`{}` of {} ran again after it was journaled",
                line.key,
                line.run
            );
            *executions.entry((&line.run, &line.key)).or_default() += 1;
        }
    }
    assert_eq!(
        executions.len(),
        RUNS * BOOKINGS,
        "every booking was undone"
    );
    let again: usize = executions.values().map(|n| n - 1).sum();
    // At least once, not exactly once: a compensation cut off by a kill runs
    // again in the next process; the compensations run one at a time, so a
    // kill cuts off at most one.
    assert!(
        again <= kills,
        "{again} re-executions for {kills} kills: more than one per kill"
    );
    println!(
        "{kills} kills ({kills_while_compensating} during a rollback) over {RUNS} runs: \
         {} compensations ran for {} bookings ({again} again after a kill)",
        RUNS * BOOKINGS + again,
        RUNS * BOOKINGS
    );
}
