//! `patterns::poll`: polls on a paused clock, with exact waits, a deadline
//! and a stop while asleep.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use trailhead::patterns::poll::{Check, Every, PollError, retry_until};
use trailhead::{Engine, Error, RunError, RunId, RunStatus, Workflow};

use crate::support::{journal_keys, step_started};

/// When each probe was asked, by probe name.
static ASKED: Mutex<Option<HashMap<String, Vec<Instant>>>> = Mutex::new(None);

/// Done at its `ready_at`-th poll; fails instead at its `fails_at`-th.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Probe {
    name: String,
    ready_at: u32,
    fails_at: Option<u32>,
}

impl Probe {
    fn new(name: &str, ready_at: u32) -> Self {
        Self {
            name: name.to_owned(),
            ready_at,
            fails_at: None,
        }
    }

    /// The times it was asked, as offsets from the first.
    fn asked(&self) -> Vec<Duration> {
        let asked = ASKED.lock().unwrap();
        let times = asked
            .as_ref()
            .and_then(|asked| asked.get(&self.name))
            .cloned()
            .unwrap_or_default();
        times.iter().map(|time| *time - times[0]).collect()
    }
}

impl Check for Probe {
    type Output = String;

    async fn check(&self) -> Result<Option<String>, Error> {
        let polls = {
            let mut asked = ASKED.lock().unwrap();
            let times = asked
                .get_or_insert_with(HashMap::new)
                .entry(self.name.clone())
                .or_default();
            times.push(Instant::now());
            u32::try_from(times.len()).unwrap()
        };
        if self.fails_at == Some(polls) {
            return Err(Error::msg(format!("{} is unreachable", self.name)));
        }
        Ok((polls >= self.ready_at).then(|| format!("{} ready", self.name)))
    }
}

fn secs(seconds: &[u64]) -> Vec<Duration> {
    seconds.iter().copied().map(Duration::from_secs).collect()
}

const DOUBLING: Every = Every::exponential(Duration::from_secs(1), Duration::from_secs(4));

#[tokio::test(start_paused = true)]
async fn done_at_the_fourth_poll_after_waits_of_one_two_and_four_seconds() {
    let engine = Engine::new();
    let probe = Probe::new("fourth", 4);
    let handle = engine
        .start(
            retry_until::<Probe>::default(),
            (probe.clone(), DOUBLING, Duration::from_secs(60)),
        )
        .await
        .unwrap();
    let run = handle.id().clone();
    assert_eq!(handle.result().await.unwrap(), "fourth ready");
    assert_eq!(probe.asked(), secs(&[0, 1, 3, 7]));
    assert_eq!(
        journal_keys(&engine, &run).await,
        [
            "check[0]", "sleep[0]", "check[1]", "sleep[1]", "check[2]", "sleep[2]", "check[3]"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_missed_deadline_is_an_error_naming_the_polls_made() {
    let engine = Engine::new();
    let probe = Probe::new("never", u32::MAX);
    // Waits of 1, 2, 4, 4 s: the fourth would bring the total to 11 s.
    let result = retry_until::run(&engine, probe.clone(), DOUBLING, Duration::from_secs(10)).await;
    let Err(RunError::Failed { error, .. }) = result else {
        panic!("the deadline passed: {result:?}");
    };
    assert!(
        matches!(
            error,
            PollError::DeadlinePassed { polls: 4, waited, next, deadline }
                if waited == Duration::from_secs(7)
                    && next == Duration::from_secs(4)
                    && deadline == Duration::from_secs(10)
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "not done after 4 polls and 7s of waiting: the next wait (4s) would pass the deadline of 10s"
    );
    assert_eq!(probe.asked(), secs(&[0, 1, 3, 7]));
}

#[tokio::test(start_paused = true)]
async fn a_failing_check_fails_the_polling_at_its_poll() {
    let engine = Engine::new();
    let probe = Probe {
        fails_at: Some(2),
        ..Probe::new("flaky", 5)
    };
    let every = Every::fixed(Duration::from_secs(3));
    let result = retry_until::run(&engine, probe.clone(), every, Duration::from_secs(60)).await;
    let Err(RunError::Failed {
        error: PollError::Check(error),
        ..
    }) = result
    else {
        panic!("the second check failed: {result:?}");
    };
    assert_eq!(error.step.to_string(), "check[1]");
    assert_eq!(error.attempts, 1);
    assert_eq!(probe.asked(), secs(&[0, 3]));
}

#[test]
fn the_chart_shows_the_check_and_the_wait() {
    let chart = <retry_until<Probe> as Workflow>::mermaid();
    super::chapter::assert_charted("retry_until", <retry_until<Probe> as Workflow>::MERMAID);
    assert!(
        chart.starts_with("---\ntitle: \"retry_until<behaviour::patterns::poll::Probe>\"\n---\n"),
        "{chart}"
    );
    assert!(chart.contains("check"), "{chart}");
    assert!(chart.contains("sleep"), "{chart}");
}

#[tokio::test(start_paused = true)]
async fn a_run_stopped_while_asleep_resumes_without_asking_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let run = RunId::new("poll-durable");
    let probe = Probe::new("durable", 4);
    {
        let engine = Engine::open(&path).unwrap();
        let mut events = engine.subscribe();
        engine
            .start_with_id(
                run.clone(),
                retry_until::<Probe>::default(),
                (probe.clone(), DOUBLING, Duration::from_secs(60)),
            )
            .await
            .unwrap();
        step_started(&mut events, "sleep[1]").await;
        assert_eq!(
            engine.shutdown(Duration::ZERO).await,
            std::slice::from_ref(&run)
        );
        assert_eq!(probe.asked().len(), 2, "two polls before the stop");
    }
    let engine = Engine::open(&path).unwrap();
    assert_eq!(
        engine.run_record(&run).await.unwrap().unwrap().status(),
        RunStatus::Running
    );
    let handles = engine
        .resume(retry_until::<Probe>::default())
        .await
        .unwrap();
    assert_eq!(handles.len(), 1);
    let handle = handles.into_iter().next().unwrap();
    assert_eq!(handle.result().await.unwrap(), "durable ready");
    assert_eq!(probe.asked().len(), 4, "polls 1 and 2 were not asked again");
    assert_eq!(
        journal_keys(&engine, &run).await,
        [
            "check[0]", "sleep[0]", "check[1]", "sleep[1]", "check[2]", "sleep[2]", "check[3]"
        ]
    );
}
