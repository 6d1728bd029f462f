//! Proves that an application can use trailhead's SQLite store and sqlx's
//! SQLite driver in one binary.
//!
//! Only one crate in a build may link the native `sqlite3` library, so
//! trailhead (through rusqlite) and sqlx-sqlite must agree on one
//! `libsqlite3-sys`. That this crate builds at all is half the test: cargo
//! refuses to resolve a graph with two. The test below then uses both, on the
//! same file.

#[cfg(test)]
mod tests {
    use sqlx::Row;
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use trailhead::{Engine, SqliteStore, workflow};

    async fn price(item: String) -> Result<u32, std::io::Error> {
        Ok(u32::try_from(item.len()).unwrap_or(u32::MAX) * 100)
    }

    async fn charge(cents: u32) -> Result<String, std::io::Error> {
        Ok(format!("receipt for {cents} cents"))
    }

    workflow! {
        workflow buy(item: String) -> Result<String, trailhead::Error> {
            let cents = step price(item.clone());
            let receipt = step charge(cents);
            Ok(receipt)
        }
    }

    #[tokio::test]
    async fn a_trailhead_store_and_an_sqlx_pool_share_one_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");

        // The application's own tables, written through sqlx, in their own file.
        let app = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                SqliteConnectOptions::new()
                    .filename(dir.path().join("orders.db"))
                    .create_if_missing(true),
            )
            .await
            .unwrap();
        sqlx::query("CREATE TABLE orders (item TEXT NOT NULL)")
            .execute(&app)
            .await
            .unwrap();
        sqlx::query("INSERT INTO orders (item) VALUES (?1)")
            .bind("book")
            .execute(&app)
            .await
            .unwrap();
        let item: String = sqlx::query_scalar("SELECT item FROM orders")
            .fetch_one(&app)
            .await
            .unwrap();

        // A durable run through trailhead's store.
        let store = SqliteStore::open(&path).unwrap();
        let engine = Engine::builder().store(store).build();
        let handle = engine.start(buy, item).await.unwrap();
        let run = handle.id().clone();
        assert_eq!(handle.result().await.unwrap(), "receipt for 400 cents");

        // The same store file read through sqlx while trailhead has it open.
        let journal = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(SqliteConnectOptions::new().filename(&path).read_only(true))
            .await
            .unwrap();
        let status: String = sqlx::query_scalar("SELECT status FROM runs WHERE id = ?1")
            .bind(run.as_str())
            .fetch_one(&journal)
            .await
            .unwrap();
        assert_eq!(status, "completed");
        let steps = sqlx::query("SELECT key, outcome FROM steps WHERE run_id = ?1 ORDER BY seq")
            .bind(run.as_str())
            .fetch_all(&journal)
            .await
            .unwrap();
        let keys: Vec<String> = steps.iter().map(|row| row.get("key")).collect();
        assert_eq!(keys, ["price", "charge"]);
        // A CBOR blob; its strings are plain UTF-8 inside.
        let charged: Vec<u8> = steps[1].get("outcome");
        let wanted = b"receipt for 400 cents";
        assert!(
            charged.windows(wanted.len()).any(|w| w == wanted),
            "{charged:?}"
        );

        // One SQLite in the binary: the one rusqlite (trailhead's binding) sees
        // is the one sqlx talks to.
        let sqlx_version: String = sqlx::query_scalar("SELECT sqlite_version()")
            .fetch_one(&app)
            .await
            .unwrap();
        assert_eq!(sqlx_version, rusqlite::version());
    }
}
