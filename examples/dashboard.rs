//! The dashboard: batches of orders are packed at once, retried, held for a
//! dispatch signal and shipped, while a web dashboard shows every run live.
//!
//! Run it with `cargo run --example dashboard --features dashboard` and open
//! <http://127.0.0.1:7420/>. A new batch starts every ten seconds; open one
//! while it runs to watch its diagram fill in. Actions are on (this serves
//! localhost only): a batch waits up to 20 s for the `dispatch` signal, so
//! send it from the run page (any JSON value, e.g. `"now"`), or cancel a
//! batch and watch its packed orders be unpacked.
//!
//! Runs are journaled in `dashboard.db`: stop it with Ctrl-C and start it
//! again, and unfinished batches resume. The same store can be served by the
//! CLI instead: `trailhead serve dashboard.db`.

use std::time::Duration;

use trailhead::dashboard::{Actions, Dashboard};
use trailhead::{Engine, Error, RunId, workflow};

/// Loads the batch's orders.
async fn load_orders(batch: u32) -> Result<Vec<u32>, Error> {
    Ok((0..12).map(|i| batch * 100 + i).collect())
}

/// Packs an order; every fifth order's first attempt fails.
async fn pack(order: u32) -> Result<u32, Error> {
    tokio::time::sleep(Duration::from_millis(300 + u64::from(order % 7) * 150)).await;
    let attempt = trailhead::current_step().map_or(1, |step| step.attempt);
    if order.is_multiple_of(5) && attempt == 1 {
        return Err(Error::msg(format!(
            "the scale under order {order} timed out"
        )));
    }
    Ok(order)
}

/// Unpacks an order of a batch that was cancelled.
async fn unpack(order: u32) -> Result<(), Error> {
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = order;
    Ok(())
}

/// Books a truck for the packed orders.
async fn ship(orders: Vec<u32>, note: String) -> Result<String, Error> {
    tokio::time::sleep(Duration::from_millis(400)).await;
    Ok(format!("{} orders shipped ({note})", orders.len()))
}

workflow! {
    /// Packs a batch's orders four at a time, waits for dispatch, ships.
    pub workflow ship_batch(batch: u32) -> Result<String, Error> {
        let orders = step load_orders(batch);
        let packed = parallel(limit = 4) for order in &orders {
            step pack(*order).retry(3, backoff = 200ms..1s).compensate(unpack)
        };
        let dispatch: Option<serde_json::Value> = signal "dispatch".timeout(20s);
        let note = match dispatch {
            Some(value) => format!("dispatched: {value}"),
            None => "dispatched on schedule".to_owned(),
        };
        let shipped = step ship(packed, note);
        Ok(shipped)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::open("dashboard.db")?;
    let resumed = engine.resume(ship_batch).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:7420").await?;
    println!(
        "the dashboard: http://{}/ ({} unfinished batches resumed; Ctrl-C stops)",
        listener.local_addr()?,
        resumed.len()
    );
    let dashboard = Dashboard::new(engine.clone()).actions(Actions::Allowed);
    tokio::spawn(async move {
        if let Err(error) = dashboard.serve(listener).await {
            eprintln!("the dashboard stopped: {error}");
        }
    });
    let first = engine.store().list_runs(None).await?.len() as u32 + 1;
    let mut every = tokio::time::interval(Duration::from_secs(10));
    for batch in first.. {
        tokio::select! {
            _ = every.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
        }
        let id = RunId::new(format!("batch-{batch}"));
        match engine.start_with_id(id.clone(), ship_batch, batch).await {
            Ok(_) => println!("started {id}: http://127.0.0.1:7420/runs/{id}"),
            Err(error) => eprintln!("{id} did not start: {error}"),
        }
    }
    engine.shutdown(Duration::from_secs(5)).await;
    Ok(())
}
