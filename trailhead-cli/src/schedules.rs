//! `trailhead schedules`: the schedules a store keeps, with their next tick.

use std::time::SystemTime;

use trailhead_core::ScheduleInfo;
use trailhead_core::store::Store;

use crate::cli::SchedulesArgs;
use crate::failure::Failure;
use crate::table::Table;
use crate::{Output, format, json};

/// Lists the store's schedules, by name.
pub(crate) async fn schedules(
    store: &dyn Store,
    name: &str,
    args: &SchedulesArgs,
) -> Result<Output, Failure> {
    let records = store
        .list_schedules()
        .await
        .map_err(|error| Failure::store(name, &error))?;
    let now = SystemTime::now();
    let listed: Vec<ScheduleInfo> = records
        .iter()
        .map(|record| ScheduleInfo::of(record, now))
        .collect();
    let stdout = if args.json {
        let list: Vec<_> = listed.iter().map(json::schedule).collect();
        format!("{}\n", serde_json::Value::Array(list))
    } else if listed.is_empty() {
        "no schedules\n".to_owned()
    } else {
        table(&listed).to_string()
    };
    Ok(Output {
        stdout,
        stderr: None,
        code: 0,
    })
}

fn table(schedules: &[ScheduleInfo]) -> Table {
    let mut table = Table::new(vec![
        "SCHEDULE",
        "WORKFLOW",
        "SPEC",
        "NEXT TICK",
        "LAST TICK",
        "PAUSED",
        "STARTED",
        "SKIPPED",
    ]);
    let time = |at: Option<SystemTime>| at.map_or_else(|| "-".to_owned(), format::time);
    for schedule in schedules {
        table.row(vec![
            schedule.name.clone(),
            schedule.workflow.clone(),
            schedule.spec.clone(),
            time(schedule.next_tick),
            time(schedule.last_tick),
            if schedule.paused { "yes" } else { "no" }.to_owned(),
            schedule.runs_started.to_string(),
            schedule.runs_skipped.to_string(),
        ]);
    }
    table
}
