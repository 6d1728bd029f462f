//! Schedules on PostgreSQL: one row per schedule, its [`ScheduleRecord`]
//! as JSON. A change is one transaction: an advisory lock on the schedule's
//! name (a new schedule has no row to lock yet), the row read, the change
//! applied ([`ScheduleChange::apply`]), the row written back or deleted.

use sqlx::{AssertSqlSafe, Row};

use super::PgStore;
use crate::StoreError;
use crate::store::{DatabaseProblem, ScheduleChange, ScheduleRecord};

impl PgStore {
    fn decode_schedule(&self, json: &str) -> Result<ScheduleRecord, StoreError> {
        serde_json::from_str(json).map_err(|error| {
            self.refuse(
                None,
                DatabaseProblem::Malformed(format!("a schedule's record: {error}")),
            )
        })
    }

    pub(super) async fn schedule_rows(
        &self,
        name: Option<&str>,
    ) -> Result<Vec<ScheduleRecord>, StoreError> {
        let s = &self.inner.sql.schema;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT record FROM {s}.schedules WHERE $1::text IS NULL OR name = $1 ORDER BY name"
        )))
        .bind(name)
        .fetch_all(&self.inner.pool)
        .await
        .map_err(|error| self.fail(None, &error))?;
        rows.iter()
            .map(|row| {
                let json: String = row.try_get(0).map_err(|error| self.fail(None, &error))?;
                self.decode_schedule(&json)
            })
            .collect()
    }

    pub(super) async fn change_schedule_row(
        &self,
        name: &str,
        change: &ScheduleChange,
    ) -> Result<Option<ScheduleRecord>, StoreError> {
        let fail = |error: sqlx::Error| self.fail(None, &error);
        let s = &self.inner.sql.schema;
        let mut transaction = self.inner.pool.begin().await.map_err(fail)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("trailhead schedule {s} {name}"))
            .execute(&mut *transaction)
            .await
            .map_err(fail)?;
        let before: Option<String> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT record FROM {s}.schedules WHERE name = $1"
        )))
        .bind(name)
        .fetch_optional(&mut *transaction)
        .await
        .map_err(fail)?;
        let before = before
            .as_deref()
            .map(|json| self.decode_schedule(json))
            .transpose()?;
        let after = change.apply(before);
        match &after {
            Some(record) => {
                let json = serde_json::to_string(record).map_err(|error| {
                    self.refuse(
                        None,
                        DatabaseProblem::Other(format!("a schedule's record: {error}")),
                    )
                })?;
                sqlx::query(AssertSqlSafe(format!(
                    "INSERT INTO {s}.schedules (name, workflow, record) VALUES ($1, $2, $3)
                     ON CONFLICT (name) DO UPDATE SET workflow = $2, record = $3"
                )))
                .bind(name)
                .bind(&record.workflow)
                .bind(json)
                .execute(&mut *transaction)
                .await
                .map_err(fail)?;
            }
            None => {
                sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM {s}.schedules WHERE name = $1"
                )))
                .bind(name)
                .execute(&mut *transaction)
                .await
                .map_err(fail)?;
            }
        }
        transaction.commit().await.map_err(fail)?;
        Ok(after)
    }
}
