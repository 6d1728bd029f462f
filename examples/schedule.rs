//! A durable schedule: a heartbeat workflow every 10 seconds, on the default
//! SQLite store (`schedule.db`). Prints each tick's run as it completes and
//! stops by itself after three.
//!
//! Run it with `cargo run --example schedule`. The schedule is kept in the
//! file: run it again and it goes on from the last tick it handled (a tick
//! that came due while it was stopped runs once, `CatchUp::Last`), under run
//! ids that name each tick, `heartbeat@2026-12-03T17:00:10Z`; a second copy
//! running at the same time starts no tick twice. `trailhead schedules
//! --store schedule.db` lists it.

use std::time::Duration;

use trailhead::{CatchUp, Engine, Event, Schedule, workflow};

async fn beat(service: &str) -> Result<String, std::io::Error> {
    Ok(format!("{service} is up"))
}

workflow! {
    /// Checks that a service is up.
    workflow heartbeat(service: String) -> Result<String, trailhead::Error> {
        let status = step beat(&service);
        Ok(status)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::open("schedule.db")?;
    let mut events = engine.subscribe();
    // Runs a stopped process left unfinished go on first.
    engine.resume(heartbeat).await?;
    let every = Schedule::every(Duration::from_secs(10))?.with_catch_up(CatchUp::Last);
    let info = engine
        .schedule("heartbeat", every, heartbeat, "billing".to_owned())
        .await?;
    println!(
        "schedule `{}`: {}, next tick {}",
        info.name,
        info.spec,
        at(info.next_tick)
    );
    let mut seen = 0;
    while seen < 3 {
        match events.recv().await {
            Some(Event::RunCompleted { run, duration, .. })
                if run.as_str().starts_with("heartbeat@") =>
            {
                seen += 1;
                println!("run {run} completed in {duration:?}");
            }
            Some(_) => {}
            None => break,
        }
    }
    for schedule in engine.schedules().await? {
        println!(
            "{}: {} runs started, {} ticks skipped, next tick {}",
            schedule.name,
            schedule.runs_started,
            schedule.runs_skipped,
            at(schedule.next_tick)
        );
    }
    engine.shutdown(Duration::from_secs(5)).await;
    Ok(())
}

/// A tick as seconds since the Unix epoch (the run ids spell it in RFC 3339).
fn at(tick: Option<std::time::SystemTime>) -> String {
    tick.and_then(|tick| tick.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or_else(
            || "never".to_owned(),
            |since| format!("{}s", since.as_secs()),
        )
}
