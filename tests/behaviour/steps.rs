//! Steps: bound with `let` or run for their effect, async or blocking, functions or
//! methods, with plain deterministic Rust in between; each output is journaled.

use crate::support;

use serde::{Deserialize, Serialize};
use support::{Calls, journal_keys};
use trailhead::{Engine, StepOutcome, workflow};

static CALLS: Calls = Calls::new();

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Greeting {
    to: String,
    text: String,
}

async fn lookup(name: &str) -> Result<String, std::io::Error> {
    CALLS.push(format!("lookup {name}"));
    Ok(name.to_uppercase())
}

async fn log(line: String) -> Result<(), std::io::Error> {
    CALLS.push(format!("log {line}"));
    Ok(())
}

/// A CPU-bound step: runs on a worker thread, not on the async workers.
fn checksum(text: String) -> Result<(u64, String), std::io::Error> {
    let thread = std::thread::current().name().unwrap_or("").to_owned();
    let sum = text.bytes().map(u64::from).sum();
    Ok((sum, thread))
}

#[derive(Clone)]
struct Directory {
    suffix: &'static str,
}

impl Directory {
    async fn address(&self, name: &str) -> Result<String, std::io::Error> {
        Ok(format!("{name}{}", self.suffix))
    }
}

workflow! {
    workflow greet(name: String) -> Result<Greeting, trailhead::Error> {
        let upper = step lookup(&name);
        let text = format!("hello, {upper}");
        step log(text.clone());
        let directory = Directory { suffix: "@example.com" };
        let to = step directory.address(&name);
        let (sum, thread) = step blocking checksum(text.clone());
        assert!(sum > 0);
        assert!(!thread.starts_with("tokio-runtime-worker"), "ran on {thread}");
        Ok(Greeting { to, text })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_run_in_order_and_their_outputs_are_journaled() {
    let engine = Engine::new();
    let handle = engine.start(greet, "ada".to_owned()).await.unwrap();
    let run = handle.id().clone();
    let greeting = handle.result().await.unwrap();
    assert_eq!(
        greeting,
        Greeting {
            to: "ada@example.com".to_owned(),
            text: "hello, ADA".to_owned()
        }
    );
    assert_eq!(CALLS.take(), ["lookup ada", "log hello, ADA"]);
    assert_eq!(
        journal_keys(&engine, &run).await,
        ["lookup", "log", "address", "checksum"]
    );

    let journal = engine.journal(&run).await.unwrap();
    assert!(
        matches!(&journal[0].outcome, StepOutcome::Completed(v) if v.decode::<String>().unwrap() == "ADA")
    );
    assert!(journal.iter().all(|record| record.attempts == 1));
    assert!(
        journal
            .iter()
            .all(|record| record.finished_at >= record.started_at)
    );
}
