//! Named resources fleet-wide on PostgreSQL: the places in
//! `resource_places` (see [`crate::store::resource`]).
//!
//! Taking a place is one transaction: an advisory lock keyed on the schema
//! and the resource (the way a limited queue's claims are counted, in
//! `fleet.rs`), then one statement that deletes the places of workers that
//! are gone, counts the rest and, if there is room, inserts the lowest free
//! place. Leaving it is one `DELETE`. So an attempt that holds a place costs
//! two commits (and five round trips), and a worker waiting for a place asks
//! again after a short backoff; nothing is sent with `NOTIFY`.

use sqlx::Row;

use super::PgStore;
use crate::store::{FleetResources, Place, StoreFuture};
use crate::{RunId, StepKey, StoreError};

impl PgStore {
    async fn take_place(
        &self,
        resource: &str,
        limit: usize,
        run: &RunId,
        step: &StepKey,
    ) -> Result<Option<Place>, StoreError> {
        let fail = |error: sqlx::Error| self.fail(Some(run), &error);
        let s = &self.inner.sql.schema;
        let mut transaction = self.inner.pool.begin().await.map_err(fail)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("trailhead resource {s} {resource}"))
            .execute(&mut *transaction)
            .await
            .map_err(fail)?;
        // One snapshot, taken under the lock: the delete and the reads see
        // the same rows, so the place chosen is one no row names (not even
        // a row this statement deletes).
        let taken = sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH held AS (
                 SELECT p.place, EXISTS (SELECT 1 FROM {s}.workers AS w
                                         WHERE w.id = p.worker AND w.expires_at > now()) AS alive
                 FROM {s}.resource_places AS p WHERE p.resource = $1),
             gone AS (
                 DELETE FROM {s}.resource_places AS p
                 WHERE p.resource = $1 AND p.place IN (SELECT place FROM held WHERE NOT alive)),
             free AS (
                 SELECT min(n) AS place
                 FROM generate_series(0, (SELECT count(*) FROM held)::integer) AS n
                 WHERE n NOT IN (SELECT place FROM held))
             INSERT INTO {s}.resource_places (resource, place, worker, run_id, step)
             SELECT $1, free.place, $3, $4, $5 FROM free
             WHERE (SELECT count(*) FROM held WHERE alive) < $2
             RETURNING place, holding"
        )))
        .bind(resource)
        .bind(i64::try_from(limit.max(1)).unwrap_or(i64::MAX))
        .bind(self.inner.worker.as_str())
        .bind(run.as_str())
        .bind(step.to_string())
        .fetch_optional(&mut *transaction)
        .await
        .map_err(fail)?;
        transaction.commit().await.map_err(fail)?;
        let Some(row) = taken else {
            return Ok(None);
        };
        let place: i32 = row.try_get(0).map_err(fail)?;
        let holding: i64 = row.try_get(1).map_err(fail)?;
        Ok(Some(Place::new(
            resource,
            place.cast_unsigned(),
            holding.cast_unsigned(),
        )))
    }

    async fn leave_place(&self, place: &Place) -> Result<(), StoreError> {
        let s = &self.inner.sql.schema;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {s}.resource_places
             WHERE resource = $1 AND place = $2 AND holding = $3 AND worker = $4"
        )))
        .bind(place.resource())
        .bind(place.number().cast_signed())
        .bind(place.holding().cast_signed())
        .bind(self.inner.worker.as_str())
        .execute(&self.inner.pool)
        .await
        .map_err(|error| self.fail(None, &error))?;
        Ok(())
    }
}

impl FleetResources for PgStore {
    fn acquire_place(
        &self,
        resource: &str,
        limit: usize,
        run: &RunId,
        step: &StepKey,
    ) -> StoreFuture<'_, Option<Place>> {
        let (resource, run, step) = (resource.to_owned(), run.clone(), step.clone());
        Box::pin(async move { self.take_place(&resource, limit, &run, &step).await })
    }

    fn release_place(&self, place: &Place) -> StoreFuture<'_, ()> {
        let place = place.clone();
        Box::pin(async move { self.leave_place(&place).await })
    }
}
