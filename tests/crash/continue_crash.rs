//! Crash test of `continue_as_new`: a child process runs one workflow for
//! [`GENERATIONS`] generations against a store file (each generation one
//! step, then `continue_as_new` with the next generation's input) and is
//! killed with SIGKILL at a random point each round, then started again,
//! until the run completes.
//!
//! The step's effect is a line in `generations.log` (one `write` before the
//! step returns, which the kernel keeps through a SIGKILL): the round that
//! ran it, the generation and the total it was given. Between rounds the
//! parent reads the run from the file and checks, for the boundary the kill
//! left:
//!
//! - the generation (`~generation` entry, 0 before the first) never goes
//!   back, and the input recorded is that generation's, with its exact total;
//! - the journal is `~generation` (none in generation 0) and at most the one
//!   step entry of that generation: at most [`ROW_BOUND`] rows, in the
//!   journal and in the file's `steps` table, none retired;
//! - the step's effect was logged for the generation whose step is
//!   journaled; when it is not journaled, the effects logged end at the
//!   generation before or at that one (its step was in flight);
//!
//! and that the round's child went on from there: its first effect is of the
//! generation after a journaled step, else of the unjournaled one again, and
//! then one generation after the other, each once, each with its exact total.
//!
//! So no generation is lost, none whose step was journaled is done again, and
//! the only effects done twice are those of a step in flight at a kill that
//! had logged but not yet journaled it (at least once, not exactly once): at
//! most one a kill. At the end the output is exact and every generation's
//! effect was logged.
//!
//! The kills are aimed at generations spread over the whole run: each round
//! is killed once the log shows its target generation, after a random wait
//! of up to a millisecond (about three generations), so it lands anywhere in
//! a generation: after the generation's write, before its step's effect;
//! after the effect, before the step's entry; or after the entry, before the
//! next generation's write. The parent tells which from the boundary and the
//! log, and every part must have been hit.

use std::io::{Read as _, Seek as _, Write as _};
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use trailhead::store::{Generation, StepOutcome};
use trailhead::{Engine, RunId, RunOutcome, RunStatus, SqliteStore, Synchronous, workflow};

use crate::support::{child, child_args, engine_in};

/// Generations of the run: the 10,000.
const GENERATIONS: u64 = 10_000;
/// SIGKILLs of the default test.
const KILLS: u32 = 100;
/// The most rows the run's journal holds at a round boundary: the
/// `~generation` entry and the one entry (`work`) of the generation it opens.
const ROW_BOUND: usize = 2;
/// The run every round drives.
const RUN: &str = "continue-crash";
/// The step's effects.
const LOG: &str = "generations.log";

/// What generation `generation` is given: `0 + 1 + … + generation`.
fn total_before(generation: u64) -> u64 {
    generation * (generation + 1) / 2
}

/// The child's round and its log, open for appending; unset outside a child.
static EFFECTS: OnceLock<(String, std::fs::File)> = OnceLock::new();

/// The generation's work: logs its effect (the round, the generation, the
/// total it was given), then adds `generation + 1`. One `write` of a whole
/// line, unsynced: the kernel keeps it through a SIGKILL.
async fn work(generation: u64, total: u64) -> Result<u64, std::io::Error> {
    let (round, log) = EFFECTS
        .get()
        .ok_or_else(|| std::io::Error::other("not a child process"))?;
    let mut log: &std::fs::File = log;
    log.write_all(format!("{round} {generation} {total}\n").as_bytes())?;
    Ok(total + generation + 1)
}

workflow! {
    /// One step a generation, generations `generation..=last`.
    workflow relay(generation: u64, last: u64, total: u64) -> Result<u64, trailhead::Error> {
        let total = step work(generation, total);
        if generation == last {
            return Ok(total);
        }
        continue_as_new(generation + 1, last, total)
    }
}

/// The child: resumes the run, or starts it if it does not exist yet, and
/// drives it to its end. Its store commits with `synchronous = NORMAL`:
/// safe from a crash of the process (a SIGKILL), not of the machine, and
/// without two fsyncs a generation (78 s for the 10,000 in a debug build).
#[test]
fn child_process_entry() {
    let Some((dir, round)) = child_args() else {
        return; // an ordinary test run: nothing to do
    };
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(LOG))
        .unwrap();
    EFFECTS.set((round, log)).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open_with(dir.join("runs.db"), Synchronous::Normal).unwrap();
        let engine = Engine::builder().store(store).build();
        let run = RunId::new(RUN);
        let mut handles = engine.resume(relay).await.unwrap();
        if engine.run_record(&run).await.unwrap().is_none() {
            let input = (0, GENERATIONS - 1, 0);
            handles.push(engine.start_with_id(run, relay, input).await.unwrap());
        }
        for handle in handles {
            println!("DONE {}", handle.result().await.unwrap());
        }
    });
}

/// The run as the parent finds it in the file at a round boundary.
#[derive(Clone, Copy, Debug)]
struct Boundary {
    /// The generation the journal is of.
    generation: u64,
    /// Whether that generation's step is journaled.
    worked: bool,
    status: Option<RunStatus>,
}

