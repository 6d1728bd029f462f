//! Schedules: one run per tick on the engine's clock, overlap and catch-up
//! policies, pause and resume, restarts and several engines on one store,
//! all on tokio's paused clock (wall time set by `EngineBuilder::wall_clock`).

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;
use trailhead::schedule::ScheduleRecord;
use trailhead::{
    CatchUp, Engine, MemoryStore, Overlap, Retention, RunStatus, Schedule, SqliteStore, workflow,
};

async fn noted(x: u32) -> Result<u32, std::io::Error> {
    Ok(x)
}

/// A step that takes longer than the schedules' one-minute interval: 2
/// minutes 10 seconds, so that no run ends on a tick.
async fn linger(x: u32) -> Result<u32, std::io::Error> {
    tokio::time::sleep(Duration::from_secs(130)).await;
    Ok(x)
}

workflow! {
    workflow ticked(x: u32) -> Result<u32, trailhead::Error> {
        let a = step noted(x);
        Ok(a)
    }

    workflow slow(x: u32) -> Result<u32, trailhead::Error> {
        let a = step linger(x);
        Ok(a)
    }
}

const MINUTE: Duration = Duration::from_secs(60);

/// The wall-clock time the tests start at: a Thursday, 00:00 UTC.
fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_796_256_000)
}

/// `start() + n` minutes.
fn minute(n: u64) -> SystemTime {
    start() + MINUTE * u32::try_from(n).unwrap()
}

/// An engine on `store` whose wall clock reads `start()` at `began` on
/// tokio's clock, so every engine of a test shares one timeline.
fn engine_on(store: impl trailhead::Store, began: Instant) -> Engine {
    Engine::builder()
        .store(store)
        .retention(Retention::new())
        .wall_clock(start() + began.elapsed())
        .build()
}

fn every_minute() -> Schedule {
    Schedule::every(MINUTE).unwrap()
}

/// The ids the runs of ticks `ticks` of schedule `name` get.
fn ids(name: &str, ticks: impl IntoIterator<Item = SystemTime>) -> Vec<String> {
    ticks
        .into_iter()
        .map(|tick| ScheduleRecord::run_id(name, tick).to_string())
        .collect()
}

/// The ids of the runs schedule `name` started, in the order of their ticks.
async fn started(engine: &Engine, name: &str) -> Vec<String> {
    let prefix = format!("{name}@");
    let mut ids: Vec<String> = engine
        .store()
        .list_runs(None)
        .await
        .unwrap()
        .into_iter()
        .map(|run| run.id.to_string())
        .filter(|id| id.starts_with(&prefix))
        .collect();
    // By tick: `…:01Z` is whole seconds, `…:01.250Z` a quarter past.
    ids.sort_by_cached_key(|id| match id.contains('.') {
        true => id.clone(),
        false => id.replace('Z', ".000Z"),
    });
    ids
}

