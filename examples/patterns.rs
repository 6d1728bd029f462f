//! The pattern library at a shipping desk, on the embedded SQLite store: six
//! of `trailhead::patterns`, each a generic workflow with your steps plugged
//! in, each durable like any workflow.
//!
//! 1. `scatter_gather`: ask three carriers for a quote, go on when two
//!    answer (`Gather::Quorum(2)`); one carrier is down.
//! 2. `race`: book the two cheapest at once; the first to confirm wins, the
//!    other is cancelled (undone if it had confirmed).
//! 3. `retry_until`: poll the label printer until the label is printed,
//!    waiting 50 ms, then 100, then 200 (a durable `sleep` each).
//! 4. `rate_limited`: tell six customers, at most three per 200 ms.
//! 5. `dead_letters`: send three invoices; one has no address, fails for
//!    good and is parked as a dead letter; the address fixed, it is retried.
//! 6. `saga`: reserve the stock, then charge the card; the card is declined,
//!    so the reservation is undone.
//!
//! Each pattern's chart is its workflow's `MERMAID`, printed for the first.
//!
//! `cargo run --example patterns`

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use trailhead::patterns::dead_letter::{dead_letters, retry_dead_letters};
use trailhead::patterns::poll::{Check, Every, retry_until};
use trailhead::patterns::race::{Contender, race};
use trailhead::patterns::rate_limit::{Rate, rate_limited};
use trailhead::patterns::saga::{Action, saga};
use trailhead::patterns::scatter_gather::{Gather, Task, scatter_gather};
use trailhead::{Engine, Error, RunError, Workflow, workflow};

/// A carrier, as a task that quotes and as a contender that books.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Carrier {
    name: String,
    /// Its price in cents; `None`: its quoting service is down.
    price: Option<u64>,
    /// How long it takes to confirm a booking.
    confirms_in: Duration,
}

impl Task for Carrier {
    type Output = u64;

    async fn run(&self) -> Result<u64, Error> {
        self.price
            .ok_or_else(|| Error::msg(format!("{} is not answering", self.name)))
    }
}

impl Contender for Carrier {
    type Output = String;

    async fn run(&self) -> Result<String, Error> {
        tokio::time::sleep(self.confirms_in).await;
        Ok(format!("{}-PICKUP-1", self.name))
    }

    async fn undo(&self, booking: String) -> Result<(), Error> {
        println!("    {} cancels {booking}", self.name);
        Ok(())
    }
}

/// How often the label printer was asked.
static POLLS: AtomicU32 = AtomicU32::new(0);

/// Asks the label printer about a label: printed at the fourth ask.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Label {
    parcel: String,
}

impl Check for Label {
    type Output = String;

    async fn check(&self) -> Result<Option<String>, Error> {
        let polls = POLLS.fetch_add(1, Ordering::SeqCst) + 1;
        println!(
            "    poll {polls}: {}",
            if polls < 4 { "printing" } else { "printed" }
        );
        Ok((polls >= 4).then(|| format!("label for {}", self.parcel)))
    }
}

/// When each customer was told, from the start of the fan-out.
static TOLD: Mutex<Vec<Duration>> = Mutex::new(Vec::new());

/// A message to a customer.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Tell {
    customer: String,
}

impl Task for Tell {
    type Output = String;

    async fn run(&self) -> Result<String, Error> {
        let started = *STARTED.get_or_init(Instant::now);
        TOLD.lock().unwrap().push(started.elapsed());
        Ok(format!("told {}", self.customer))
    }
}

static STARTED: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Whether the invoice without an address has been given one.
static ADDRESS_FIXED: AtomicBool = AtomicBool::new(false);

async fn post_invoice(customer: &str) -> Result<String, Error> {
    if customer.is_empty() && !ADDRESS_FIXED.load(Ordering::SeqCst) {
        return Err(Error::msg("the invoice has no address"));
    }
    Ok(format!(
        "invoice posted to {}",
        if customer.is_empty() {
            "the fixed address"
        } else {
            customer
        }
    ))
}

workflow! {
    /// Sends one invoice: the body `dead_letters` calls for each.
    workflow send_invoice(customer: String) -> Result<String, Error> {
        Ok(step post_invoice(&customer))
    }
}

/// A reversible change of the order.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Change {
    Reserve { items: u32 },
    Charge { cents: u64 },
}

impl Action for Change {
    type Done = String;

    async fn apply(&self) -> Result<String, Error> {
        match self {
            Change::Reserve { items } => Ok(format!("{items} items reserved")),
            Change::Charge { cents } => Err(Error::msg(format!("card declined for {cents} cents"))),
        }
    }

    async fn undo(&self, done: String) -> Result<(), Error> {
        println!("    undone: {done}");
        Ok(())
    }
}

