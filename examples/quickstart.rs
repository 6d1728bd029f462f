//! Quickstart: an order is fulfilled by a workflow with a loop, a retry, a branch and
//! a sub-workflow; statements run concurrently where no data or `.after` orders them. The events print as the run goes, then the workflow's diagram.
//!
//! Run it with `cargo run --example quickstart`. Runs are journaled in
//! `quickstart.db` (SQLite): interrupt it and run it again to see it resume.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use trailhead::{Engine, Event, workflow};

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Order {
    id: u64,
    email: String,
    items: Vec<Item>,
    express: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Item {
    sku: String,
    quantity: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Reservation {
    sku: String,
    cents: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Payment {
    id: String,
    cents: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Fulfilment {
    payment: Payment,
    tracking: String,
    receipt: String,
}

#[derive(Debug, thiserror::Error)]
enum ShopError {
    #[error("{sku} is out of stock")]
    OutOfStock { sku: String },
    #[error("the payment provider is unavailable")]
    PaymentUnavailable,
}

// The steps: ordinary async functions returning `Result`. In a real service these
// call a database, a payment provider, a courier's API.

async fn reserve_stock(item: &Item) -> Result<Reservation, ShopError> {
    tokio::time::sleep(Duration::from_millis(15)).await;
    if item.quantity == 0 {
        return Err(ShopError::OutOfStock {
            sku: item.sku.clone(),
        });
    }
    Ok(Reservation {
        sku: item.sku.clone(),
        cents: 1_250 * u64::from(item.quantity),
    })
}

/// Fails on its first call, as payment providers do, so the retry shows.
async fn charge_card(order: &Order, cents: u64) -> Result<Payment, ShopError> {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    tokio::time::sleep(Duration::from_millis(25)).await;
    if CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
        return Err(ShopError::PaymentUnavailable);
    }
    Ok(Payment {
        id: format!("pay-{}", order.id),
        cents,
    })
}

async fn book_courier(order: &Order) -> Result<String, ShopError> {
    tokio::time::sleep(Duration::from_millis(20)).await;
    Ok(format!("COURIER-{}", order.id))
}

async fn post_parcel(order: &Order) -> Result<String, ShopError> {
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(format!("POST-{}", order.id))
}

async fn render_receipt(order: &Order, payment: &Payment) -> Result<String, ShopError> {
    Ok(format!(
        "Order {}: {} item(s), {:.2} EUR, payment {}",
        order.id,
        order.items.len(),
        payment.cents as f64 / 100.0,
        payment.id
    ))
}

async fn send_email(to: &str, body: &str) -> Result<(), ShopError> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    println!("    (email to {to}: {body})");
    Ok(())
}

workflow! {
    /// Renders the receipt for a paid order and emails it.
    workflow send_receipt(order: Order, payment: Payment) -> Result<String, trailhead::Error> {
        let receipt = step render_receipt(&order, &payment);
        step send_email(&order.email, &receipt).retry(3, backoff = 200ms..5s);
        Ok(receipt)
    }

    /// Reserves every item, charges the card, ships the parcel and sends the receipt.
    workflow fulfil_order(order: Order) -> Result<Fulfilment, trailhead::Error> {
        let mut total = 0;
        for item in &order.items {
            let reservation = step reserve_stock(item).timeout(2s);
            total += reservation.cents;
        }
        let payment = step charge_card(&order, total).retry(5, backoff = 100ms..10s);
        // Shipping reads nothing from the payment, so without `.after` it would
        // start at once, beside the loop and the charge: the workflow's
        // statements run as soon as their inputs exist.
        let tracking = if order.express {
            step book_courier(&order).after(payment)
        } else {
            step post_parcel(&order).after(payment)
        };
        let receipt = call send_receipt(order.clone(), payment.clone());
        Ok(Fulfilment { payment, tracking, receipt })
    }
}

fn print_event(event: &Event) {
    match event {
        Event::RunStarted { run, workflow, .. } => println!("run {run} started ({workflow})"),
        Event::RunResumed { run, journaled, .. } => {
            println!("run {run} resumed with {journaled} journaled step(s)");
        }
        Event::StepReplayed { step, .. } => println!("  step {step} replayed from the journal"),
        Event::StepStarted { step, attempt, .. } => {
            println!("  step {step} started (attempt {attempt})")
        }
        Event::StepCompleted { step, duration, .. } => {
            println!("  step {step} completed in {duration:?}");
        }
        Event::StepRetrying {
            step, error, delay, ..
        } => {
            println!("  step {step} failed ({error}); retrying in {delay:?}");
        }
        Event::StepFailed { step, error, .. } => println!("  step {step} failed: {error}"),
        Event::RunCompleted { run, duration, .. } => {
            println!("run {run} completed in {duration:?}")
        }
        Event::RunFailed { run, error, .. } => println!("run {run} failed: {error}"),
        other => println!("  {other:?}"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Runs are journaled in quickstart.db. Stop the program mid-run (Ctrl-C)
    // and start it again: the unfinished run carries on from its last
    // finished step instead of starting over.
    let engine = Engine::open("quickstart.db")?;
    let mut events = engine.subscribe();

    let mut handles = match engine.resume(fulfil_order).await {
        Ok(handles) => handles,
        Err(error) => {
            // E.g. the workflow was edited since the run started.
            println!("not resuming: {error}\n(delete quickstart.db to start afresh)");
            Vec::new()
        }
    };
    if handles.is_empty() {
        let order = Order {
            id: 42,
            email: "ada@example.com".to_owned(),
            items: vec![
                Item {
                    sku: "tent".to_owned(),
                    quantity: 1,
                },
                Item {
                    sku: "stove".to_owned(),
                    quantity: 2,
                },
            ],
            express: true,
        };
        handles.push(engine.start(fulfil_order, order).await?);
    } else {
        println!("resuming {} unfinished run(s)", handles.len());
    }
    for handle in handles {
        let result = handle.result();
        tokio::pin!(result);
        let fulfilment = loop {
            tokio::select! {
                Some(event) = events.recv() => print_event(&event),
                outcome = &mut result => {
                    while let Some(event) = events.try_recv() {
                        print_event(&event);
                    }
                    break outcome?;
                }
            }
        };
        println!("\nfulfilled: {fulfilment:#?}");
    }
    println!(
        "\nThe workflow's diagram (paste into any Mermaid viewer):\n\n{}",
        fulfil_order::MERMAID
    );
    Ok(())
}
