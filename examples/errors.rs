//! Errors: a step that fails for good fails the workflow with a `StepError` naming
//! the run, the step key, the attempts and the cause. Your error type receives it
//! through `From` (e.g. thiserror's `#[from]`) or you map it with `.map_err(..)`.
//!
//! Which errors a step with `.retry(..)` tries again is up to the error's type:
//! implement `Classify` and only its transient errors are retried (here, a bank
//! that is offline); a permanent one (insufficient funds) fails the step at once.
//!
//! `cargo run --example errors`

use std::sync::atomic::{AtomicBool, Ordering};

use trailhead::{Classify, Engine, ErrorClass, RunError, StepError, workflow};

#[derive(Debug, thiserror::Error)]
enum BankError {
    #[error("the bank is offline")]
    Offline,
    #[error("insufficient funds")]
    Insufficient,
}

impl Classify for BankError {
    fn class(&self) -> ErrorClass {
        match self {
            // Worth another attempt.
            BankError::Offline => ErrorClass::Transient,
            // Would fail the same way every time.
            BankError::Insufficient => ErrorClass::Permanent,
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum TransferError {
    #[error("withdrawal failed: {0}")]
    Withdraw(#[from] StepError<BankError>),
    #[error("deposit failed, account {account}")]
    Deposit { account: String },
}

/// The bank is offline the first time it is called.
static ONLINE: AtomicBool = AtomicBool::new(false);

async fn withdraw(account: &str, cents: u64) -> Result<u64, BankError> {
    let _ = account;
    if !ONLINE.swap(true, Ordering::SeqCst) {
        Err(BankError::Offline)
    } else if cents > 10_000 {
        Err(BankError::Insufficient)
    } else {
        Ok(cents)
    }
}

async fn deposit(account: &str, cents: u64) -> Result<(), std::io::Error> {
    if account.is_empty() {
        return Err(std::io::Error::other("no such account"));
    }
    let _ = cents;
    Ok(())
}

workflow! {
    workflow transfer(from: String, to: String, cents: u64) -> Result<u64, TransferError> {
        let taken = step withdraw(&from, cents).retry(3, backoff = 50ms);
        step deposit(&to, taken).map_err(|_| TransferError::Deposit { account: to.clone() });
        Ok(taken)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::new();
    // Offline at first (transient): retried, then done.
    println!(
        "ok: {:?}",
        transfer::run(&engine, "a".into(), "b".into(), 500).await?
    );
    // Insufficient funds (permanent): one attempt out of three; then a failed deposit.
    for (to, cents) in [("b", 50_000), ("", 500)] {
        match transfer::run(&engine, "a".into(), to.into(), cents).await {
            Err(RunError::Failed { run, error }) => println!("run {run} failed: {error}"),
            other => println!("unexpected: {other:?}"),
        }
    }
    Ok(())
}
