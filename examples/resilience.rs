//! Resilience: a flaky price service behind a circuit breaker, with a
//! fallback price.
//!
//! The service fails its first three calls. Those failures open the `prices`
//! breaker; while it is open, quotes use the list price without calling the
//! service at all (`.fallback(..)` covers the open breaker too). After
//! `open_for`, one trial call goes through; it succeeds, and the breaker
//! closes. Every breaker change and fallback is printed as it happens, then
//! the engine's health report.
//!
//! `cargo run --example resilience`

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use trailhead::{BreakerConfig, Engine, Event, EventReceiver, workflow};

static CALLS: AtomicU32 = AtomicU32::new(0);

/// The live price service: down for its first three calls, then fine.
async fn live_price(sku: &str) -> Result<u64, trailhead::Error> {
    let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    if call <= 3 {
        return Err(trailhead::Error::msg(format!(
            "price service unavailable (call {call})"
        )));
    }
    Ok(100 + sku.len() as u64)
}

/// The price to quote when the live one is not to be had.
fn list_price(sku: &str) -> u64 {
    1_000 + sku.len() as u64
}

workflow! {
    /// A price for `sku`: live when the service answers, else the list price.
    workflow quote(sku: String) -> Result<u64, trailhead::Error> {
        let price = step live_price(&sku)
            .timeout(1s)
            .breaker("prices")
            .fallback(list_price(&sku));
        Ok(price)
    }
}

/// Prints the breaker changes and fallbacks received so far.
fn print_events(events: &mut EventReceiver) {
    while let Some(event) = events.try_recv() {
        match event {
            Event::BreakerChanged {
                breaker, from, to, ..
            } => println!("    breaker `{breaker}`: {from} -> {to}"),
            Event::StepFellBack { step, error, .. } => {
                println!("    {step} fell back: {error}");
            }
            _ => {}
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Three failures within 10 s open the breaker for 300 ms; then one trial.
    let engine = Engine::builder()
        .breaker(
            "prices",
            BreakerConfig::new(3, Duration::from_secs(10))
                .with_open_for(Duration::from_millis(300))
                .with_half_open_calls(1),
        )
        .build();
    let mut events = engine.subscribe();

    for sku in ["apple", "pear", "plum", "fig", "kiwi"] {
        let price = quote::run(&engine, sku.to_owned()).await?;
        println!("{sku}: {price} cents");
        print_events(&mut events);
    }
    println!(
        "the service was called {} times for 5 quotes",
        CALLS.load(Ordering::SeqCst)
    );

    // Wait out `open_for`: the next quote is the trial call.
    tokio::time::sleep(Duration::from_millis(350)).await;
    let price = quote::run(&engine, "mango".to_owned()).await?;
    println!("mango: {price} cents");
    print_events(&mut events);

    let health = engine.health().await?;
    println!("health:");
    println!("  healthy: {}", health.is_healthy());
    println!(
        "  runs in flight: {}, stalled: {}",
        health.in_flight,
        health.stalled.len()
    );
    for breaker in &health.breakers {
        println!("  breaker `{}`: {}", breaker.name, breaker.state);
    }
    println!(
        "  failed compensations: {}",
        health.failed_compensations.len()
    );
    Ok(())
}
