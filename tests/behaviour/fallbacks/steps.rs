//! `.fallback(step f(x))`: a step that fails for good degrades to another
//! step, journaled under `{site}.fallback`; the stand-in's value is the
//! step's `FellBack` outcome.

use crate::support;

use support::journal_keys;
use trailhead::{Engine, Error, StepOutcome, workflow};

async fn live_price(sku: &str) -> Result<u64, Error> {
    Err(Error::msg(format!("no live price for {sku}")))
}

async fn cached_price(sku: &str) -> Result<u64, Error> {
    Ok(sku.len() as u64 * 100)
}

async fn no_cache(sku: &str) -> Result<u64, Error> {
    Err(Error::msg(format!("no cached price for {sku}")))
}

workflow! {
    workflow quote(sku: String) -> Result<u64, Error> {
        let price = step live_price(&sku).retry(2, backoff = 1ms).fallback(step cached_price(&sku));
        Ok(price + 1)
    }

    workflow quote_or_fail(sku: String) -> Result<u64, Error> {
        let price = step live_price(&sku).fallback(step no_cache(&sku));
        Ok(price)
    }
}

#[tokio::test]
async fn a_failed_step_degrades_to_its_fallback_step() {
    let engine = Engine::new();
    let handle = engine.start(quote, "abc".to_owned()).await.unwrap();
    let run = handle.id().clone();
    assert_eq!(handle.result().await.unwrap(), 301);
    // The stand-in is journaled first, then its value as the step's outcome.
    assert_eq!(
        journal_keys(&engine, &run).await,
        ["live_price.fallback", "live_price"]
    );
    let journal = engine.journal(&run).await.unwrap();
    assert_eq!(
        journal[1].outcome,
        StepOutcome::FellBack(support::value(serde_json::json!(300)))
    );
    assert_eq!(journal[1].attempts, 2, "the step's own attempts are kept");
}

#[tokio::test]
async fn a_failing_fallback_step_fails_the_run_with_its_own_error() {
    let engine = Engine::new();
    let error = quote_or_fail::run(&engine, "x".to_owned())
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("no cached price for x"), "{text}");
    assert!(text.contains("live_price.fallback"), "{text}");
}
