//! Named resources across a fleet on PostgreSQL: the limit holds for all the
//! workers together, each place is left when its attempt ends (or is
//! dropped, its run cancelled), and a closed worker's places go to the
//! others.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use trailhead::store::Store;
use trailhead::{Engine, PgStore, RunId, StepKey, workflow};

/// Attempts of `pay` running now, on every engine of the test process.
static PAYING: AtomicUsize = AtomicUsize::new(0);
/// The most that ever ran at once.
static MOST_PAYING: AtomicUsize = AtomicUsize::new(0);

async fn pay(i: u64) -> Result<u64, std::io::Error> {
    let now = PAYING.fetch_add(1, Ordering::SeqCst) + 1;
    MOST_PAYING.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(20)).await;
    PAYING.fetch_sub(1, Ordering::SeqCst);
    Ok(i * 10)
}

/// Holds its place until the test ends.
async fn hang(_: u64) -> Result<u64, std::io::Error> {
    std::future::pending().await
}

async fn quick(i: u64) -> Result<u64, std::io::Error> {
    Ok(i)
}

workflow! {
    workflow pay_some(n: u64) -> Result<Vec<u64>, trailhead::Error> {
        let paid = parallel for i in 0..n {
            step pay(i).resource("payments")
        };
        Ok(paid)
    }

    workflow hang_on(x: u64) -> Result<u64, trailhead::Error> {
        let y = step hang(x).resource("ledger");
        Ok(y)
    }

    workflow post(x: u64) -> Result<u64, trailhead::Error> {
        let y = step quick(x).resource("ledger");
        Ok(y)
    }
}

async fn store_in(schema: &str) -> PgStore {
    PgStore::builder(trailhead_test_postgres::url())
        .schema(schema)
        .lease(Duration::from_secs(30))
        .connect()
        .await
        .unwrap()
}

fn engine_on(store: &PgStore, resource: &str, limit: usize) -> Engine {
    Engine::builder()
        .store(store.clone())
        .resource(resource, limit)
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resources_limit_holds_for_all_workers_together() {
    let schema = trailhead_test_postgres::unique_schema("fleet_resources");
    let mut stores = Vec::new();
    for _ in 0..3 {
        stores.push(store_in(&schema).await);
    }
    let engines: Vec<Engine> = stores
        .iter()
        .map(|store| engine_on(store, "payments", 2))
        .collect();
    let mut handles = Vec::new();
    for engine in &engines {
        for _ in 0..4 {
            handles.push(engine.start(pay_some, 3).await.unwrap());
        }
    }
    let ended = async {
        for handle in handles {
            assert_eq!(handle.result().await.unwrap(), [0, 10, 20]);
        }
    };
    tokio::time::timeout(Duration::from_secs(60), ended)
        .await
        .expect("every run ends");
    // 3 workers × 4 runs × 3 attempts wanted 36 places; each worker alone
    // would have allowed 2, the fleet allowed 2 in all.
    let most = MOST_PAYING.load(Ordering::SeqCst);
    assert!((1..=2).contains(&most), "{most} attempts ran at once");
    // Every attempt left its place: both are free.
    let places = stores[0].resources().expect("PgStore keeps places");
    for _ in 0..2 {
        let taken = places
            .acquire_place(
                "payments",
                2,
                &RunId::new("check"),
                &StepKey::new("check", &[]),
            )
            .await
            .unwrap();
        assert!(taken.is_some(), "a place was left held");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_workers_places_go_to_the_others() {
    let schema = trailhead_test_postgres::unique_schema("fleet_resources");
    let gone = store_in(&schema).await;
    let live = store_in(&schema).await;
    let first = engine_on(&gone, "ledger", 1);
    let second = engine_on(&live, "ledger", 1);
    let hanging = first.start(hang_on, 1).await.unwrap();
    let places = live.resources().expect("PgStore keeps places");
    let probe = || {
        places.acquire_place(
            "ledger",
            1,
            &RunId::new("probe"),
            &StepKey::new("probe", &[]),
        )
    };
    // The first worker's attempt holds the only place.
    let held = async {
        while let Some(place) = probe().await.unwrap() {
            places.release_place(&place).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), held)
        .await
        .expect("the hanging attempt takes the place");
    let posted = second.start(post, 7).await.unwrap();
    let mut result = Box::pin(posted.result());
    assert!(
        tokio::time::timeout(Duration::from_millis(200), result.as_mut())
            .await
            .is_err(),
        "the second worker waits for the place"
    );
    gone.close().await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(20), result).await;
    assert_eq!(ended.expect("the place came free").unwrap(), 7);
    drop(hanging);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_attempt_leaves_its_place() {
    let schema = trailhead_test_postgres::unique_schema("fleet_resources");
    let store = store_in(&schema).await;
    let other = store_in(&schema).await;
    let engine = engine_on(&store, "ledger", 1);
    let hanging = engine.start(hang_on, 2).await.unwrap();
    let places = other.resources().expect("PgStore keeps places");
    let probe = || {
        places.acquire_place(
            "ledger",
            1,
            &RunId::new("probe"),
            &StepKey::new("probe", &[]),
        )
    };
    let held = async {
        while let Some(place) = probe().await.unwrap() {
            places.release_place(&place).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), held)
        .await
        .expect("the hanging attempt takes the place");
    hanging.cancel();
    // The attempt was dropped: its place is released from a task of its own.
    let freed = async {
        while probe().await.unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), freed)
        .await
        .expect("the cancelled attempt's place came free");
}