/// Reads the run from the file and checks it (see the module's list).
fn boundary(runtime: &tokio::runtime::Runtime, dir: &Path) -> Boundary {
    let run = RunId::new(RUN);
    let read = runtime.block_on(async {
        let engine = engine_in(dir);
        let record = engine.store().run(&run).await.unwrap()?;
        Some((record, engine.journal(&run).await.unwrap()))
    });
    let Some((record, journal)) = read else {
        assert_eq!(rows_in_file(dir), (0, 0), "no run, yet rows");
        return Boundary {
            generation: 0,
            worked: false,
            status: None,
        };
    };
    let keys: Vec<String> = journal.iter().map(|entry| entry.key.to_string()).collect();
    assert!(
        keys.len() <= ROW_BOUND,
        "more than {ROW_BOUND} rows: {keys:?}"
    );
    let generation = match journal.first() {
        Some(entry) if entry.key.is_generation() => match &entry.outcome {
            StepOutcome::Completed(value) => value.decode::<Generation>().unwrap().generation,
            other => panic!("the generation entry is {other:?}"),
        },
        _ => 0,
    };
    let expected: &[&str] = match (generation, keys.len()) {
        (0, 0) => &[],
        (0, _) => &["work"],
        (_, 1) => &["~generation"],
        _ => &["~generation", "work"],
    };
    assert_eq!(keys, expected, "generation {generation}'s journal");
    let (rows, retired) = rows_in_file(dir);
    assert_eq!(
        (rows, retired),
        (keys.len(), 0),
        "the file's rows are the journal's"
    );
    let input: (u64, u64, u64) = record.input.decode().unwrap();
    assert_eq!(
        input,
        (generation, GENERATIONS - 1, total_before(generation)),
        "the input recorded is generation {generation}'s"
    );
    let worked = keys.last().is_some_and(|key| key == "work");
    if worked {
        let output = match &journal.last().unwrap().outcome {
            StepOutcome::Completed(value) => value.decode::<u64>().unwrap(),
            other => panic!("generation {generation}'s step is {other:?}"),
        };
        assert_eq!(output, total_before(generation + 1), "its step's output");
    }
    Boundary {
        generation,
        worked,
        status: Some(record.status()),
    }
}

/// The run's rows in the file's `steps` and `retired_steps` tables, read
/// past the store.
fn rows_in_file(dir: &Path) -> (usize, usize) {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let db = rusqlite::Connection::open_with_flags(dir.join("runs.db"), flags).unwrap();
    db.query_row(
        "SELECT (SELECT COUNT(*) FROM steps WHERE run_id = ?1),
                (SELECT COUNT(*) FROM retired_steps WHERE run_id = ?1)",
        [RUN],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .unwrap()
}

/// One effect: the round whose child ran the step, the generation, the
/// total it was given.
type Effect = (usize, u64, u64);

/// The effects logged since the last read: whole lines only (a child may be
/// writing the next).
struct Tail {
    path: PathBuf,
    read: u64,
    partial: String,
}

impl Tail {
    fn new(dir: &Path) -> Self {
        Self {
            path: dir.join(LOG),
            read: 0,
            partial: String::new(),
        }
    }

    fn effects(&mut self) -> Vec<Effect> {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        file.seek(std::io::SeekFrom::Start(self.read)).unwrap();
        let mut text = std::mem::take(&mut self.partial);
        let before = text.len();
        file.read_to_string(&mut text).unwrap();
        self.read += (text.len() - before) as u64;
        let whole = text.rfind('\n').map_or(0, |at| at + 1);
        self.partial = text.split_off(whole);
        text.lines()
            .map(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                let &[round, generation, total] = &fields[..] else {
                    panic!("a torn line in the log: {line:?}");
                };
                (
                    round.parse().unwrap(),
                    generation.parse().unwrap(),
                    total.parse().unwrap(),
                )
            })
            .collect()
    }
}

/// A small deterministic generator for the kill points (xorshift).
struct Dice(u64);

