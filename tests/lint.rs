//! The expansion is lint-clean: this file denies all warnings (and clippy's pedantic
//! group under `cargo clippy`) over a workflow that uses every construct.
#![deny(warnings)]
#![deny(clippy::pedantic)]

use std::time::Duration;

use trailhead::{Engine, RetryPolicy, workflow};

/// The error of the linted steps.
#[derive(Debug, thiserror::Error)]
#[error("lint error")]
pub struct LintError;

async fn unit(x: u32) -> Result<u32, LintError> {
    tokio::task::yield_now().await;
    if x > 1_000 { Err(LintError) } else { Ok(x) }
}

fn blocking_unit(x: u32) -> Result<u32, LintError> {
    if x > 1_000 { Err(LintError) } else { Ok(x) }
}

const POLICY: RetryPolicy = RetryPolicy::attempts(2);

workflow! {
    /// A child.
    pub workflow child(x: u32) -> Result<u32, trailhead::Error> {
        let y = step unit(x);
        Ok(y)
    }

    /// Uses every construct once.
    pub workflow everything(xs: Vec<u32>, flag: bool) -> Result<u32, trailhead::Error> {
        let mut total = step unit(1).retry(3, backoff = 1ms..2ms).timeout(1s).name("first");
        step unit(2).retry(POLICY).timeout(Duration::from_secs(1));
        total += step blocking blocking_unit(3);
        if flag {
            total += step unit(4);
        } else {
            total += call child(5);
        }
        match xs.first() {
            Some(&x) if x > 100 => {
                total += step unit(x);
            }
            Some(_) | None => {}
        }
        for x in &xs {
            if *x == 0 {
                continue;
            }
            total += step unit(*x);
        }
        let mut n = 0;
        while n < 2 {
            total += step unit(n);
            n += 1;
        }
        let last = loop {
            let nine = step unit(9);
            break nine;
        };
        Ok(total + last)
    }

    /// No parameters, no steps.
    pub workflow nothing() -> Result<(), trailhead::Error> {
        Ok(())
    }

    /// Signals (with a typed sender), a fan-out and a constant pattern.
    pub workflow waits(xs: Vec<u32>) -> Result<u32, trailhead::Error> {
        let go: u32 = signal "go ahead";
        let late: Option<u32> = signal "go ahead".timeout(1ms);
        let each = parallel(limit = 2) for x in &xs {
            step unit(*x)
        };
        let total = match go {
            LIMIT => 0,
            other => other + each.iter().sum::<u32>() + late.unwrap_or(0),
        };
        Ok(total)
    }
}

const LIMIT: u32 = 1_000;

#[tokio::test]
async fn the_linted_workflows_run() {
    let engine = Engine::new();
    let total = everything::run(&engine, vec![0, 1, 2], true).await.unwrap();
    assert_eq!(total, 1 + 3 + 4 + 1 + 2 + 1 + 9);
    nothing::run(&engine).await.unwrap();
    let handle = engine.start(waits, vec![1, 2]).await.unwrap();
    waits::signal_go_ahead(&engine, handle.id(), 5)
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), 5 + 1 + 2);
}

/// `cron!`'s expansion, under the same lints.
#[test]
fn the_linted_cron_expands() {
    let schedule: trailhead::Schedule = trailhead::cron!("*/5 * * * *");
    assert_eq!(schedule.cron_expression(), Some("*/5 * * * *"));
}
