use std::sync::Arc;
use std::time::Duration;

use tokio::time::advance;

use super::{Breaker, BreakerConfig, BreakerState, BreakerTransition, Permit};
use BreakerState::{Closed, HalfOpen, Open};

const OPENED: BreakerTransition = BreakerTransition {
    from: Closed,
    to: Open,
};
const HALF_OPENED: BreakerTransition = BreakerTransition {
    from: Open,
    to: HalfOpen,
};
const CLOSED: BreakerTransition = BreakerTransition {
    from: HalfOpen,
    to: Closed,
};
const REOPENED: BreakerTransition = BreakerTransition {
    from: HalfOpen,
    to: Open,
};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// 3 failures within 10 s open it for 30 s; 2 trial calls.
fn breaker() -> Breaker {
    let config = BreakerConfig::new(3, secs(10))
        .with_open_for(secs(30))
        .with_half_open_calls(2);
    Breaker::new("payments", config)
}

/// Admits a call that must go through without a transition.
fn admit(breaker: &Breaker) -> Permit<'_> {
    let (permit, transition) = breaker.admit();
    assert_eq!(transition, None);
    permit.expect("the call is admitted")
}

/// Admits a call that half-opens the breaker.
fn admit_half_opening(breaker: &Breaker) -> Permit<'_> {
    let (permit, transition) = breaker.admit();
    assert_eq!(transition, Some(HALF_OPENED));
    permit.expect("the first trial is admitted")
}

fn fail(breaker: &Breaker) -> Option<BreakerTransition> {
    admit(breaker).failed()
}

/// Opens a fresh breaker with three failures.
fn open(breaker: &Breaker) {
    assert_eq!(fail(breaker), None);
    assert_eq!(fail(breaker), None);
    assert_eq!(fail(breaker), Some(OPENED));
}

#[tokio::test(start_paused = true)]
async fn threshold_failures_within_the_window_open_it() {
    let breaker = breaker();
    assert_eq!(fail(&breaker), None);
    advance(secs(4)).await;
    assert_eq!(fail(&breaker), None);
    assert_eq!(breaker.state(), Closed);
    advance(secs(5)).await;
    assert_eq!(fail(&breaker), Some(OPENED));
    assert_eq!(breaker.state(), Open);
    assert!(breaker.admit().0.is_err());
}

#[tokio::test(start_paused = true)]
async fn failures_spread_beyond_the_window_do_not_open_it() {
    let breaker = breaker();
    for _ in 0..10 {
        assert_eq!(fail(&breaker), None);
        // Never more than two failures less than 10 s old.
        advance(secs(5)).await;
    }
    assert_eq!(breaker.state(), Closed);
    // A failure exactly `window` old no longer counts.
    assert_eq!(fail(&breaker), None);
    advance(secs(4)).await;
    assert_eq!(fail(&breaker), Some(OPENED));
}

#[tokio::test(start_paused = true)]
async fn successes_while_closed_do_not_clear_failures() {
    let breaker = breaker();
    assert_eq!(fail(&breaker), None);
    assert_eq!(fail(&breaker), None);
    for _ in 0..5 {
        assert_eq!(admit(&breaker).succeeded(), None);
    }
    assert_eq!(fail(&breaker), Some(OPENED));
}

#[tokio::test(start_paused = true)]
async fn open_rejects_with_retry_after_until_open_for_elapses() {
    let breaker = breaker();
    open(&breaker);
    let (rejected, transition) = breaker.admit();
    assert_eq!(rejected.unwrap_err().retry_after, Some(secs(30)));
    assert_eq!(transition, None);

    advance(secs(29)).await;
    assert_eq!(breaker.state(), Open);
    let (rejected, transition) = breaker.admit();
    assert_eq!(rejected.unwrap_err().retry_after, Some(secs(1)));
    assert_eq!(transition, None);

    advance(secs(1)).await;
    assert_eq!(breaker.state(), HalfOpen);
    let _trial = admit_half_opening(&breaker);
    assert_eq!(breaker.state(), HalfOpen);
}

