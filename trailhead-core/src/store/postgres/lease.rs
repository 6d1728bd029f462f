//! Leases in a transaction: claiming a run for this worker, and telling why
//! a write fenced by the lease's epoch matched nothing (see
//! [`crate::store::lease`]).

use sqlx::{PgConnection, Row};

use super::sql::Sql;
use crate::store::WorkerId;
use crate::{RunId, StoreError};

/// Why claiming a run failed.
pub(super) enum ClaimError {
    Missing,
    Held(String),
    Database(sqlx::Error),
}

impl From<sqlx::Error> for ClaimError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

/// Claims `run` for worker `me` if its status is one of `claimable`, in the
/// caller's transaction (the run's row stays locked until it ends): keeps
/// this worker's own epoch, takes an unowned run or a dead worker's run (its
/// row expired or gone) under the next epoch, and refuses a live worker's.
/// `None` for a run in another status (it has ended: there is nothing to own).
pub(super) async fn claim(
    connection: &mut PgConnection,
    sql: &Sql,
    me: &WorkerId,
    run: &RunId,
    claimable: &[&str],
) -> Result<Option<i64>, ClaimError> {
    let Some(row) = sql
        .claim_look
        .query()
        .bind(run.as_str())
        .fetch_optional(&mut *connection)
        .await?
    else {
        return Err(ClaimError::Missing);
    };
    let status: String = row.try_get(0)?;
    let owner: Option<String> = row.try_get(1)?;
    let epoch: i64 = row.try_get(2)?;
    let alive: bool = row.try_get(3)?;
    if !claimable.contains(&status.as_str()) {
        return Ok(None);
    }
    match owner {
        Some(owner) if owner == me.as_str() => return Ok(Some(epoch)),
        Some(owner) if alive => return Err(ClaimError::Held(owner)),
        _ => {}
    }
    let epoch: i64 = sqlx::query_scalar(sql.claim_take.text())
        .bind(run.as_str())
        .bind(me.as_str())
        .fetch_one(&mut *connection)
        .await?;
    Ok(Some(epoch))
}

/// What a run's status says about a write to it that changed nothing.
pub(super) enum Refusal {
    /// No such run.
    Missing,
    /// It has ended.
    Finished,
    /// It has not ended: the lease moved on.
    Unfinished,
}

/// Why a write to `run` changed nothing, from its status (read now).
pub(super) async fn refusal(
    connection: &mut PgConnection,
    sql: &Sql,
    run: &RunId,
) -> Result<Refusal, sqlx::Error> {
    let status: Option<String> = sqlx::query_scalar(sql.status_of.text())
        .bind(run.as_str())
        .fetch_optional(&mut *connection)
        .await?;
    Ok(match status.as_deref() {
        None => Refusal::Missing,
        Some("running" | "compensating") => Refusal::Unfinished,
        Some(_) => Refusal::Finished,
    })
}

impl Refusal {
    /// The error of a write fenced by `me`'s lease: the run is gone, it
    /// finished, or another worker took it over.
    pub(super) fn of_fenced(self, run: &RunId, me: &WorkerId) -> StoreError {
        match self {
            Self::Missing => StoreError::UnknownRun { run: run.clone() },
            Self::Finished => StoreError::RunFinished { run: run.clone() },
            Self::Unfinished => StoreError::LeaseLost {
                run: run.clone(),
                worker: me.clone(),
            },
        }
    }

    /// The error of a write only an unended run takes (a signal).
    pub(super) fn of_unfenced(self, run: &RunId) -> StoreError {
        match self {
            Self::Missing => StoreError::UnknownRun { run: run.clone() },
            Self::Finished | Self::Unfinished => StoreError::RunFinished { run: run.clone() },
        }
    }
}
