//! Connecting: migrations, refusals, and the typed errors of connecting.

use std::time::Duration;

use sqlx::Row;

use super::*;
use crate::store::Store;
use crate::store::postgres::migrate::VERSION;

async fn versions(schema: &str) -> Vec<i64> {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT version FROM {schema}.trailhead_schema ORDER BY version"
    )))
    .fetch_all(&admin().await)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_fresh_schema_is_created_and_migrated_once_and_reconnecting_changes_nothing() {
    let schema = fresh("migrate_fresh").await;
    let store = store_in(&schema).await;
    let expected: Vec<i64> = (1..=VERSION).collect();
    assert_eq!(versions(&schema).await, expected);
    store.create_run(record("r")).await.unwrap();
    drop(store);
    let again = store_in(&schema).await;
    assert_eq!(versions(&schema).await, expected, "no migration ran again");
    assert!(
        again.run(&RunId::new("r")).await.unwrap().is_some(),
        "the data stayed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_workers_connecting_at_once_migrate_once() {
    let schema = fresh("migrate_concurrent").await;
    let connects = (0..8).map(|_| {
        let schema = schema.clone();
        tokio::spawn(async move { PgStore::builder(&url()).schema(schema).connect().await })
    });
    for connected in futures::future::join_all(connects).await {
        connected.unwrap().expect("every worker connects");
    }
    assert_eq!(versions(&schema).await, (1..=VERSION).collect::<Vec<_>>());
    let workers: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM {schema}.workers"
    )))
    .fetch_one(&admin().await)
    .await
    .unwrap();
    assert!(workers <= 8, "each store registered one worker at most");
}

#[tokio::test]
async fn a_store_from_a_newer_trailhead_is_refused() {
    let schema = fresh("migrate_newer").await;
    drop(store_in(&schema).await);
    exec(format!(
        "INSERT INTO {schema}.trailhead_schema (version) VALUES (99)"
    ))
    .await;
    let error = PgStore::builder(&url())
        .schema(&schema)
        .connect()
        .await
        .unwrap_err();
    assert_eq!(
        problem(&error),
        &DatabaseProblem::NewerSchema {
            found: 99,
            supported: VERSION
        }
    );
}

#[tokio::test]
async fn a_schema_of_another_application_is_refused_and_left_untouched() {
    let schema = fresh("migrate_foreign").await;
    exec(format!(
        "CREATE SCHEMA {schema}; CREATE TABLE {schema}.runs (id int, note text);
         INSERT INTO {schema}.runs VALUES (7, 'theirs')"
    ))
    .await;
    let error = PgStore::builder(&url())
        .schema(&schema)
        .connect()
        .await
        .unwrap_err();
    assert_eq!(problem(&error), &DatabaseProblem::NotATrailheadStore);
    assert!(
        error.to_string().contains("the schema holds tables"),
        "{error}"
    );
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1",
    )
    .bind(&schema)
    .fetch_all(&admin().await)
    .await
    .unwrap();
    assert_eq!(tables, ["runs"], "nothing was added");
    let row = sqlx::query(AssertSqlSafe(format!("SELECT id, note FROM {schema}.runs")))
        .fetch_one(&admin().await)
        .await
        .unwrap();
    assert_eq!(
        (row.get::<i32, _>(0), row.get::<String, _>(1)),
        (7, "theirs".to_owned())
    );
}