#[tokio::test(start_paused = true)]
async fn half_open_admits_exactly_half_open_calls_trials_at_once() {
    let breaker = breaker();
    open(&breaker);
    advance(secs(30)).await;
    let first = admit_half_opening(&breaker);
    let second = admit(&breaker);
    for _ in 0..3 {
        let (rejected, transition) = breaker.admit();
        assert_eq!(rejected.unwrap_err().retry_after, None);
        assert_eq!(transition, None);
    }
    // A succeeded trial does not make room for another: two trials decide.
    assert_eq!(first.succeeded(), None);
    assert!(breaker.admit().0.is_err());
    assert_eq!(breaker.state(), HalfOpen);
    assert_eq!(second.succeeded(), Some(CLOSED));
}

#[tokio::test(start_paused = true)]
async fn all_trials_succeeding_close_it_with_no_failures_on_record() {
    // A window long enough that the failures that opened it would still count.
    let config = BreakerConfig::new(3, secs(3600)).with_half_open_calls(2);
    let breaker = Breaker::new("payments", config);
    open(&breaker);
    advance(secs(30)).await;
    let first = admit_half_opening(&breaker);
    let second = admit(&breaker);
    assert_eq!(first.succeeded(), None);
    assert_eq!(breaker.state(), HalfOpen);
    assert_eq!(second.succeeded(), Some(CLOSED));
    assert_eq!(breaker.state(), Closed);
    assert_eq!(fail(&breaker), None);
    assert_eq!(fail(&breaker), None);
    assert_eq!(breaker.state(), Closed);
    assert_eq!(fail(&breaker), Some(OPENED));
}

#[tokio::test(start_paused = true)]
async fn a_failed_trial_opens_it_again_for_a_fresh_open_for() {
    let breaker = breaker();
    open(&breaker);
    advance(secs(30)).await;
    let first = admit_half_opening(&breaker);
    let second = admit(&breaker);
    assert_eq!(first.succeeded(), None);
    advance(secs(7)).await;
    assert_eq!(second.failed(), Some(REOPENED));
    assert_eq!(breaker.state(), Open);
    let (rejected, _) = breaker.admit();
    assert_eq!(rejected.unwrap_err().retry_after, Some(secs(30)));
    advance(secs(29)).await;
    assert!(breaker.admit().0.is_err());
    advance(secs(1)).await;
    drop(admit_half_opening(&breaker));
}