/// Schedule `name`'s record, once `done` holds for it (looked at every
/// 20 ms, for at most a minute).
async fn once(
    engine: &Engine,
    name: &str,
    done: impl Fn(&ScheduleRecord) -> bool,
) -> ScheduleRecord {
    for _ in 0..3_000 {
        if let Some(record) = engine.store().schedule(name).await.unwrap()
            && done(&record)
        {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("schedule `{name}` never got there");
}

#[tokio::test(start_paused = true)]
async fn a_week_every_five_minutes_is_2016_runs() {
    let began = Instant::now();
    let engine = engine_on(MemoryStore::new(), began);
    let five = Schedule::every(5 * MINUTE).unwrap();
    let info = engine.schedule("week", five, ticked, 1).await.unwrap();
    assert_eq!(info.next_tick, Some(minute(5)));
    tokio::time::sleep(7 * 24 * 60 * MINUTE + Duration::from_secs(1)).await;
    let runs = started(&engine, "week").await;
    assert_eq!(runs.len(), 2_016);
    assert_eq!(runs, ids("week", (1..=2_016).map(|n| minute(5 * n))));
    let listed = engine.schedules().await.unwrap();
    assert_eq!((listed[0].runs_started, listed[0].runs_skipped), (2_016, 0));
    assert_eq!(listed[0].last_tick, Some(minute(7 * 24 * 60)));
    let completed = engine
        .store()
        .list_runs(Some(RunStatus::Completed))
        .await
        .unwrap();
    assert_eq!(completed.len(), 2_016, "every run ran");
}

#[tokio::test(start_paused = true)]
async fn a_cron_in_paris_runs_at_nine_local_across_the_clock_change() {
    // Paris goes from UTC+1 to UTC+2 on Sunday 29 March 2026.
    let friday_noon = UNIX_EPOCH + Duration::from_secs(1_774_612_800); // 12:00 UTC on the 27th
    let engine = Engine::builder().wall_clock(friday_noon).build();
    let nine =
        trailhead::cron!("0 9 * * *").in_time_zone(trailhead::schedule::chrono_tz::Europe::Paris);
    engine.schedule("paris", nine, ticked, 1).await.unwrap();
    tokio::time::sleep(4 * 24 * 60 * MINUTE).await;
    assert_eq!(
        started(&engine, "paris").await,
        [
            "paris@2026-03-28T08:00:00Z",
            "paris@2026-03-29T07:00:00Z",
            "paris@2026-03-30T07:00:00Z",
            "paris@2026-03-31T07:00:00Z",
        ]
    );
}

/// Runs `slow` (130 s a run) every minute for ten ticks under `overlap`:
/// the engine, once the tenth tick was handled.
async fn ten_slow_ticks(overlap: Overlap) -> (Engine, ScheduleRecord) {
    let engine = engine_on(MemoryStore::new(), Instant::now());
    let schedule = every_minute().with_overlap(overlap);
    engine.schedule("slow", schedule, slow, 1).await.unwrap();
    tokio::time::sleep(10 * MINUTE + Duration::from_secs(1)).await;
    let record = engine.store().schedule("slow").await.unwrap().unwrap();
    assert_eq!(record.last_tick, minute(10));
    (engine, record)
}

#[tokio::test(start_paused = true)]
async fn overlap_skip_starts_nothing_while_the_run_before_goes_on() {
    let (engine, record) = ten_slow_ticks(Overlap::Skip).await;
    // Each run takes 2⅙ ticks: ticks 1, 4, 7 and 10 find none running.
    let runs = started(&engine, "slow").await;
    assert_eq!(runs, ids("slow", [1, 4, 7, 10].map(minute)));
    assert_eq!((record.runs_started, record.runs_skipped), (4, 6));
}

#[tokio::test(start_paused = true)]
async fn overlap_queue_one_keeps_one_tick_for_when_the_run_ends() {
    let (engine, record) = ten_slow_ticks(Overlap::QueueOne).await;
    // In minutes: tick 1 runs until 3⅙; tick 2 waits for it (3 is
    // skipped) and runs to 5⅓; tick 4 waits (5 skipped) and runs to 7½;
    // tick 6 waits (7 skipped), runs to 9⅔; tick 8 waits (9 skipped) and
    // runs; tick 10 waits.
    let runs = started(&engine, "slow").await;
    assert_eq!(runs, ids("slow", [1, 2, 4, 6, 8].map(minute)));
    assert_eq!((record.runs_started, record.runs_skipped), (5, 4));
    assert_eq!(record.pending, Some(minute(10)));
}

#[tokio::test(start_paused = true)]
async fn overlap_cancel_previous_cancels_the_run_before_each_tick() {
    let (engine, record) = ten_slow_ticks(Overlap::CancelPrevious).await;
    let runs = started(&engine, "slow").await;
    assert_eq!(runs, ids("slow", (1..=10).map(minute)));
    assert_eq!((record.runs_started, record.runs_skipped), (10, 0));
    let cancelled = engine
        .store()
        .list_runs(Some(RunStatus::Cancelled))
        .await
        .unwrap();
    let mut cancelled: Vec<String> = cancelled
        .into_iter()
        .map(|run| run.id.to_string())
        .collect();
    cancelled.sort();
    assert_eq!(cancelled, ids("slow", (1..=9).map(minute)));
}

#[tokio::test(start_paused = true)]
async fn a_paused_schedule_starts_nothing_and_catches_up_on_resume() {
    let began = Instant::now();
    let engine = engine_on(MemoryStore::new(), began);
    engine
        .schedule("paused", every_minute(), ticked, 1)
        .await
        .unwrap();
    tokio::time::sleep(3 * MINUTE + Duration::from_secs(30)).await;
    engine.pause_schedule("paused").await.unwrap();
    tokio::time::sleep(10 * MINUTE).await;
    assert_eq!(
        started(&engine, "paused").await,
        ids("paused", (1..=3).map(minute))
    );
    assert!(engine.schedules().await.unwrap()[0].paused);
    // 13.5 minutes: ticks 4 to 13 came due while paused; `CatchUp::Last`
    // runs the newest of them.
    engine.resume_schedule("paused").await.unwrap();
    tokio::time::sleep(2 * MINUTE).await;
    assert_eq!(
        started(&engine, "paused").await,
        ids("paused", [1, 2, 3, 13, 14, 15].map(minute))
    );
    let listed = &engine.schedules().await.unwrap()[0];
    assert_eq!((listed.runs_started, listed.runs_skipped), (6, 9));
    let health = engine.health().await.unwrap();
    assert_eq!(health.schedules.len(), 1);
    assert_eq!(health.schedules[0].next_tick, Some(minute(16)));
}

// The tests on a SQLite file run on tokio's real clock: on a paused clock,
// tokio moves time on whenever the runtime waits for the store's writer
// thread (it cannot know that thread will answer), so ticks would come due
// in the middle of a write. Downtime is the wall clock set forward
// (`EngineBuilder::wall_clock`), not waited for; each test takes a second
// or two of real time.

/// An engine on the SQLite file at `path` whose wall clock reads `wall` now.
fn engine_at(path: &Path, wall: SystemTime) -> Engine {
    Engine::builder()
        .store(SqliteStore::open(path).unwrap())
        .retention(Retention::new())
        .wall_clock(wall)
        .build()
}

/// Schedule `name`'s record once no run of it is going and the record no
/// longer changes.
async fn settled(engine: &Engine, name: &str) -> ScheduleRecord {
    let prefix = format!("{name}@");
    let mut before = None;
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let record = engine.store().schedule(name).await.unwrap().unwrap();
        let going = engine
            .store()
            .list_runs(Some(RunStatus::Running))
            .await
            .unwrap()
            .into_iter()
            .any(|run| run.id.as_str().starts_with(&prefix));
        if !going && before.as_ref() == Some(&record) {
            return record;
        }
        before = Some(record);
    }
}

/// Runs schedule `name` on the file at `path` from just before tick 1 to
/// after it, stops, and starts a new engine 61 minutes later, just before
/// tick 62, that registers it again under `catch_up`: the runs started once
/// that engine handled the ticks due (2 to 61), then once it ran tick 62.
async fn after_an_hour_down(
    path: &Path,
    name: &str,
    catch_up: CatchUp,
) -> (Vec<String>, ScheduleRecord) {
    let schedule = every_minute().with_catch_up(catch_up);
    let soon = Duration::from_millis(300);
    let first = engine_at(path, minute(1) - soon);
    first
        .schedule(name, schedule.clone(), ticked, 1)
        .await
        .unwrap();
    once(&first, name, |record| record.last_tick == minute(1)).await;
    settled(&first, name).await;
    assert!(first.shutdown(MINUTE).await.is_empty());
    drop(first);
    let second = engine_at(path, minute(62) - soon);
    second.schedule(name, schedule, ticked, 1).await.unwrap();
    once(&second, name, |record| record.last_tick == minute(61)).await;
    let caught_up = started(&second, name).await;
    once(&second, name, |record| record.last_tick == minute(62)).await;
    let record = settled(&second, name).await;
    assert_eq!(
        started(&second, name).await.last(),
        Some(&ids(name, [minute(62)])[0])
    );
    (caught_up, record)
}

#[tokio::test]
async fn catch_up_none_skips_the_ticks_missed_while_down() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let (runs, record) = after_an_hour_down(&path, "none", CatchUp::None).await;
    assert_eq!(runs, ids("none", [minute(1)]));
    assert_eq!((record.runs_started, record.runs_skipped), (2, 60));
}

