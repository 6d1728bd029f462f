//! `trailhead runs` on a PostgreSQL store, by URL and schema.

use trailhead::store::PgStore;
use trailhead::{Engine, RunId};

use crate::support::{self, code, ids, json, stderr, trailhead};

#[tokio::test(flavor = "multi_thread")]
async fn runs_are_listed_from_a_postgres_url() {
    let url = trailhead_test_postgres::url();
    let schema = trailhead_test_postgres::unique_schema("cli");
    let store = PgStore::builder(url)
        .schema(&schema)
        .connect()
        .await
        .unwrap();
    let engine = Engine::builder().store(store.clone()).build();
    for (id, item) in [("pg-1", "book"), ("pg-2", "broken")] {
        let handle = engine
            .start_with_id(RunId::new(id), support::buy, item.to_owned())
            .await
            .unwrap();
        let _ = handle.result().await;
    }
    let listed = trailhead(&["--store", url, "--schema", &schema, "runs", "--json"]);
    let runs = json(&listed);
    assert_eq!(ids(&runs), ["pg-2", "pg-1"]);
    assert_eq!(runs[0]["status"], "failed");
    assert!(runs[0]["error"].as_str().unwrap().contains("card declined"));
    let failed = trailhead(&[
        "--store", url, "--schema", &schema, "runs", "--status", "failed", "--json",
    ]);
    assert_eq!(ids(&json(&failed)), ["pg-2"]);

    // A schema that holds no store is refused, not created.
    let other = trailhead_test_postgres::unique_schema("cli_none");
    let refused = trailhead(&["--store", url, "--schema", &other, "runs"]);
    assert_eq!(code(&refused), 4, "{}", stderr(&refused));
    assert!(stderr(&refused).contains(&other), "{}", stderr(&refused));
    store.close().await.unwrap();
}