#[tokio::test(start_paused = true)]
async fn full_walk_reports_every_transition_exactly_once() {
    let breaker = breaker();
    let mut seen = Vec::new();
    let mut note = |transition: Option<BreakerTransition>| seen.extend(transition);

    for _ in 0..3 {
        note(fail(&breaker));
    }
    for _ in 0..3 {
        let (rejected, transition) = breaker.admit();
        assert!(rejected.is_err());
        note(transition);
    }
    advance(secs(30)).await;
    let (first, transition) = breaker.admit();
    note(transition);
    let (second, transition) = breaker.admit();
    note(transition);
    let (third, transition) = breaker.admit();
    assert!(third.is_err());
    note(transition);
    note(first.unwrap().succeeded());
    note(second.unwrap().succeeded());
    assert_eq!(breaker.state(), Closed);
    for _ in 0..3 {
        note(fail(&breaker));
    }
    assert_eq!(breaker.state(), Open);

    assert_eq!(seen, [OPENED, HALF_OPENED, CLOSED, OPENED]);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_trial_frees_its_slot_and_records_nothing() {
    let breaker = breaker();
    open(&breaker);
    advance(secs(30)).await;
    let first = admit_half_opening(&breaker);
    let second = admit(&breaker);
    assert!(breaker.admit().0.is_err());
    drop(second);
    let third = admit(&breaker);
    assert!(breaker.admit().0.is_err());
    // The dropped trial counted neither way: two more verdicts decide.
    assert_eq!(first.succeeded(), None);
    assert_eq!(breaker.state(), HalfOpen);
    assert_eq!(third.succeeded(), Some(CLOSED));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_permit_while_closed_records_nothing() {
    let breaker = breaker();
    assert_eq!(fail(&breaker), None);
    assert_eq!(fail(&breaker), None);
    for _ in 0..5 {
        drop(admit(&breaker));
    }
    assert_eq!(breaker.state(), Closed);
    assert_eq!(fail(&breaker), Some(OPENED));
}

#[tokio::test(start_paused = true)]
async fn a_stale_permits_verdict_is_ignored() {
    let breaker = breaker();
    // Admitted while closed, they end after the breaker opened.
    let [late, later, latest] = [(); 3].map(|()| admit(&breaker));
    open(&breaker);
    assert_eq!(late.failed(), None);

    // Half-open: a failure from the closed era must not reopen it, nor a
    // success count as a trial or free a trial slot.
    advance(secs(30)).await;
    let first = admit_half_opening(&breaker);
    let second = admit(&breaker);
    assert_eq!(later.succeeded(), None);
    assert!(breaker.admit().0.is_err());
    assert_eq!(breaker.state(), HalfOpen);

    // A trial that ends after another trial reopened the breaker.
    assert_eq!(first.failed(), Some(REOPENED));
    assert_eq!(second.succeeded(), None);
    assert_eq!(breaker.state(), Open);

    // Closed again: a failure from the first closed era does not count.
    advance(secs(30)).await;
    assert_eq!(admit_half_opening(&breaker).succeeded(), None);
    assert_eq!(admit(&breaker).succeeded(), Some(CLOSED));
    assert_eq!(latest.failed(), None);
    assert_eq!(fail(&breaker), None);
    assert_eq!(fail(&breaker), None);
    assert_eq!(breaker.state(), Closed);
    assert_eq!(fail(&breaker), Some(OPENED));
}

#[tokio::test(start_paused = true)]
async fn tasks_sharing_it_have_late_verdicts_ignored() {
    let breaker = Arc::new(breaker());
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let breaker = Arc::clone(&breaker);
            tokio::spawn(async move {
                let permit = admit(&breaker);
                // All five are admitted before any fails.
                tokio::task::yield_now().await;
                permit.failed()
            })
        })
        .collect();
    let mut transitions = Vec::new();
    for task in tasks {
        transitions.extend(task.await.unwrap());
    }
    // The third failure opened it; the last two were admitted while closed
    // and ended while open.
    assert_eq!(transitions, [OPENED]);
    assert_eq!(breaker.state(), Open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tasks_on_many_threads_count_all_their_failures() {
    const TASKS: u32 = 8;
    const FAILURES_EACH: u32 = 25;
    let config = BreakerConfig::new(TASKS * FAILURES_EACH, secs(3600));
    let breaker = Arc::new(Breaker::new("shared", config));
    let start = Arc::new(tokio::sync::Barrier::new(TASKS as usize));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (breaker, start) = (Arc::clone(&breaker), Arc::clone(&start));
            tokio::spawn(async move {
                start.wait().await;
                let mut transitions = Vec::new();
                for _ in 0..FAILURES_EACH {
                    let (permit, transition) = breaker.admit();
                    transitions.extend(transition);
                    transitions.extend(permit.expect("closed until the last failure").failed());
                }
                transitions
            })
        })
        .collect();
    let mut transitions = Vec::new();
    for task in tasks {
        transitions.extend(task.await.unwrap());
    }
    // Opening needs every single failure: one lost update and it stays closed.
    assert_eq!(transitions, [OPENED]);
    assert_eq!(breaker.state(), Open);
}

#[test]
fn config_defaults_and_zero_counts() {
    let config = BreakerConfig::default();
    assert_eq!(config, BreakerConfig::DEFAULT);
    assert_eq!(
        (
            config.failure_threshold,
            config.window,
            config.open_for,
            config.half_open_calls
        ),
        (5, secs(60), secs(30), 1)
    );
    let zeros = BreakerConfig::new(0, secs(1)).with_half_open_calls(0);
    assert_eq!((zeros.failure_threshold, zeros.half_open_calls), (1, 1));
    let literal = BreakerConfig {
        failure_threshold: 0,
        window: secs(1),
        open_for: secs(1),
        half_open_calls: 0,
    };
    let breaker = Breaker::new("literal", literal);
    assert_eq!(breaker.name(), "literal");
    assert_eq!(breaker.config(), zeros.with_open_for(secs(1)));
}

#[test]
fn states_display_in_lowercase() {
    let shown: Vec<String> = [Closed, Open, HalfOpen]
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(shown, ["closed", "open", "half-open"]);
}
