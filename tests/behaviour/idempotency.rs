//! Each step attempt knows its deterministic idempotency key (run id + step key
//! + attempt), to pass to external systems: steps are at-least-once.

use std::sync::Mutex;

use trailhead::{Engine, RunId, current_step, workflow};

static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

async fn charge(cents: u64) -> Result<u64, std::io::Error> {
    let attempt = current_step().expect("inside a step");
    SEEN.lock().unwrap().push(attempt.idempotency_key());
    if attempt.attempt == 1 {
        return Err(std::io::Error::other("timeout talking to the bank"));
    }
    Ok(cents)
}

fn receipt(cents: u64) -> Result<String, std::io::Error> {
    let attempt = current_step().expect("inside a blocking step too");
    Ok(format!("{cents} as {}", attempt.step_key()))
}

workflow! {
    workflow pay(items: Vec<u64>) -> Result<Vec<String>, trailhead::Error> {
        let mut receipts = Vec::new();
        for cents in items {
            let paid = step charge(cents).retry(2, backoff = 1ms);
            receipts.push(step blocking receipt(paid));
        }
        Ok(receipts)
    }
}

#[tokio::test]
async fn every_attempt_has_its_own_deterministic_key() {
    assert!(current_step().is_none(), "no step outside a step");
    let engine = Engine::new();
    let run = RunId::new("order-9");
    let handle = engine.start_with_id(run, pay, vec![5, 7]).await.unwrap();
    let receipts = handle.result().await.unwrap();
    assert_eq!(
        receipts,
        ["5 as order-9/receipt[0]", "7 as order-9/receipt[1]"]
    );
    assert_eq!(
        *SEEN.lock().unwrap(),
        [
            "order-9/charge[0]/1",
            "order-9/charge[0]/2",
            "order-9/charge[1]/1",
            "order-9/charge[1]/2",
        ]
    );
}