impl Dice {
    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Where a kill left the run, from its boundary and the effects logged.
#[derive(Debug, Default)]
struct Landings {
    /// After a generation's write, before its step's effect.
    before_effect: u32,
    /// After the step's effect, before its entry: the effect is done again.
    before_entry: u32,
    /// After the step's entry, before the next generation's write.
    before_next: u32,
}

/// Kills the child `kills` times at generations spread over the run, then
/// lets the last one finish, checking every round boundary; then the end.
#[allow(clippy::too_many_lines)]
fn crash_and_go_on(kills: u32) {
    let began = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut dice = Dice(0x2545_f491_4f6c_dd1d ^ u64::from(kills));
    let mut tail = Tail::new(dir);
    // The last generation whose effect is logged, if any.
    let mut done_through: Option<u64> = None;
    let mut times_done = vec![0_u8; usize::try_from(GENERATIONS).unwrap()];
    let mut before = boundary(&runtime, dir);
    assert!(before.status.is_none());
    let mut landings = Landings::default();
    let mut landed = 0;
    let mut longest_wait = Duration::ZERO;
    let spacing = GENERATIONS / u64::from(kills + 1);
    for round in 0.. {
        let name = format!("round {round}");
        let mut process = child(dir, &round.to_string()).spawn().unwrap();
        let mut effects = Vec::new();
        if landed < kills {
            // A generation about `spacing` after the last kill's target, at
            // least one after where this round starts.
            let aim = u64::from(landed + 1) * spacing - spacing / 2 + dice.below(spacing);
            let start = before.generation + u64::from(before.worked);
            let target = aim.max(start + 1).min(GENERATIONS - 2);
            let waiting = Instant::now();
            let reached = loop {
                effects.extend(tail.effects());
                if effects.last().is_some_and(|&(_, g, _)| g >= target) {
                    break true;
                }
                if process.try_wait().unwrap().is_some() {
                    break false;
                }
                assert!(
                    waiting.elapsed() < Duration::from_secs(120),
                    "{name}: no generation {target} in 120 s"
                );
                std::thread::sleep(Duration::from_millis(1));
            };
            longest_wait = longest_wait.max(waiting.elapsed());
            if reached {
                // Anywhere in the generation after the target's effect.
                std::thread::sleep(Duration::from_micros(dice.below(1_000)));
            }
            if process.try_wait().unwrap().is_none() {
                process.kill().unwrap(); // SIGKILL
            }
        }
        let status = process.wait().unwrap();
        // Killed, not ended on its own just before the signal.
        let killed = status.signal() == Some(9);
        if killed {
            landed += 1;
        } else {
            let err = std::fs::read_to_string(dir.join("child.err")).unwrap_or_default();
            assert!(
                status.success(),
                "{name}: the child failed on its own: {err}"
            );
        }
        effects.extend(tail.effects());
        let after = boundary(&runtime, dir);

        // The round went on from the boundary before: after the journaled
        // step, or from the step that was not, one generation after the other.
        let from = before.generation + u64::from(before.worked);
        for (next, &(by, generation, total)) in (from..).zip(&effects) {
            assert_eq!(by, round, "{name}: an effect of round {by}");
            assert_eq!(
                generation, next,
                "{name}: generation {generation} after {done_through:?}"
            );
            assert_eq!(
                total,
                total_before(generation),
                "{name}: generation {generation}'s total"
            );
            times_done[usize::try_from(generation).unwrap()] += 1;
            done_through = Some(generation);
        }

        // It left the run no further back, its effects no further than its
        // journal says.
        assert!(
            after.generation >= before.generation,
            "{name}: generation {} after {}",
            after.generation,
            before.generation
        );
        let logged = done_through.map_or(0, |g| g + 1); // generations logged
        if after.worked {
            assert_eq!(logged, after.generation + 1, "{name}: {after:?}");
        } else {
            assert!(
                logged == after.generation || logged == after.generation + 1,
                "{name}: {logged} generations logged at {after:?}"
            );
        }
        if !killed {
            assert_eq!(after.status, Some(RunStatus::Completed), "{name}");
            break;
        }
        assert_eq!(after.status, Some(RunStatus::Running), "{name}");
        if after.worked {
            landings.before_next += 1;
        } else if logged == after.generation + 1 {
            landings.before_entry += 1;
        } else {
            landings.before_effect += 1;
        }
        before = after;
    }

    // The end: the exact sum, the last generation's journal and input, every
    // generation's effect, twice only where a kill cut between it and its
    // entry.
    assert_eq!(landed, kills, "every kill landed before the run completed");
    assert!(
        landings.before_effect > 0 && landings.before_entry > 0 && landings.before_next > 0,
        "kills landed in every part of a generation: {landings:?}"
    );
    let record = runtime
        .block_on(async { engine_in(dir).run_record(&RunId::new(RUN)).await.unwrap() })
        .unwrap();
    assert_eq!(
        record.outcome().cloned(),
        Some(RunOutcome::Completed(
            trailhead::store::Value::encode(&total_before(GENERATIONS)).unwrap()
        ))
    );
    let last = boundary(&runtime, dir);
    assert_eq!((last.generation, last.worked), (GENERATIONS - 1, true));
    assert!(times_done.iter().all(|&times| times >= 1));
    let twice = times_done.iter().filter(|&&times| times == 2).count();
    assert!(times_done.iter().all(|&times| times <= 2));
    assert_eq!(
        twice,
        usize::try_from(landings.before_entry).unwrap(),
        "done twice: exactly the generations a kill cut between effect and entry"
    );
    println!(
        "{GENERATIONS} generations, {kills} kills ({landings:?}), {twice} effects done twice, \
         longest wait for a target {longest_wait:?}, {:?} in all",
        began.elapsed()
    );
}

#[test]
fn killed_a_hundred_times_over_ten_thousand_generations_none_is_lost_or_redone() {
    crash_and_go_on(KILLS);
}

#[test]
#[ignore = "long: 1,000 kills (run with --ignored)"]
fn thousand_kills_over_ten_thousand_generations() {
    crash_and_go_on(1_000);
}
