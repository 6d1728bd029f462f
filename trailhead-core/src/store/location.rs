//! Where a store keeps its data, as errors name it.

use std::fmt;
use std::path::PathBuf;

/// The database behind a store, as a [`StoreError::Database`](crate::StoreError::Database)
/// names it: a file, or a schema on a PostgreSQL server. Never holds a
/// password.
///
/// Shown as the file's path, or as `postgres://host:port/database (schema s)`.
///
/// # Examples
///
/// ```
/// use trailhead_core::store::StoreLocation;
///
/// let store = StoreLocation::Postgres {
///     host: "db.internal".into(),
///     port: 5432,
///     database: "billing".into(),
///     schema: "trailhead".into(),
/// };
/// assert_eq!(store.to_string(), "postgres://db.internal:5432/billing (schema trailhead)");
/// assert_eq!(StoreLocation::File("runs.db".into()).to_string(), "runs.db");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreLocation {
    /// A database file (the SQLite store).
    File(PathBuf),
    /// A schema in a PostgreSQL database (the PostgreSQL store).
    Postgres {
        /// The server's host name or address (or its socket folder).
        host: String,
        /// The server's port.
        port: u16,
        /// The database on the server.
        database: String,
        /// The schema the store's tables are in.
        schema: String,
    },
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Postgres {
                host,
                port,
                database,
                schema,
            } => write!(f, "postgres://{host}:{port}/{database} (schema {schema})"),
        }
    }
}

impl From<PathBuf> for StoreLocation {
    fn from(path: PathBuf) -> Self {
        Self::File(path)
    }
}
