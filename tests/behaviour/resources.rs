//! Named resource limits: at most N attempts of steps that use resource R run at
//! once, across every run of the engine.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use trailhead::{Engine, RunError, StepFailure, workflow};

static RUNNING: AtomicUsize = AtomicUsize::new(0);
static MOST: AtomicUsize = AtomicUsize::new(0);

async fn call_payments(i: u64) -> Result<u64, std::io::Error> {
    let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
    MOST.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    RUNNING.fetch_sub(1, Ordering::SeqCst);
    Ok(i)
}

async fn free(i: u64) -> Result<u64, std::io::Error> {
    Ok(i)
}

workflow! {
    workflow pay_many(n: u64) -> Result<Vec<u64>, trailhead::Error> {
        let paid = parallel for i in 0..n {
            step call_payments(i).resource("payments")
        };
        Ok(paid)
    }

    workflow unknown_resource() -> Result<u64, trailhead::Error> {
        let x = step free(1).resource("nowhere");
        Ok(x)
    }
}

#[tokio::test(start_paused = true)]
async fn concurrent_runs_share_one_limit() {
    let engine = Engine::builder().resource("payments", 3).build();
    let mut handles = Vec::new();
    for _ in 0..4 {
        handles.push(engine.start(pay_many, 5).await.unwrap());
    }
    for handle in handles {
        assert_eq!(handle.result().await.unwrap(), vec![0, 1, 2, 3, 4]);
    }
    // 4 runs × 5 items wanted 20 places at once; the resource allowed 3.
    assert_eq!(MOST.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_step_naming_an_unknown_resource_fails_with_a_typed_error() {
    let engine = Engine::new();
    let error = unknown_resource::run(&engine).await.unwrap_err();
    let RunError::Failed { error, .. } = error else {
        panic!("expected the step's failure, got {error}");
    };
    let step_error = error
        .into_inner()
        .downcast::<trailhead::StepError<std::io::Error>>()
        .expect("a step error");
    assert!(matches!(
        step_error.failure,
        StepFailure::UnknownResource("nowhere")
    ));
    assert_eq!(step_error.step.to_string(), "free");
}
