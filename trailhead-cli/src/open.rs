//! Opening the store a command names: a SQLite file by path, PostgreSQL by
//! URL; read-only for commands that only read, and never migrated.

use trailhead_core::store::{Retention, Store};
use trailhead_core::{Engine, SqliteStore};

use crate::failure::Failure;

/// What a command does with the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reads only: the store is opened read-only.
    Read,
    /// Writes (cancel, signal, fork): opened for writing, but only once it is
    /// known to be a store of this build's schema, so nothing is migrated.
    Write,
}

/// An open store, and how to name it in messages.
#[derive(Debug)]
pub(crate) struct Opened {
    /// The path or URL it was given as (a URL without its password).
    pub(crate) name: String,
    store: Kind,
}

/// The store itself: an engine is built on the concrete type.
#[derive(Debug)]
enum Kind {
    Sqlite(SqliteStore),
    #[cfg(feature = "postgres")]
    Postgres(trailhead_core::store::PgStore),
}

impl Opened {
    /// The store, to read.
    pub(crate) fn store(&self) -> &dyn Store {
        match &self.store {
            Kind::Sqlite(store) => store,
            #[cfg(feature = "postgres")]
            Kind::Postgres(store) => store,
        }
    }

    /// An engine on the store that drives nothing and removes nothing: no
    /// workflow is registered, and its retention keeps every run.
    pub(crate) fn engine(&self) -> Engine {
        let builder = Engine::builder().retention(Retention::new());
        match &self.store {
            Kind::Sqlite(store) => builder.store(store.clone()),
            #[cfg(feature = "postgres")]
            Kind::Postgres(store) => builder.store(store.clone()),
        }
        .build()
    }

    /// Lets go of the store: a PostgreSQL store deregisters its worker.
    pub(crate) async fn close(self) {
        #[cfg(feature = "postgres")]
        if let Kind::Postgres(store) = self.store {
            let _ = store.close().await;
        }
    }
}

/// Whether `store` is a PostgreSQL URL rather than a file's path.
fn is_url(store: &str) -> bool {
    store.starts_with("postgres://") || store.starts_with("postgresql://")
}

/// Opens `store` (a path or a URL; `schema` for PostgreSQL) for `access`.
pub(crate) async fn open(store: &str, schema: &str, access: Access) -> Result<Opened, Failure> {
    if is_url(store) {
        return open_postgres(store, schema).await;
    }
    let opened = match access {
        Access::Read => SqliteStore::open_read_only(store),
        // The read-only open refuses what a writable open would migrate or
        // create; the writable open then finds nothing to migrate.
        Access::Write => SqliteStore::open_read_only(store).and_then(|_| SqliteStore::open(store)),
    }
    .map_err(|error| Failure::store(store, &error))?;
    Ok(Opened {
        name: store.to_owned(),
        store: Kind::Sqlite(opened),
    })
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str, schema: &str) -> Result<Opened, Failure> {
    let store = trailhead_core::store::PgStore::builder(url)
        .schema(schema)
        .migrate(false)
        .notify(false)
        .max_connections(2)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect()
        .await
        .map_err(|error| Failure::store("(a postgres URL)", &error))?;
    let name = store.location().to_string();
    Ok(Opened {
        name,
        store: Kind::Postgres(store),
    })
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(url: &str, _schema: &str) -> Result<Opened, Failure> {
    let _ = url;
    Err(Failure::new(
        crate::failure::GENERAL,
        "this trailhead was built without the `postgres` feature: it opens SQLite files only",
    ))
}
