//! Per-step-site statistics across a workflow's runs: counts and rates
//! exactly, durations as bounds the paused clock guarantees.

use std::time::{Duration, SystemTime};

use trailhead::stats::{self, StatsOptions};
use trailhead::{Engine, Error, workflow};

async fn nap(ms: u64) -> Result<u64, Error> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(ms)
}

/// Fails its first attempt in even cases.
async fn shaky(case: u32) -> Result<u32, Error> {
    let attempt = trailhead::current_step().expect("in a step").attempt;
    if case.is_multiple_of(2) && attempt == 1 {
        return Err(Error::msg("not yet"));
    }
    Ok(case)
}

/// Fails for good in case 3 (once the naps are done).
async fn settle(case: u32, _slept: u64) -> Result<u32, Error> {
    if case == 3 {
        return Err(Error::msg("cannot settle case 3"));
    }
    Ok(case)
}

workflow! {
    /// Three naps of 10 ms, a step retried in even cases, one that fails in
    /// case 3.
    workflow profiled(case: u32) -> Result<u32, Error> {
        let mut slept = 0;
        for _ in 0..3 {
            slept += step nap(10);
        }
        let case = step shaky(case).retry(2, backoff = 1ms);
        let settled = step settle(case, slept);
        Ok(settled)
    }
}

#[tokio::test(start_paused = true)]
async fn each_site_has_its_count_rates_and_percentiles_across_runs() {
    let engine = Engine::new();
    for case in 0..4 {
        let result = engine.run(profiled, case).await;
        assert_eq!(result.is_err(), case == 3, "case {case}: {result:?}");
    }
    let store = &**engine.store();
    let stats = stats::of_workflow(store, "profiled", &StatsOptions::new())
        .await
        .unwrap();
    assert_eq!(stats.workflow, "profiled");
    assert_eq!(stats.runs, 4);

    let nap = stats.site("nap").expect("nap ran");
    assert_eq!(
        (nap.count, nap.attempts, nap.retried, nap.failed),
        (12, 12, 0, 0)
    );
    assert_eq!((nap.retry_rate, nap.failure_rate), (0.0, 0.0));
    assert!(nap.p50 >= Duration::from_millis(10), "{nap:?}");
    assert!(nap.p50 <= nap.p95 && nap.p95 <= nap.p99 && nap.p99 <= nap.max);
    assert!(nap.total >= Duration::from_millis(120), "{nap:?}");
    // The naps take the most time in total: listed first.
    assert_eq!(stats.sites[0].site, "nap");

    let shaky = stats.site("shaky").expect("shaky ran");
    assert_eq!(
        (shaky.count, shaky.attempts, shaky.retried, shaky.failed),
        (4, 6, 2, 0)
    );
    assert_eq!(shaky.retry_rate, 0.5);
    // A retried run's step spans its backoff (1 ms): the slowest is at least that.
    assert!(shaky.max >= Duration::from_millis(1), "{shaky:?}");

    let settle = stats.site("settle").expect("settle ran");
    assert_eq!((settle.count, settle.failed), (4, 1));
    assert_eq!(settle.failure_rate, 0.25);
    assert_eq!(settle.kind, "step");
    assert_eq!(stats.sites.len(), 3);

    // For `--json`: durations in whole microseconds.
    let json = serde_json::to_value(&stats).unwrap();
    assert_eq!(json["sites"][0]["site"], "nap");
    assert!(
        json["sites"][0]["p50_us"].as_u64().unwrap() >= 10_000,
        "{json}"
    );
    assert_eq!(json["sites"][0]["count"], 12);
    let back: stats::WorkflowStats = serde_json::from_value(json).unwrap();
    assert_eq!(back.site("nap").unwrap().count, 12);
}

#[tokio::test(start_paused = true)]
async fn the_runs_read_are_bounded_by_a_limit_and_a_time() {
    let engine = Engine::new();
    for case in [1, 5, 7] {
        engine.run(profiled, case).await.unwrap();
    }
    let store = &**engine.store();
    let newest_two = stats::of_workflow(store, "profiled", &StatsOptions::new().with_limit(2))
        .await
        .unwrap();
    assert_eq!(newest_two.runs, 2);
    assert_eq!(newest_two.site("nap").unwrap().count, 6);

    let later = SystemTime::now() + Duration::from_secs(3600);
    let none = stats::of_workflow(store, "profiled", &StatsOptions::new().with_since(later))
        .await
        .unwrap();
    assert_eq!((none.runs, none.sites.len()), (0, 0));

    let other = stats::of_workflow(store, "no_such_workflow", &StatsOptions::new())
        .await
        .unwrap();
    assert_eq!(other.runs, 0);
}
