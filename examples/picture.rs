//! A run's picture: the workflow's diagram with each node's state, printed
//! while the run waits in its fan-out and again once it has finished.
//!
//! `cargo run --example picture` (paste the Mermaid into any Mermaid viewer).

use std::time::Duration;

use tokio::sync::Semaphore;
use trailhead::{Engine, Event, workflow};

/// Lets the last seats through when the example says so.
static LATE: Semaphore = Semaphore::const_new(0);

async fn load_flight(flight: &str) -> Result<u32, std::io::Error> {
    Ok(u32::try_from(flight.len()).unwrap_or(0) * 4)
}

async fn assign_seat(seat: u32) -> Result<u32, std::io::Error> {
    tokio::time::sleep(Duration::from_millis(u64::from(seat))).await;
    if seat >= 32 {
        LATE.acquire().await.expect("never closed").forget();
    }
    Ok(seat)
}

async fn print_passes(count: usize) -> Result<String, std::io::Error> {
    Ok(format!("{count} boarding passes"))
}

workflow! {
    /// Loads a flight, assigns every seat at once, prints the passes.
    workflow board(flight: String) -> Result<String, trailhead::Error> {
        let seats = step load_flight(&flight);
        let assigned = parallel(limit = 40) for seat in 0..seats {
            step assign_seat(seat)
        };
        let passes = step print_passes(assigned.len());
        Ok(passes)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Live attempts kept from the start (else from the first picture on).
    let engine = Engine::builder().live_pictures(true).build();
    let mut events = engine.subscribe();
    let handle = engine.start(board, "TH1042-LHR".to_owned()).await?;
    let run = handle.id().clone();

    // Wait until 32 of the 40 seats are assigned: the rest are held back.
    let mut assigned = 0;
    while assigned < 1 + 32 {
        if let Some(Event::StepCompleted { .. }) = events.recv().await {
            assigned += 1;
        }
    }
    println!("-- mid-run --\n{}", engine.diagram::<board>(&run).await?);

    LATE.add_permits(8);
    println!("{}", handle.result().await?);
    println!("-- finished --\n{}", engine.diagram::<board>(&run).await?);

    // The same picture as JSON, for tools.
    let picture = engine.picture::<board>(&run).await?;
    let seats = picture.site("assign_seat").expect("drawn");
    println!(
        "assign_seat: {} of {} done",
        seats.counts.done, seats.counts.total
    );
    Ok(())
}
