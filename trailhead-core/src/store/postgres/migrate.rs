//! The schema's migrations, run on connect.
//!
//! `trailhead_schema` holds one row per migration applied (its version and
//! when). It is also the marker that tells a trailhead store from any other
//! schema: a schema with tables but no marker belongs to someone else and is
//! refused untouched. Connecting to a missing or empty schema, or to a store
//! of an older version, applies the migrations it lacks, in one transaction
//! under an advisory lock keyed on the schema name: many workers connecting
//! at once migrate once, the others wait and find it done. A store from a
//! newer trailhead is refused rather than misread.

use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};

use super::schema_name::SchemaName;
use crate::store::DatabaseProblem;

/// Each migration brings the schema from the version before it to its index
/// + 1; `{schema}` is the quoted schema name.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_runs.sql"),
    include_str!("migrations/0002_cancel.sql"),
    include_str!("migrations/0003_resources.sql"),
    include_str!("migrations/0004_end_watchers.sql"),
    include_str!("migrations/0005_retries.sql"),
    include_str!("migrations/0006_schedules.sql"),
];

/// The newest schema this build reads and writes.
pub(super) const VERSION: i64 = MIGRATIONS.len() as i64;

/// What a schema holds, judged by the marker table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contents {
    /// No such schema.
    Missing,
    /// A schema with no tables, sequences, views or functions: a new store.
    Empty,
    /// A trailhead store with this schema version.
    Store { version: i64 },
    /// Objects, but no marker: another application's schema.
    Foreign,
}

/// An error of the migration, classified; the caller knows how long its
/// pool waits for a connection.
pub(super) enum MigrateError {
    Refused(DatabaseProblem),
    Database(sqlx::Error),
}

impl From<sqlx::Error> for MigrateError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

/// Brings `schema` to [`VERSION`], if it is missing, empty, or a store no
/// newer than this build; anything else is refused before a byte is written.
pub(super) async fn migrate(
    connection: &mut PgConnection,
    schema: &SchemaName,
) -> Result<(), MigrateError> {
    let mut transaction = connection.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("trailhead migrate {}", schema.as_str()))
        .execute(&mut *transaction)
        .await?;
    let from = match contents(&mut transaction, schema).await? {
        Contents::Missing => {
            sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA {}", schema.quoted())))
                .execute(&mut *transaction)
                .await?;
            None
        }
        Contents::Empty => None,
        Contents::Store { version } if version > VERSION => {
            return Err(MigrateError::Refused(DatabaseProblem::NewerSchema {
                found: version,
                supported: VERSION,
            }));
        }
        Contents::Store { version } if version < 1 => {
            return Err(MigrateError::Refused(DatabaseProblem::Corrupt));
        }
        Contents::Store { version } => Some(version),
        Contents::Foreign => {
            return Err(MigrateError::Refused(DatabaseProblem::NotATrailheadStore));
        }
    };
    if from == Some(VERSION) {
        return Ok(());
    }
    let quoted = schema.quoted();
    if from.is_none() {
        sqlx::raw_sql(AssertSqlSafe(format!(
            "CREATE TABLE {quoted}.trailhead_schema (
                 version bigint PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now())"
        )))
        .execute(&mut *transaction)
        .await?;
    }
    let done = usize::try_from(from.unwrap_or(0)).unwrap_or(0);
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(done) {
        sqlx::raw_sql(AssertSqlSafe(migration.replace("{schema}", &quoted)))
            .execute(&mut *transaction)
            .await
            .map_err(
                |error| match error.as_database_error().and_then(|e| e.code()) {
                    // A migration's SQL failed on what it found (a table it
                    // creates exists, one it alters is missing): the store is
                    // not what its version says.
                    Some(code) if code.starts_with("42") => {
                        tracing::warn!(%error, "a migration does not apply to the store's schema");
                        MigrateError::Refused(DatabaseProblem::Corrupt)
                    }
                    _ => MigrateError::Database(error),
                },
            )?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {quoted}.trailhead_schema (version) VALUES ($1)"
        )))
        .bind(i64::try_from(index + 1).unwrap_or(i64::MAX))
        .execute(&mut *transaction)
        .await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// Refuses `schema` unless it holds a store of exactly [`VERSION`], writing
/// nothing: for a store connected without migrating.
pub(super) async fn check_version(
    connection: &mut PgConnection,
    schema: &SchemaName,
) -> Result<(), MigrateError> {
    let refuse = |problem| Err(MigrateError::Refused(problem));
    match contents(connection, schema).await? {
        Contents::Store { version } if version > VERSION => refuse(DatabaseProblem::NewerSchema {
            found: version,
            supported: VERSION,
        }),
        Contents::Store { version } if version < VERSION => refuse(DatabaseProblem::OlderSchema {
            found: version,
            supported: VERSION,
        }),
        Contents::Store { .. } => Ok(()),
        Contents::Missing | Contents::Empty | Contents::Foreign => {
            refuse(DatabaseProblem::NotATrailheadStore)
        }
    }
}

/// What `schema` holds. A marker table without a version is damage, not a
/// foreign schema.
async fn contents(
    connection: &mut PgConnection,
    schema: &SchemaName,
) -> Result<Contents, MigrateError> {
    let row = sqlx::query(
        "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = n.oid)
              + (SELECT count(*) FROM pg_proc WHERE pronamespace = n.oid),
                EXISTS (SELECT 1 FROM pg_class
                        WHERE relnamespace = n.oid AND relname = 'trailhead_schema' AND relkind = 'r')
         FROM pg_namespace AS n WHERE n.nspname = $1",
    )
    .bind(schema.as_str())
    .fetch_optional(&mut *connection)
    .await?;
    let Some(row) = row else {
        return Ok(Contents::Missing);
    };
    let (objects, marked): (i64, bool) = (row.try_get(0)?, row.try_get(1)?);
    if !marked {
        return Ok(if objects == 0 {
            Contents::Empty
        } else {
            Contents::Foreign
        });
    }
    let version: Option<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT max(version) FROM {}.trailhead_schema",
        schema.quoted()
    )))
    .fetch_one(&mut *connection)
    .await?;
    match version {
        Some(version) => Ok(Contents::Store { version }),
        None => Err(MigrateError::Refused(DatabaseProblem::Corrupt)),
    }
}
