//! Named resources on PostgreSQL: a worker whose lease expired holds no
//! places, and what `resource_places` keeps of a holder.

use super::*;
use crate::store::{FleetResources, Place, Store, WorkerId};

async fn take(store: &PgStore, limit: usize) -> Option<Place> {
    store
        .acquire_place(
            "payments",
            limit,
            &RunId::new("r-7"),
            &StepKey::new("charge", &[]),
        )
        .await
        .unwrap()
}

/// Makes `worker`'s row expired, behind its back (as if it stopped renewing;
/// its heartbeat renews it only a third of a lease later).
async fn expire(schema: &str, worker: &WorkerId) {
    exec(format!(
        "UPDATE {schema}.workers SET expires_at = now() - interval '1 second' WHERE id = '{worker}'"
    ))
    .await;
}

async fn holders(schema: &str) -> Vec<(i32, String, String, String)> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT place, worker, run_id, step FROM {schema}.resource_places
         WHERE resource = 'payments' ORDER BY place"
    )))
    .fetch_all(&admin().await)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_workers_places_go_to_the_next_that_asks() {
    let schema = fresh("resource_expiry").await;
    let one = store_in(&schema).await;
    let two = store_in(&schema).await;
    let first = take(&one, 2).await.expect("a free place");
    assert!(take(&one, 2).await.is_some());
    assert_eq!(take(&two, 2).await, None, "both held by a live worker");
    expire(&schema, one.worker()).await;
    let taken = take(&two, 2).await.expect("the dead worker's place");
    assert!(take(&two, 2).await.is_some());
    assert_eq!(take(&two, 2).await, None);
    let held = holders(&schema).await;
    assert_eq!(held.len(), 2, "{held:?}");
    assert!(
        held.iter()
            .all(|(_, worker, _, _)| worker == two.worker().as_str()),
        "{held:?}"
    );
    // The first worker's late release frees nothing of the second's.
    one.release_place(&first).await.unwrap();
    assert_eq!(holders(&schema).await.len(), 2);
    two.release_place(&taken).await.unwrap();
    assert_eq!(holders(&schema).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_place_names_its_worker_run_and_step() {
    let schema = fresh("resource_holder").await;
    let one = store_in(&schema).await;
    let place = take(&one, 3).await.unwrap();
    assert_eq!((place.resource(), place.number()), ("payments", 0));
    assert_eq!(
        holders(&schema).await,
        [(
            0,
            one.worker().to_string(),
            "r-7".to_owned(),
            "charge".to_owned()
        )]
    );
    assert!(one.resources().is_some(), "PgStore keeps places");
}