#[tokio::test]
async fn catch_up_last_runs_the_newest_missed_tick_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let (runs, record) = after_an_hour_down(&path, "last", CatchUp::Last).await;
    assert_eq!(runs, ids("last", [1, 61].map(minute)));
    assert_eq!((record.runs_started, record.runs_skipped), (3, 59));
}

#[tokio::test]
async fn catch_up_all_runs_every_missed_tick_within_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let within = CatchUp::All {
        within: 10 * MINUTE,
    };
    let (runs, record) = after_an_hour_down(&path, "all", within).await;
    // 62 minutes less 0.3 s: ticks 52 to 61 are no older than ten minutes.
    let mut expected = ids("all", [minute(1)]);
    expected.extend(ids("all", (52..=61).map(minute)));
    assert_eq!(runs, expected);
    assert_eq!((record.runs_started, record.runs_skipped), (12, 50));
}

/// The schedule of the restarts test: every missed tick of a day caught up.
fn restarted() -> Schedule {
    every_minute().with_catch_up(CatchUp::All {
        within: 24 * 60 * MINUTE,
    })
}

/// A process on the file at `path`, its wall clock reading `wall` at its
/// start, on a runtime of its own: the runs a process before left are
/// resumed (and finished), then the schedule is registered again, and
/// `then` runs. Killed when `then` returns: the runtime dropped, tasks and
/// all, wherever they are.
fn process<F: std::future::Future<Output = ()>>(
    path: &Path,
    wall: SystemTime,
    then: impl FnOnce(Engine) -> F,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let engine = engine_at(path, wall);
        for handle in engine.resume(ticked).await.unwrap() {
            handle.result().await.unwrap();
        }
        engine
            .schedule("restarts", restarted(), ticked, 1)
            .await
            .unwrap();
        then(engine).await;
    });
    drop(runtime);
}

