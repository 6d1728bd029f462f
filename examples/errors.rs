//! Errors: a step that fails for good fails the workflow with a `StepError` naming
//! the run, the step key, the attempts and the cause. Your error type receives it
//! through `From` (e.g. thiserror's `#[from]`) or you map it with `.map_err(..)`.
//!
//! `cargo run --example errors`

use trailhead::{Engine, RunError, StepError, workflow};

#[derive(Debug, thiserror::Error)]
#[error("insufficient funds")]
struct Insufficient;

#[derive(Debug, thiserror::Error)]
enum TransferError {
    #[error("withdrawal failed: {0}")]
    Withdraw(#[from] StepError<Insufficient>),
    #[error("deposit failed, account {account}")]
    Deposit { account: String },
}

async fn withdraw(account: &str, cents: u64) -> Result<u64, Insufficient> {
    let _ = account;
    if cents > 10_000 {
        Err(Insufficient)
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
        let taken = step withdraw(&from, cents);
        step deposit(&to, taken).map_err(|_| TransferError::Deposit { account: to.clone() });
        Ok(taken)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::new();
    println!(
        "ok: {:?}",
        transfer::run(&engine, "a".into(), "b".into(), 500).await?
    );
    for (to, cents) in [("b", 50_000), ("", 500)] {
        match transfer::run(&engine, "a".into(), to.into(), cents).await {
            Err(RunError::Failed { run, error }) => println!("run {run} failed: {error}"),
            other => println!("unexpected: {other:?}"),
        }
    }
    Ok(())
}
