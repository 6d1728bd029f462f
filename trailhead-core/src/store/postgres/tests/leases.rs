//! Leases on PostgreSQL: claims, the fence, heartbeats and expiry.

use std::time::Duration;

use super::*;
use crate::store::{Store, WorkerId};

/// Makes `worker`'s row expired, behind its back (as if it stopped renewing).
async fn expire(schema: &str, worker: &WorkerId) {
    exec(format!(
        "UPDATE {schema}.workers SET expires_at = now() - interval '1 second' WHERE id = '{worker}'"
    ))
    .await;
}

async fn epoch_of(schema: &str, run: &str) -> i64 {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT lease_epoch FROM {schema}.runs WHERE id = '{run}'"
    )))
    .fetch_one(&admin().await)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_owner_keeps_its_run_and_a_dead_one_is_fenced_out() {
    let schema = fresh("fence").await;
    let one = store_in(&schema).await;
    let two = store_in(&schema).await;
    let run = RunId::new("r");
    let first = one.create_run(record("r")).await.unwrap();
    first.record_step(step("a", 1)).await.unwrap();

    match two.open_run(&run).await {
        Err(StoreError::LeaseHeld { run: held, worker }) => {
            assert_eq!((held, &worker), (run.clone(), one.worker()));
        }
        other => panic!("expected the lease held, got {other:?}"),
    }
    // The owner itself opens it again under the same epoch.
    let (_, journal, _) = one.open_run(&run).await.unwrap().unwrap();
    assert_eq!(journal.len(), 1);
    assert_eq!(epoch_of(&schema, "r").await, 1);

    expire(&schema, one.worker()).await;
    let (_, journal, second) = two.open_run(&run).await.unwrap().unwrap();
    assert_eq!(
        journal.len(),
        1,
        "the takeover reads what was journaled before it"
    );
    assert_eq!(epoch_of(&schema, "r").await, 2);

    match first.record_step(step("b", 2)).await {
        Err(StoreError::LeaseLost { run: lost, worker }) => {
            assert_eq!((lost, &worker), (run.clone(), one.worker()));
        }
        other => panic!("expected the lease lost, got {other:?}"),
    }
    assert!(matches!(
        first.finish(completed(1)).await,
        Err(StoreError::LeaseLost { .. })
    ));
    assert!(matches!(
        one.receive_signal(&run, "go", &StepKey::new("w", &[]))
            .await,
        Err(StoreError::LeaseLost { .. })
    ));
    let keys: Vec<String> = two
        .journal(&run)
        .await
        .unwrap()
        .iter()
        .map(|e| e.key.to_string())
        .collect();
    assert_eq!(keys, ["a"], "the fenced-out worker wrote nothing");
    assert_eq!(
        two.run(&run).await.unwrap().unwrap().status(),
        crate::RunStatus::Running
    );

    // The new owner goes on; the steps it writes carry its epoch.
    second.record_step(step("b", 2)).await.unwrap();
    let epochs: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT lease_epoch FROM {schema}.steps WHERE run_id = 'r' ORDER BY seq"
    )))
    .fetch_all(&admin().await)
    .await
    .unwrap();
    assert_eq!(epochs, [1, 2]);
    second.finish(completed(2)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_waits_for_a_step_write_in_flight_and_then_fences_it() {
    // The write holds the run's row FOR SHARE until it commits: a takeover's
    // claim (FOR UPDATE) waits, and reads the journal with the step in it.
    let schema = fresh("fence_race").await;
    let one = store_in(&schema).await;
    let two = store_in(&schema).await;
    let first = one.create_run(record("r")).await.unwrap();
    expire(&schema, one.worker()).await;
    let mut blocker = admin().await.begin().await.unwrap();
    // Hold the share lock a write would take, as if a write were in flight.
    sqlx::query(AssertSqlSafe(format!(
        "SELECT 1 FROM {schema}.runs WHERE id = 'r' FOR SHARE"
    )))
    .execute(&mut *blocker)
    .await
    .unwrap();
    let claim = tokio::spawn(async move {
        two.open_run(&RunId::new("r"))
            .await
            .map(|opened| opened.map(|(_, journal, _)| journal.len()))
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!claim.is_finished(), "the claim waits for the share lock");
    first.record_step(step("a", 1)).await.unwrap();
    blocker.commit().await.unwrap();
    assert_eq!(
        claim.await.unwrap().unwrap(),
        Some(1),
        "the takeover sees the step written before it"
    );
    assert!(matches!(
        first.record_step(step("b", 2)).await,
        Err(StoreError::LeaseLost { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_heartbeat_keeps_a_lease_alive_past_its_length() {
    let schema = fresh("heartbeat").await;
    let one = PgStore::builder(&url())
        .schema(&schema)
        .lease(Duration::from_millis(600))
        .connect()
        .await
        .unwrap();
    let two = PgStore::builder(&url())
        .schema(&schema)
        .lease(Duration::from_millis(100))
        .connect()
        .await
        .unwrap();
    one.create_run(record("r")).await.unwrap();
    let expiries = one.lease_expiries();
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert!(
        matches!(
            two.open_run(&RunId::new("r")).await,
            Err(StoreError::LeaseHeld { .. })
        ),
        "three leases later, the owner is alive"
    );
    assert!(
        !expiries.has_changed().unwrap(),
        "the owner's lease never lapsed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_learns_that_its_lease_expired_behind_its_back() {
    let schema = fresh("expiry_watch").await;
    let one = PgStore::builder(&url())
        .schema(&schema)
        .lease(Duration::from_millis(600))
        .connect()
        .await
        .unwrap();
    let mut expiries = one.lease_expiries();
    assert_eq!(*expiries.borrow_and_update(), 0);
    expire(&schema, one.worker()).await;
    tokio::time::timeout(Duration::from_secs(3), expiries.changed())
        .await
        .expect("the expiry is noticed within a lease")
        .unwrap();
    assert_eq!(*expiries.borrow(), 1);
    // Renewed since: alive again, and not reported twice.
    let alive: bool = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT expires_at > now() FROM {schema}.workers WHERE id = '{}'",
        one.worker()
    )))
    .fetch_one(&admin().await)
    .await
    .unwrap();
    assert!(alive);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(*expiries.borrow(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_or_dropped_worker_leaves_its_runs_to_others_at_once() {
    let schema = fresh("close").await;
    let one = store_in(&schema).await;
    let two = store_in(&schema).await;
    one.create_run(record("r")).await.unwrap();
    one.create_run(record("s")).await.unwrap();
    one.close().await.unwrap();
    assert!(two.open_run(&RunId::new("r")).await.unwrap().is_some());
    assert!(
        matches!(
            one.open_run(&RunId::new("s")).await,
            Err(StoreError::Database { .. })
        ),
        "a closed store claims nothing"
    );

    let three = store_in(&schema).await;
    three.create_run(record("t")).await.unwrap();
    drop(three);
    assert!(
        eventually(Duration::from_secs(3), || async {
            two.open_run(&RunId::new("t")).await.is_ok()
        })
        .await,
        "a dropped store's row is removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_opened_before_a_lapse_is_no_longer_held_after_it() {
    let schema = fresh("lapse_fence").await;
    let one = PgStore::builder(&url())
        .schema(&schema)
        .lease(Duration::from_millis(600))
        .connect()
        .await
        .unwrap();
    let writer = one.create_run(record("r")).await.unwrap();
    assert!(writer.holds_lease(), "a fresh claim is held");
    let mut expiries = one.lease_expiries();
    expire(&schema, one.worker()).await;
    tokio::time::timeout(Duration::from_secs(3), expiries.changed())
        .await
        .expect("the expiry is noticed within a lease")
        .unwrap();
    // The heartbeat renewed the row since, but what was held before the
    // lapse may be running elsewhere now: steps must not start.
    assert!(
        !writer.holds_lease(),
        "a claim from before the lapse is not held"
    );
    let (_, _, again) = one.open_run(&RunId::new("r")).await.unwrap().unwrap();
    assert!(again.holds_lease(), "claimed again after it: held");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_without_a_confirmed_renewal_for_most_of_a_lease_holds_nothing() {
    let schema = fresh("unconfirmed").await;
    let one = PgStore::builder(&url())
        .schema(&schema)
        .lease(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    let writer = one.create_run(record("r")).await.unwrap();
    // As a paused process: no renewal confirmed (the heartbeat stopped).
    one.inner.heartbeat.stop();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!writer.holds_lease());
}