#[test]
fn restarts_lose_and_duplicate_no_tick() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    // Each process starts 0.3 s before a tick, and is down for a few
    // minutes (set on the wall clock) before the next starts: each catches
    // up the ticks it missed, and is killed after a fraction of a second:
    // in the middle of catching up or of a run, or between ticks.
    let soon = Duration::from_millis(300);
    let mut tick = 0;
    for (down, up) in [(1, 120), (4, 480), (2, 60), (5, 850), (3, 310)] {
        tick += down;
        process(&path, minute(tick) - soon, |engine| async move {
            tokio::time::sleep(Duration::from_millis(up)).await;
            drop(engine);
        });
    }
    // The last process: until the ticks of the period covered are handled.
    tick += 2;
    process(&path, minute(tick) - soon, |engine| async move {
        once(&engine, "restarts", |record| {
            record.last_tick == minute(tick)
        })
        .await;
        let record = settled(&engine, "restarts").await;
        let runs = started(&engine, "restarts").await;
        assert_eq!(runs, ids("restarts", (1..=tick).map(minute)));
        assert_eq!((record.runs_started, record.runs_skipped), (tick, 0));
    });
}

#[tokio::test]
async fn two_engines_on_one_store_start_each_tick_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    // Every half second, for eight ticks of real time: room for a run of
    // each tick (three commits) to end before the next even on a loaded
    // machine, so `Skip` never applies and every tick has its run.
    let half = Duration::from_millis(500);
    let wall = start() - Duration::from_millis(100);
    let one = engine_at(&path, wall);
    let two = engine_at(&path, wall);
    for engine in [&one, &two] {
        let every = Schedule::every(half).unwrap();
        engine.schedule("shared", every, ticked, 1).await.unwrap();
    }
    let eighth = start() + 7 * half;
    once(&one, "shared", |record| record.last_tick >= eighth).await;
    for engine in [&one, &two] {
        engine.shutdown(MINUTE).await;
    }
    let record = settled(&one, "shared").await;
    let count = record
        .last_tick
        .duration_since(start())
        .unwrap()
        .as_millis()
        / 500
        + 1;
    let runs = started(&one, "shared").await;
    let ticks = (0..u32::try_from(count).unwrap()).map(|n| start() + n * half);
    assert_eq!(runs, ids("shared", ticks));
    assert_eq!(
        (record.runs_started, record.runs_skipped),
        (u64::try_from(count).unwrap(), 0)
    );
}

#[tokio::test(start_paused = true)]
async fn registering_again_is_idempotent_and_another_definition_updates() {
    let engine = engine_on(MemoryStore::new(), Instant::now());
    let first = engine
        .schedule("again", every_minute(), ticked, 1)
        .await
        .unwrap();
    tokio::time::sleep(2 * MINUTE + Duration::from_secs(30)).await;
    let same = engine
        .schedule("again", every_minute(), ticked, 1)
        .await
        .unwrap();
    assert_eq!(same.runs_started, 2, "the state is kept");
    assert_eq!(first.spec, same.spec);
    let five = Schedule::every(5 * MINUTE).unwrap();
    let updated = engine.schedule("again", five, ticked, 2).await.unwrap();
    assert_eq!(updated.spec, "every 300s");
    assert_eq!(updated.next_tick, Some(minute(5)));
    tokio::time::sleep(3 * MINUTE).await;
    // One ticker, not two: the tick at 3 and 4 minutes started nothing.
    assert_eq!(
        started(&engine, "again").await,
        ids("again", [1, 2, 5].map(minute))
    );
    engine.remove_schedule("again").await.unwrap();
    tokio::time::sleep(10 * MINUTE).await;
    assert_eq!(started(&engine, "again").await.len(), 3);
    assert!(engine.schedules().await.unwrap().is_empty());
}
