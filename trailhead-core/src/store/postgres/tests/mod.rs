//! PgStore against a real PostgreSQL: `DATABASE_URL`'s server, or a
//! throwaway cluster the test process starts (`trailhead-test-postgres`).
//! Each test works in a schema of its own (`h_pg_<test>`), dropped and made
//! anew when it starts. No test is skipped: without PostgreSQL they fail.

mod batches;
mod engine;
mod leases;
mod migrations;
mod resources;
mod schedules;
mod semantics;

use std::time::{Duration, SystemTime};

use sqlx::{AssertSqlSafe, PgPool};

use super::PgStore;
use crate::store::{RunOutcome, RunRecord, StepOutcome, StepRecord, Value};
use crate::{DatabaseProblem, RunId, StepKey, StoreError};

pub(super) fn url() -> String {
    trailhead_test_postgres::url().to_owned()
}

/// A direct connection, for what tests do behind the store's back.
pub(super) async fn admin() -> PgPool {
    PgPool::connect(&url())
        .await
        .expect("the test server is reachable")
}

/// A fresh schema `h_pg_<name>`: dropped if a run before left it.
pub(super) async fn fresh(name: &str) -> String {
    let schema = format!("h_pg_{name}");
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&admin().await)
    .await
    .unwrap();
    schema
}

pub(super) async fn store_in(schema: &str) -> PgStore {
    PgStore::builder(&url())
        .schema(schema)
        .connect()
        .await
        .unwrap()
}

pub(super) async fn exec(sql: String) {
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&admin().await)
        .await
        .unwrap();
}

pub(super) fn record(id: &str) -> RunRecord {
    RunRecord::new(RunId::new(id), "wf", Value::encode(&1_u32).unwrap())
}

pub(super) fn step(name: &'static str, output: u32) -> StepRecord {
    StepRecord::new(
        StepKey::new(name, &[]),
        StepOutcome::Completed(Value::encode(&output).unwrap()),
        1,
        SystemTime::now(),
        SystemTime::now(),
    )
}

pub(super) fn completed(output: u32) -> RunOutcome {
    RunOutcome::Completed(Value::encode(&output).unwrap())
}

pub(super) fn problem(error: &StoreError) -> &DatabaseProblem {
    match error {
        StoreError::Database { problem, .. } => problem,
        other => panic!("not a database error: {other:?}"),
    }
}

/// Waits until `check` holds, for at most `within`.
pub(super) async fn eventually<F: std::future::Future<Output = bool>>(
    within: Duration,
    mut check: impl FnMut() -> F,
) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}