#[tokio::test]
async fn a_bad_schema_name_is_refused_before_anything_is_created() {
    let error = PgStore::builder(&url())
        .schema("h_pg_Bad; DROP")
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(problem(&error), DatabaseProblem::InvalidSchemaName { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_connection_lost_and_the_password_is_never_shown() {
    let error = PgStore::builder("postgres://postgres:sekrit@127.0.0.1:1/postgres")
        .schema("h_pg_unreachable")
        .acquire_timeout(Duration::from_secs(2))
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(problem(&error), DatabaseProblem::ConnectionLost(_)),
        "{error:?}"
    );
    assert!(error.is_transient());
    let shown = format!("{error} {error:?}");
    assert!(
        shown.contains("postgres://127.0.0.1:1/postgres (schema h_pg_unreachable)"),
        "{shown}"
    );
    assert!(!shown.contains("sekrit"), "{shown}");
    let builder = PgStore::builder("postgres://postgres:sekrit@127.0.0.1:1/postgres");
    assert!(!format!("{builder:?}").contains("sekrit"));
}

#[tokio::test]
async fn an_exhausted_pool_is_reported_as_such() {
    let schema = fresh("pool_exhausted").await;
    let store = PgStore::builder(&url())
        .schema(&schema)
        .max_connections(1)
        .acquire_timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    let held = store.pool().acquire().await.unwrap();
    let error = store.run(&RunId::new("r")).await.unwrap_err();
    assert_eq!(
        problem(&error),
        &DatabaseProblem::PoolExhausted {
            waited: Duration::from_millis(300)
        }
    );
    assert!(error.is_transient());
    drop(held);
    assert!(store.run(&RunId::new("r")).await.unwrap().is_none());
}

#[tokio::test]
async fn a_connection_killed_under_the_store_is_connection_lost() {
    let schema = fresh("connection_lost").await;
    let store = PgStore::builder(&url())
        .schema(&schema)
        .max_connections(1)
        .connect()
        .await
        .unwrap();
    let mut connection = store.pool().acquire().await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *connection)
        .await
        .unwrap();
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&admin().await)
        .await
        .unwrap();
    let error = sqlx::query("SELECT 1")
        .execute(&mut *connection)
        .await
        .unwrap_err();
    let problem = crate::store::postgres::error::problem(&error, Duration::ZERO);
    assert!(
        matches!(problem, DatabaseProblem::ConnectionLost(_)),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_changed_table_is_reported_corrupt_in_the_schema_s_words() {
    let schema = fresh("corrupt").await;
    let store = store_in(&schema).await;
    store.create_run(record("r")).await.unwrap();
    exec(format!("ALTER TABLE {schema}.runs DROP COLUMN mermaid")).await;
    let error = store.run(&RunId::new("r")).await.unwrap_err();
    assert_eq!(problem(&error), &DatabaseProblem::Corrupt);
    assert!(
        error.to_string().contains("the schema is damaged"),
        "{error}"
    );
    assert!(
        error.to_string().contains(&format!("(schema {schema})")),
        "{error}"
    );
}

#[tokio::test]
async fn without_migrating_only_a_store_of_this_version_connects() {
    let without = |schema: String| {
        PgStore::builder(&url())
            .schema(schema)
            .migrate(false)
            .connect()
    };
    let missing = fresh("migrate_off_missing").await;
    let error = without(missing.clone()).await.unwrap_err();
    assert_eq!(problem(&error), &DatabaseProblem::NotATrailheadStore);
    let created: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_namespace WHERE nspname = $1")
        .bind(&missing)
        .fetch_one(&admin().await)
        .await
        .unwrap();
    assert_eq!(created, 0, "the schema was not created");

    let schema = fresh("migrate_off_older").await;
    let current = store_in(&schema).await;
    current.create_run(record("r")).await.unwrap();
    drop(current);
    let connected = without(schema.clone()).await.unwrap();
    assert!(connected.run(&RunId::new("r")).await.unwrap().is_some());
    drop(connected);
    exec(format!(
        "DELETE FROM {schema}.trailhead_schema WHERE version = {VERSION}"
    ))
    .await;
    let error = without(schema.clone()).await.unwrap_err();
    assert_eq!(
        problem(&error),
        &DatabaseProblem::OlderSchema {
            found: VERSION - 1,
            supported: VERSION
        }
    );
    assert_eq!(
        versions(&schema).await,
        (1..VERSION).collect::<Vec<_>>(),
        "not migrated"
    );
}
