//! Sagas: a trip books a flight, a hotel and a car at once, then charges the
//! card. Each booking says how to undo it with `.compensate(..)`; the payment
//! is declined, so the run is rolled back: the compensations of the bookings
//! that completed run in reverse order of completion, each journaled under
//! `undo:<step>` once it succeeded, and the run ends failed.
//!
//! The car rental's compensation fails once and is retried under its own
//! policy. `#[saga]` makes the compiler check that every step either
//! compensates or is marked `.irreversible()`.
//!
//! The example prints the events of the rollback and the run's journal.
//!
//! `cargo run --example saga`

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use trailhead::{Engine, Error, Event, RunError, workflow};

/// A confirmation number from a supplier.
type Booking = String;

/// Books with `supplier`, taking `ms` milliseconds.
async fn book(supplier: &str, ms: u64) -> Result<Booking, Error> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(format!("{supplier}-{ms}"))
}

async fn cancel_flight(booking: Booking) -> Result<(), Error> {
    println!("    (airline: booking {booking} cancelled)");
    Ok(())
}

async fn cancel_hotel(booking: Booking) -> Result<(), Error> {
    println!("    (hotel: booking {booking} cancelled)");
    Ok(())
}

/// The rental desk is busy the first time it is asked.
static DESK_BUSY: AtomicBool = AtomicBool::new(true);

async fn cancel_car(booking: Booking) -> Result<(), Error> {
    if DESK_BUSY.swap(false, Ordering::SeqCst) {
        return Err(Error::msg("the rental desk is busy"));
    }
    println!("    (rental: booking {booking} cancelled)");
    Ok(())
}

async fn charge(cents: u64) -> Result<u64, Error> {
    Err(Error::msg(format!(
        "the card was declined for {cents} cents"
    )))
}

workflow! {
    /// Books a trip and pays for it.
    #[saga]
    workflow trip(cents: u64) -> Result<u64, Error> {
        // The three bookings run at once; the hotel is done first, the
        // flight last.
        let flight = step book("airline", 30).name("flight").compensate(cancel_flight);
        let hotel = step book("hotel", 10).name("hotel").compensate(cancel_hotel);
        let car = step book("rental", 20)
            .name("car")
            .compensate(cancel_car, retry(3, backoff = 10ms..50ms));
        // Charging a card that declines changes nothing: nothing to undo.
        let paid = step charge(cents).after(flight, hotel, car).irreversible();
        Ok(paid)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::new();
    let mut events = engine.subscribe();

    println!("booking a trip (the suppliers print as their bookings are undone):");
    let handle = engine.start(trip, 125_000).await?;
    let run = handle.id().clone();
    match handle.result().await {
        Err(RunError::Failed { error, .. }) => println!("the trip failed: {error}\n"),
        other => println!("unexpected: {other:?}\n"),
    }

    println!("the rollback, as events:");
    while let Some(event) = events.try_recv() {
        match event {
            Event::RunCompensating { cause, .. } => println!("  undoing the run: {cause}"),
            Event::CompensationStarted { step, attempt, .. } => {
                println!("  undo `{step}`: attempt {attempt}");
            }
            Event::CompensationRetrying {
                step, delay, error, ..
            } => println!("  undo `{step}` failed ({error}); again in {delay:?}"),
            Event::CompensationCompleted { step, .. } => println!("  undo `{step}`: done"),
            Event::CompensationFailed { step, error, .. } => {
                println!("  undo `{step}` failed for good: {error}");
            }
            Event::RunFailed { .. } => println!("  the run ended failed"),
            _ => {}
        }
    }

    println!("\nthe journal:");
    for record in engine.journal(&run).await? {
        println!(
            "  {:<12} {:?} ({} attempt(s))",
            record.key.to_string(),
            record.outcome,
            record.attempts
        );
    }
    Ok(())
}
