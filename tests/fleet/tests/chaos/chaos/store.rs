//! Which store the fleet shares: `sqlite:<path>` or a `postgres://` URL,
//! from [`STORE_ENV`] (the parent passes its choice on to every worker).

use std::path::{Path, PathBuf};
use std::time::Duration;

use trailhead::{Engine, EngineBuilder, SqliteStore};

/// The environment variable naming the store: `sqlite:<path>` or a
/// `postgres://` URL. Unset, the parent uses a SQLite file in its directory.
pub(crate) const STORE_ENV: &str = "TRAILHEAD_CHAOS_STORE";

/// How long a PostgreSQL worker's lease lasts without a heartbeat: the
/// SIGSTOPped worker is stopped for longer than this.
pub(crate) const PG_LEASE: Duration = Duration::from_secs(2);

/// The store the fleet shares.
#[derive(Clone, Debug)]
pub(crate) enum StoreSpec {
    /// One SQLite file; a worker's liveness is its OS file lock.
    Sqlite(PathBuf),
    /// A PostgreSQL database; `schema` keeps this run's tables apart.
    Postgres { url: String, schema: String },
}

impl StoreSpec {
    /// The store named by [`STORE_ENV`], or a SQLite file in `dir`.
    pub(crate) fn from_env(dir: &Path) -> Self {
        match std::env::var(STORE_ENV) {
            Ok(spec) => Self::parse(&spec),
            Err(_) => Self::Sqlite(dir.join("runs.db")),
        }
    }

    fn parse(spec: &str) -> Self {
        if let Some(path) = spec.strip_prefix("sqlite:") {
            return Self::Sqlite(PathBuf::from(path));
        }
        if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            // One schema per parent process, so runs of the test never meet.
            let schema = std::env::var("TRAILHEAD_CHAOS_SCHEMA")
                .unwrap_or_else(|_| format!("h_chaos_{}", std::process::id()));
            return Self::Postgres {
                url: spec.to_owned(),
                schema,
            };
        }
        panic!("{STORE_ENV}={spec:?}: expected `sqlite:<path>` or a `postgres://` URL");
    }

    /// What to pass on to a worker so it opens the same store (the schema
    /// travels in its own variable).
    pub(crate) fn to_env(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Sqlite(path) => vec![(STORE_ENV, format!("sqlite:{}", path.display()))],
            Self::Postgres { url, schema } => vec![
                (STORE_ENV, url.clone()),
                ("TRAILHEAD_CHAOS_SCHEMA", schema.clone()),
            ],
        }
    }

    /// How many worker processes share the store: 3 on one SQLite file, 4
    /// on PostgreSQL.
    pub(crate) fn workers(&self) -> usize {
        match self {
            Self::Sqlite(_) => 3,
            Self::Postgres { .. } => 4,
        }
    }

    /// Whether a stopped worker's lease expires (so its late writes must
    /// be fenced) rather than being kept by its file lock.
    pub(crate) fn leases_expire(&self) -> bool {
        matches!(self, Self::Postgres { .. })
    }

    /// A builder on this store, for a worker or for the parent.
    pub(crate) async fn builder(&self) -> EngineBuilder {
        match self {
            Self::Sqlite(path) => Engine::builder().store(
                SqliteStore::open(path)
                    .unwrap_or_else(|error| panic!("opening {}: {error}", path.display())),
            ),
            Self::Postgres { url, schema } => postgres_builder(url, schema).await,
        }
    }
}

/// An engine builder on a `PgStore` in `schema` of the database at `url`,
/// with a short lease so the stopped worker is taken over.
async fn postgres_builder(url: &str, schema: &str) -> EngineBuilder {
    let store = trailhead::PgStore::builder(url)
        .schema(schema)
        .lease(PG_LEASE)
        .connect()
        .await
        .unwrap_or_else(|error| panic!("connecting to {url}: {error}"));
    Engine::builder().store(store)
}
