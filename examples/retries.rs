//! Retries and timeouts: attempts, exponential backoff with jitter, which errors to
//! retry, per-attempt timeouts, and policies as reusable Rust values.
//!
//! `cargo run --example retries`

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use trailhead::{Backoff, Engine, Event, RetryPolicy, workflow};

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("503 service unavailable")]
    Unavailable,
    #[error("400 bad request")]
    BadRequest,
}

impl ApiError {
    fn is_transient(&self) -> bool {
        matches!(self, ApiError::Unavailable)
    }
}

static CALLS: AtomicU32 = AtomicU32::new(0);

/// Unavailable twice, then fine.
async fn call_api(path: &str) -> Result<String, ApiError> {
    if CALLS.fetch_add(1, Ordering::SeqCst) < 2 {
        return Err(ApiError::Unavailable);
    }
    if path.is_empty() {
        return Err(ApiError::BadRequest);
    }
    Ok(format!("200 OK {path}"))
}

async fn slow_report() -> Result<String, ApiError> {
    tokio::time::sleep(Duration::from_secs(3)).await;
    Ok("report".to_owned())
}

/// A policy shared by several steps: 4 attempts, 50ms then 100ms, 200ms.
const API_POLICY: RetryPolicy = RetryPolicy::attempts(4).with_backoff(Backoff::exponential(
    Duration::from_millis(50),
    Duration::from_secs(1),
));

workflow! {
    workflow sync_account(path: String) -> Result<String, trailhead::Error> {
        // Only transient errors are retried; a 400 fails at once.
        let body = step call_api(&path).retry(5, backoff = 20ms..1s, when = ApiError::is_transient);
        let again = step call_api(&path).retry(API_POLICY).name("confirm");
        Ok(format!("{body}; {again}"))
    }

    workflow report() -> Result<String, trailhead::Error> {
        // Each attempt may take 1s; a timed-out attempt is retried like an error.
        let text = step slow_report().timeout(1s).retry(2, backoff = 100ms);
        Ok(text)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let printer = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let Event::StepRetrying {
                step, error, delay, ..
            } = event
            {
                println!("  {step}: {error}; retrying in {delay:?}");
            }
        }
    });
    println!(
        "{}",
        sync_account::run(&engine, "/accounts/7".to_owned()).await?
    );
    match report::run(&engine).await {
        Ok(text) => println!("{text}"),
        Err(error) => println!("report failed as expected: {error}"),
    }
    printer.abort();
    Ok(())
}
