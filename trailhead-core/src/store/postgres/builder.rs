//! Connecting a [`PgStore`]: the options, the pools, the migrations and the
//! worker's registration.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use tokio::sync::watch;

use super::batch::{Statements, StepBatcher};
use super::error::problem;
use super::migrate::{MigrateError, check_version, migrate};
use super::schema_name::{self, SchemaName};
use super::sql::Sql;
use super::workers::{Confirmed, Heartbeat, Registration};
use super::{Inner, PgStore};
use crate::StoreError;
use crate::store::{DatabaseProblem, StoreLocation, WorkerId};

/// The lease a worker holds unless told otherwise.
const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// Connections in the pool unless told otherwise.
const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// How long an operation waits for a free connection unless told otherwise.
const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the builder connects: a URL, or a pool the application made.
enum Target {
    Url(String),
    Pool(PgPool),
}

/// Options for connecting a [`PgStore`]; made by [`PgStore::builder`].
///
/// Its `Debug` never shows the URL (it may hold a password).
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use trailhead_core::store::PgStore;
///
/// # async fn connect() -> Result<(), trailhead_core::StoreError> {
/// let store = PgStore::builder("postgres://app@db.internal/billing")
///     .schema("billing_runs")
///     .lease(Duration::from_secs(30))
///     .max_connections(20)
///     .connect()
///     .await?;
/// # drop(store);
/// # Ok(())
/// # }
/// ```
#[must_use = "a builder does nothing until `connect` is awaited"]
pub struct PgStoreBuilder {
    target: Target,
    schema: String,
    lease: Duration,
    max_connections: u32,
    acquire_timeout: Duration,
    notify: bool,
    migrate: bool,
}

impl fmt::Debug for PgStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStoreBuilder")
            .field("schema", &self.schema)
            .field("lease", &self.lease)
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish_non_exhaustive()
    }
}

impl PgStoreBuilder {
    pub(super) fn url(url: &str) -> Self {
        Self::new(Target::Url(url.to_owned()))
    }

    pub(super) fn pool(pool: PgPool) -> Self {
        Self::new(Target::Pool(pool))
    }

    fn new(target: Target) -> Self {
        Self {
            target,
            schema: schema_name::DEFAULT.to_owned(),
            lease: DEFAULT_LEASE,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            notify: true,
            migrate: true,
        }
    }

    /// Whether connecting creates and migrates the schema (the default).
    /// Off, for tools that look at an existing store (the `trailhead` CLI):
    /// the schema must already hold a store of exactly this build's version,
    /// and nothing in it is created or changed on connect; a missing or empty
    /// schema is refused with [`DatabaseProblem::NotATrailheadStore`], an
    /// older store with [`DatabaseProblem::OlderSchema`]. The store still
    /// registers its worker as usual.
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Whether workers are told at once (`LISTEN`/`NOTIFY`) of runs enqueued
    /// or handed back, signals sent and runs ended: on by default, so a new
    /// run is claimed within milliseconds and a signal reaches its waiting
    /// run at once. Off, workers and waiting runs poll
    /// ([`EngineBuilder::poll_interval`](crate::EngineBuilder::poll_interval)),
    /// and no `NOTIFY` is sent: a `NOTIFY` takes a database-wide lock at
    /// commit, and notifications do not pass PgBouncer in transaction mode.
    /// Journal writes never notify either way.
    pub fn notify(mut self, notify: bool) -> Self {
        self.notify = notify;
        self
    }