/// What the desk did, for the test to check.
#[derive(Debug, PartialEq)]
struct Desk {
    quotes: Vec<(usize, u64)>,
    booked: String,
    label: String,
    told: usize,
    posted: Vec<String>,
    dead_then_posted: String,
    saga_failed_at: usize,
}

async fn desk(engine: &Engine) -> Result<Desk, Box<dyn std::error::Error>> {
    let carrier = |name: &str, price, ms| Carrier {
        name: name.to_owned(),
        price,
        confirms_in: Duration::from_millis(ms),
    };
    let carriers = vec![
        carrier("swift", Some(1_250), 80),
        carrier("parcelo", None, 10),
        carrier("dromedary", Some(990), 20),
    ];

    println!("1. scatter-gather: quotes from three carriers, a quorum of two");
    println!("{}", scatter_gather::<Carrier>::MERMAID);
    let quotes =
        scatter_gather::<Carrier>::run(engine, carriers.clone(), Gather::Quorum(2), 3).await?;
    println!(
        "   quotes {:?}, failed {:?}",
        quotes.succeeded, quotes.failed
    );

    println!("2. race: book the two that quoted; the first to confirm wins");
    let quoted: Vec<Carrier> = quotes
        .succeeded
        .iter()
        .map(|(i, _)| carriers[*i].clone())
        .collect();
    let won = race::<Carrier>::run(engine, quoted).await?;
    println!("   booked {} (contender {})", won.output, won.index);

    println!("3. poll: until the label is printed");
    let every = Every::exponential(Duration::from_millis(50), Duration::from_millis(200));
    let label = Label {
        parcel: won.output.clone(),
    };
    let label = retry_until::<Label>::run(engine, label, every, Duration::from_secs(5)).await?;
    println!("   {label}");

    println!("4. rate-limited fan-out: six customers, three per 200 ms");
    let tell: Vec<Tell> = (1..=6)
        .map(|n| Tell {
            customer: format!("customer {n}"),
        })
        .collect();
    let rate = Rate {
        items: 3,
        window: Duration::from_millis(200),
    };
    let told = rate_limited::<Tell>::run(engine, tell, rate).await?;
    println!("   {} told, at {:?}", told.len(), TOLD.lock().unwrap());

    println!("5. dead letters: three invoices, one without an address");
    let customers = vec!["ada".to_owned(), String::new(), "grace".to_owned()];
    let processed = dead_letters::<send_invoice>::run(engine, customers, 3).await?;
    for letter in &processed.dead {
        println!(
            "   dead letter: item {} in run {}: {}",
            letter.index, letter.run, letter.error
        );
    }
    ADDRESS_FIXED.store(true, Ordering::SeqCst);
    let retried = retry_dead_letters::<send_invoice>(engine, &processed.dead).await?;
    let dead_then_posted = retried.into_iter().next().expect("one dead letter")?;
    println!("   retried: {dead_then_posted}");

    println!("6. saga: reserve, then charge; the card is declined");
    let changes = vec![Change::Reserve { items: 2 }, Change::Charge { cents: 990 }];
    let saga_failed_at = match saga::<Change>::run(engine, changes).await {
        Err(RunError::Failed { error, .. }) => {
            println!("   rolled back: {error}");
            error.index
        }
        other => return Err(format!("the card should be declined: {other:?}").into()),
    };

    Ok(Desk {
        quotes: quotes.succeeded,
        booked: won.output,
        label,
        told: told.len(),
        posted: processed
            .done
            .into_iter()
            .map(|(_, posted)| posted)
            .collect(),
        dead_then_posted,
        saga_failed_at,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let engine = Engine::open(dir.path().join("desk.db"))?;
    let desk = desk(&engine).await?;
    println!("{desk:#?}");
    println!(
        "every pattern is a workflow of its own: {}",
        <race<Carrier> as Workflow>::name()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_desk_runs_every_pattern_to_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path().join("desk.db")).unwrap();
        let desk = desk(&engine).await.unwrap();
        assert_eq!(desk.quotes, [(0, 1_250), (2, 990)]);
        // dromedary confirms in 20 ms, swift in 80.
        assert_eq!(desk.booked, "dromedary-PICKUP-1");
        assert_eq!(desk.label, "label for dromedary-PICKUP-1");
        assert_eq!(POLLS.load(Ordering::SeqCst), 4);
        assert_eq!(desk.told, 6);
        let told = TOLD.lock().unwrap().clone();
        // The second wave starts no sooner than a window after the first.
        assert!(
            told[3..]
                .iter()
                .all(|at| *at >= told[0] + Duration::from_millis(200)),
            "{told:?}"
        );
        assert_eq!(
            desk.posted,
            ["invoice posted to ada", "invoice posted to grace"]
        );
        assert_eq!(desk.dead_then_posted, "invoice posted to the fixed address");
        assert_eq!(desk.saga_failed_at, 1);
    }
}
