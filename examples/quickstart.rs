//! Quickstart: an order is fulfilled by a workflow with a loop, a retry, a branch and
//! a sub-workflow; statements run concurrently where no data or `.after` orders them. The events print as the run goes, then the workflow's diagram.
//!
//! Run it with `cargo run --example quickstart`. Runs are journaled in
//! `quickstart.db` (SQLite), under the order's id:
//!
//! - Run it again: order 42 is found fulfilled and its recorded result is
//!   printed; nothing is charged twice. `-- --order <n>` places another order.
//! - `cargo run --example quickstart -- --slow --order 43` makes every step
//!   take two seconds: press Ctrl-C mid-run, run the same command again, and
//!   the run resumes, replaying its finished steps instead of running them.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use trailhead::{
    Engine, EngineError, Event, RunHandle, RunId, RunOutcome, RunStatus, StoreError, workflow,
};

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

/// `--slow`: every step takes two seconds, to leave time for a Ctrl-C.
static SLOW: AtomicBool = AtomicBool::new(false);

/// The step's work: `ms` milliseconds, or two seconds with `--slow`.
async fn work(ms: u64) {
    let time = if SLOW.load(Ordering::Relaxed) {
        Duration::from_secs(2)
    } else {
        Duration::from_millis(ms)
    };
    tokio::time::sleep(time).await;
}

async fn reserve_stock(item: &Item) -> Result<Reservation, ShopError> {
    work(15).await;
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
    work(25).await;
    if CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
        return Err(ShopError::PaymentUnavailable);
    }
    Ok(Payment {
        id: format!("pay-{}", order.id),
        cents,
    })
}

async fn book_courier(order: &Order) -> Result<String, ShopError> {
    work(20).await;
    Ok(format!("COURIER-{}", order.id))
}

async fn post_parcel(order: &Order) -> Result<String, ShopError> {
    work(10).await;
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
    work(5).await;
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

/// The command line: `--slow`, `--order <id>`.
struct Args {
    slow: bool,
    order: u64,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        slow: false,
        order: 42,
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        match arg.as_str() {
            "--slow" => args.slow = true,
            "--order" => {
                args.order = given
                    .next()
                    .and_then(|id| id.parse().ok())
                    .ok_or("`--order` takes a number")?;
            }
            other => {
                return Err(format!(
                    "unknown argument `{other}` (try --slow, --order 43)"
                ));
            }
        }
    }
    Ok(args)
}