    /// The schema the store's tables are in (created if missing): several
    /// applications can share a database, each in a schema of its own.
    /// `trailhead` by default. Lowercase ASCII letters, digits and `_`, not
    /// starting with a digit or `pg_`, at most 63 bytes.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// How long this worker's lease lasts without a renewal: 30 seconds by
    /// default. The store renews it every third of that; a worker that dies
    /// or is cut off leaves its runs to others this long after its last
    /// renewal. Shorter is quicker takeover, and more renewals.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The most connections the store's pool opens: 10 by default (plus one
    /// of the heartbeat's own). Ignored for a store made from a pool.
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long an operation waits for a free connection before it fails
    /// with [`DatabaseProblem::PoolExhausted`]: 30 seconds by default.
    /// Ignored for a store made from a pool (the pool's own applies).
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Connects, migrates the schema and registers this store's worker.
    ///
    /// # Errors
    ///
    /// [`StoreError::Database`] naming the server and schema (never the
    /// password), with
    /// - [`DatabaseProblem::InvalidSchemaName`]: a schema name trailhead
    ///   does not accept;
    /// - [`DatabaseProblem::ConnectionLost`]: the server refused or dropped
    ///   the connection, or is unreachable;
    /// - [`DatabaseProblem::CannotOpen`]: a URL that does not parse, a
    ///   password refused, no such database, no right to create the schema;
    /// - [`DatabaseProblem::NotATrailheadStore`]: the schema holds another
    ///   application's tables (left untouched);
    /// - [`DatabaseProblem::NewerSchema`]: a store of a newer trailhead;
    /// - [`DatabaseProblem::Corrupt`]: a store whose tables are not what
    ///   its version says;
    /// - [`DatabaseProblem::PoolExhausted`]: no connection came free.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may leave the schema migrated and no worker.
    pub async fn connect(self) -> Result<PgStore, StoreError> {
        let (options, given_pool, acquire_timeout) = match self.target {
            Target::Url(url) => {
                let options = PgConnectOptions::from_str(&url).map_err(|error| {
                    let location = StoreLocation::Postgres {
                        host: "(a URL that does not parse)".to_owned(),
                        port: 0,
                        database: String::new(),
                        schema: self.schema.clone(),
                    };
                    // The parse error never quotes the URL.
                    refuse(location, DatabaseProblem::CannotOpen(error.to_string()))
                })?;
                (options, None, self.acquire_timeout)
            }
            Target::Pool(pool) => {
                let options = (*pool.connect_options()).clone();
                let timeout = pool.options().get_acquire_timeout();
                (options, Some(pool), timeout)
            }
        };
        let location = StoreLocation::Postgres {
            host: options.get_host().to_owned(),
            port: options.get_port(),
            database: options
                .get_database()
                .unwrap_or(options.get_username())
                .to_owned(),
            schema: self.schema.clone(),
        };
        let fail = |error: &sqlx::Error| refuse(location.clone(), problem(error, acquire_timeout));
        let schema =
            SchemaName::new(&self.schema).map_err(|problem| refuse(location.clone(), problem))?;
        // Migrated on a connection of its own, opened directly: a server
        // that refuses it says why (a pool would only say it timed out).
        let mut first = options.connect().await.map_err(|error| fail(&error))?;
        let prepared = if self.migrate {
            migrate(&mut first, &schema).await
        } else {
            check_version(&mut first, &schema).await
        };
        prepared.map_err(|error| match error {
            MigrateError::Refused(problem) => refuse(location.clone(), problem),
            MigrateError::Database(error) => fail(&error),
        })?;
        let _ = first.close().await;
        let pool = match given_pool {
            Some(pool) => pool,
            None => PgPoolOptions::new()
                .max_connections(self.max_connections)
                .acquire_timeout(acquire_timeout)
                .connect_with(options.clone())
                .await
                .map_err(|error| fail(&error))?,
        };
        // The heartbeat's own connection: a pool busy with journal writes
        // never delays a renewal.
        let heartbeat_pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(self.lease / 3)
            .connect_with(options)
            .await
            .map_err(|error| fail(&error))?;
        let sql = Sql::new(&schema);
        let worker = WorkerId::generate();
        let registration = Registration::new(worker.clone(), self.lease);
        registration
            .register(&pool, &sql.register_worker)
            .await
            .map_err(|error| fail(&error))?;
        let expiries = Arc::new(watch::Sender::new(0));
        let confirmed = Arc::new(Confirmed::now());
        let heartbeat = Heartbeat::start(
            registration,
            self.lease,
            heartbeat_pool,
            sql.heartbeat.clone(),
            Arc::clone(&expiries),
            Arc::clone(&confirmed),
        );
        let channel = channel_of(&schema);
        let (notify, listener) = if self.notify {
            let (sender, _) = tokio::sync::broadcast::channel(1024);
            let task = tokio::spawn(super::fleet::listen(
                pool.clone(),
                channel.clone(),
                sender.downgrade(),
            ));
            (Some(sender), Some(task.abort_handle()))
        } else {
            (None, None)
        };
        Ok(PgStore {
            inner: Arc::new(Inner {
                steps: StepBatcher::start(
                    pool.clone(),
                    Statements {
                        one: sql.record_step.clone(),
                        many: sql.record_steps.clone(),
                    },
                    worker.clone(),
                ),
                channel,
                notify,
                listener,
                confirmed,
                pool,
                sql,
                location,
                worker,
                lease: self.lease,
                acquire_timeout,
                expiries,
                heartbeat,
                closed: AtomicBool::new(false),
            }),
        })
    }
}

/// The notification channel of the store in `schema`: short whatever the
/// schema's length (channel names are identifiers, at most 63 bytes).
fn channel_of(schema: &SchemaName) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in schema.quoted().bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("trailhead_{hash:016x}")
}

fn refuse(store: StoreLocation, problem: DatabaseProblem) -> StoreError {
    StoreError::Database {
        store: Box::new(store),
        run: None,
        problem,
    }
}
