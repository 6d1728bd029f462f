//! Journal-write throughput of the PostgreSQL store: one run writing 1,000
//! steps one after another, then 64 runs writing 100 steps each at once.
//! A measurement to read, not a benchmark with a floor (see BENCHMARKS.md).
//!
//! `DATABASE_URL=postgres://… cargo run --release -p trailhead-core --features postgres --example pg_journal`
//! (schema `h_pg_bench`, dropped and made anew).

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use trailhead_core::store::{PgStore, RunWriter, Store, Value};
use trailhead_core::{RunId, RunRecord, StepKey, StepOutcome, StepRecord};

fn step(i: u32) -> StepRecord {
    StepRecord::new(
        StepKey::new("step", &[i]),
        StepOutcome::Completed(Value::encode(&format!("output {i}")).expect("text encodes")),
        1,
        SystemTime::now(),
        SystemTime::now(),
    )
}

async fn write(journal: Arc<dyn RunWriter>, steps: u32) {
    for i in 0..steps {
        journal
            .record_step(step(i))
            .await
            .expect("the step is journaled");
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:54329/postgres".to_owned());
    let admin = PgStore::builder(&url)
        .schema("h_pg_bench")
        .connect()
        .await?;
    sqlx_drop(&admin).await;
    let store = PgStore::builder(&url)
        .schema("h_pg_bench")
        .max_connections(64)
        .connect()
        .await?;
    let input = Value::encode(&0_u32)?;

    let journal = store
        .create_run(RunRecord::new(RunId::new("one"), "bench", input.clone()))
        .await?;
    let started = Instant::now();
    write(journal, 1_000).await;
    let elapsed = started.elapsed();
    println!(
        "1 run x 1,000 steps: {:.0} steps/s ({:.2} ms/step)",
        1_000.0 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1_000.0 / 1_000.0
    );

    let mut journals = Vec::new();
    for n in 0..64 {
        let record = RunRecord::new(RunId::new(format!("many-{n}")), "bench", input.clone());
        journals.push(store.create_run(record).await?);
    }
    let started = Instant::now();
    let writers = journals
        .into_iter()
        .map(|journal| tokio::spawn(write(journal, 100)));
    for writer in futures::future::join_all(writers).await {
        writer?;
    }
    let elapsed = started.elapsed();
    println!(
        "64 runs x 100 steps at once: {:.0} steps/s",
        6_400.0 / elapsed.as_secs_f64()
    );
    store.close().await?;
    Ok(())
}

/// Drops what an earlier measurement left, through the store's pool.
async fn sqlx_drop(store: &PgStore) {
    let pool = store.pool().clone();
    store.close().await.ok();
    let _ = sqlx::raw_sql("DROP SCHEMA h_pg_bench CASCADE")
        .execute(&pool)
        .await;
}