/// Prints the run's events as they come, then its result.
async fn follow(
    handle: RunHandle<fulfil_order>,
    events: &mut trailhead::EventReceiver,
) -> Result<(), Box<dyn std::error::Error>> {
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
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    SLOW.store(args.slow, Ordering::Relaxed);
    // Runs are journaled in quickstart.db. Stop the program mid-run (Ctrl-C)
    // and start it again: the unfinished run carries on from its last
    // finished step instead of starting over.
    let engine = Engine::open("quickstart.db")?;
    let mut events = engine.subscribe();

    // First, carry on with what an earlier process left unfinished.
    let resumed = match engine.resume(fulfil_order).await {
        Ok(handles) => handles,
        Err(error) => {
            // E.g. the workflow was edited since the run started.
            println!("not resuming: {error}\n(delete quickstart.db to start afresh)");
            Vec::new()
        }
    };
    if !resumed.is_empty() {
        println!("resuming {} unfinished run(s)", resumed.len());
    }
    let run = RunId::new(format!("order-{}", args.order));
    let resumed_this_order = resumed.iter().any(|handle| *handle.id() == run);
    for handle in resumed {
        follow(handle, &mut events).await?;
    }

    // The order's id is the run's id (a business key): running the program
    // again finds the run instead of fulfilling, and charging, twice.
    match engine.run_record(&run).await? {
        _ if resumed_this_order => {}
        None => {
            if args.slow {
                println!(
                    "slow mode: every step takes 2 s. Press Ctrl-C during a step, then run \
                     the same command again to see the run resume.\n"
                );
            }
            let order = Order {
                id: args.order,
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
            match engine.start_with_id(run.clone(), fulfil_order, order).await {
                Ok(handle) => follow(handle, &mut events).await?,
                // Another process started it between our look and our start.
                Err(EngineError::Store(StoreError::RunExists { run })) => {
                    println!("run {run} was started elsewhere")
                }
                Err(error) => return Err(error.into()),
            }
        }
        Some(record) => match (record.status(), record.outcome()) {
            (RunStatus::Completed, Some(RunOutcome::Completed(output))) => {
                let fulfilment: Fulfilment = output.decode()?;
                println!(
                    "order {} was already fulfilled (run {run}); its recorded result:\n{fulfilment:#?}\n\
                     (`-- --order {}` places another order)",
                    args.order,
                    args.order + 1
                );
            }
            (status, outcome) if status.is_ended() => {
                println!("order {} ended as {status:?}: {outcome:?}", args.order);
            }
            // Left unfinished, and not resumable by this build (see above).
            (status, _) => println!("order {} is {status:?}", args.order),
        },
    }
    println!(
        "\nThe workflow's diagram (paste into any Mermaid viewer):\n\n{}",
        fulfil_order::MERMAID
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailhead::testing::{Stub, TestEngine};

    fn order(express: bool) -> Order {
        Order {
            id: 7,
            email: "grace@example.com".to_owned(),
            items: vec![
                Item {
                    sku: "tent".to_owned(),
                    quantity: 1,
                },
                Item {
                    sku: "mat".to_owned(),
                    quantity: 3,
                },
            ],
            express,
        }
    }

    /// The test kit on this example's workflow: the payment provider is
    /// stubbed (down twice, then a payment), emails are stubbed and counted,
    /// and the retries' backoffs pass on the paused clock.
    #[tokio::test]
    async fn an_order_is_charged_once_the_provider_recovers_and_gets_one_email() {
        let kit = TestEngine::new();
        let charges = kit.stub(
            "charge_card",
            Stub::sequence([
                Stub::fails_transiently("the payment provider is unavailable"),
                Stub::fails_transiently("the payment provider is unavailable"),
                Stub::with(|call| {
                    Stub::returns(Payment {
                        id: format!("pay-{}", call.attempt),
                        cents: 5_000,
                    })
                }),
            ]),
        );
        let emails = kit.stub("send_email", Stub::returns(()));
        let run = RunId::new("order-7");
        let handle = kit
            .start_with_id(run.clone(), fulfil_order, order(false))
            .await
            .unwrap();
        let fulfilment = handle.result().await.unwrap();
        assert_eq!(fulfilment.payment.id, "pay-3", "the third attempt paid");
        assert_eq!(fulfilment.tracking, "POST-7");
        assert_eq!((charges.count(), emails.count()), (3, 1));
        // Shipping and the receipt both wait for the payment, then run at
        // once: their order in the journal is either.
        let mut steps = kit.steps(&run).await;
        steps[3..].sort();
        assert_eq!(
            steps,
            [
                "reserve_stock[0]",
                "reserve_stock[1]",
                "charge_card",
                "post_parcel",
                "send_receipt"
            ]
        );
        trailhead::assert_steps!(
            kit,
            &RunId::new("order-7/send_receipt"),
            ["render_receipt", "send_email"]
        );
    }

    /// Histories of real runs of this example, saved with `trailhead export`
    /// (order 42 finished; order 43 stopped mid-run by a SIGKILL), replayed
    /// against the code as it is now. A change to the workflows that would
    /// misread them fails here, at test time, not when a run resumes.
    #[test]
    fn recorded_runs_replay_clean() {
        let histories = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/histories");
        let orders = trailhead::replay::replay_folder(fulfil_order, histories).unwrap();
        let ids: Vec<&str> = orders.iter().map(|run| run.run.as_str()).collect();
        assert_eq!(ids, ["order-42", "order-43"]);
        // Order 43 carries on at the second item's reservation.
        assert_eq!(orders[1].continues_at.len(), 1);
        assert_eq!(orders[1].continues_at[0].to_string(), "reserve_stock[1]");
        let receipts = trailhead::replay::replay_folder(send_receipt, histories).unwrap();
        assert_eq!(receipts.len(), 1);
    }
}
