//! Schedules on PostgreSQL, beyond the conformance suite's rules (which run
//! here too, in `tests/store`): the rows live in the store's own schema, one
//! JSON record each, and another store on the schema reads them.

use std::time::UNIX_EPOCH;

use super::*;
use crate::schedule::{Schedule, ScheduleChange, ScheduleRecord};
use crate::store::Store;

#[tokio::test]
async fn schedules_are_rows_of_the_stores_schema() {
    let schema = fresh("schedules").await;
    let store = store_in(&schema).await;
    let hourly = Schedule::cron("0 * * * *").unwrap();
    let input = Value::encode(&1_u32).unwrap();
    let record = ScheduleRecord::new("hourly", "report", hourly, input, UNIX_EPOCH);
    let change = ScheduleChange::Register(Box::new(record.clone()));
    store.change_schedule("hourly", change).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT name, workflow FROM {schema}.schedules"
    )))
    .fetch_all(&admin().await)
    .await
    .unwrap();
    assert_eq!(rows, [("hourly".to_owned(), "report".to_owned())]);
    // Another schema knows nothing of it; another store on this one does.
    let elsewhere = store_in(&fresh("schedules_elsewhere").await).await;
    assert!(elsewhere.list_schedules().await.unwrap().is_empty());
    let again = store_in(&schema).await;
    assert_eq!(again.schedule("hourly").await.unwrap(), Some(record));
}
