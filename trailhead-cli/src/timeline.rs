//! `trailhead timeline RUN [--at N]`: time travel over a recorded run, from
//! its record and journal ([`Timeline`]).

use std::fmt::Write as _;

use trailhead_core::picture::{Timeline, TimelineEvent};
use trailhead_core::store::{RunRecord, Store};

use crate::cli::TimelineArgs;
use crate::failure::{Failure, GENERAL};
use crate::table::Table;
use crate::{Output, diagram, format, json};

/// The longest value or error a row of the event table shows.
const VALUE_CHARS: usize = 60;

/// Lists the events of the run `args` names, or draws it after event `--at`.
pub(crate) async fn timeline(
    store: &dyn Store,
    name: &str,
    args: &TimelineArgs,
) -> Result<Output, Failure> {
    let (record, journal) = crate::recorded::recorded(store, name, &args.run).await?;
    let timeline =
        Timeline::of(&record, &journal).map_err(|error| diagram::no_picture(name, &error))?;
    let stdout = match args.at {
        None if args.json => {
            let events: Vec<_> = timeline.events().iter().map(json::event).collect();
            format!("{}\n", serde_json::Value::Array(events))
        }
        None => events(&record, &timeline),
        Some(at) => {
            let events = timeline.events();
            let Some(event) = events.get(at) else {
                return Err(past_the_end(name, &record, events.len(), at));
            };
            let picture = timeline.picture_at(at);
            if args.json {
                let picture = serde_json::to_value(&picture).map_err(|error| {
                    Failure::new(GENERAL, format!("cannot write JSON: {error}"))
                })?;
                let shown = serde_json::json!({ "event": json::event(event), "picture": picture });
                format!("{shown}\n")
            } else {
                format!(
                    "{}\n\n{}\n{}",
                    event_line(event, events.len()),
                    picture.to_mermaid(),
                    diagram::states(&picture)
                )
            }
        }
    };
    Ok(Output::stdout(stdout))
}

/// The event table, then where the run's failure came from if it failed.
fn events(record: &RunRecord, timeline: &Timeline) -> String {
    let mut out = String::new();
    let events = timeline.events();
    if events.is_empty() {
        let _ = writeln!(out, "run `{}` has journaled no step yet", record.id);
    } else {
        let mut table = Table::new(vec!["#", "TIME", "KEY", "EVENT", "VALUE"]);
        for event in events {
            table.row(vec![
                event.index.to_string(),
                format::time(event.at),
                event.key.clone(),
                format::event_kind(event.kind),
                event
                    .value
                    .as_deref()
                    .map(|value| format::clip(value, VALUE_CHARS))
                    .unwrap_or_default(),
            ]);
        }
        out.push_str(&table.to_string());
    }
    if let Some(line) = failure_line(record, timeline) {
        let _ = writeln!(out, "\n{line}");
    }
    out
}

/// Where the failure of a run that failed (or was undone) came from.
fn failure_line(record: &RunRecord, timeline: &Timeline) -> Option<String> {
    let error = format::run_error(record);
    let undone = format::run_cause(record);
    if error.is_none() && undone.is_none() {
        return None;
    }
    let what = if error.is_some() {
        "the run failed"
    } else {
        "the run was undone"
    };
    Some(match (timeline.failure(), error, undone) {
        (Some(event), _, _) => format!(
            "{what}: its failure came from event {}, step `{}`: {}",
            event.index,
            event.key,
            format::one_line(event.value.as_deref().unwrap_or_default())
        ),
        (None, Some(error), _) => format!("{what}, no step failed for good: {error}"),
        (None, None, Some(cause)) => format!("{what}, no step failed for good: {cause}"),
        (None, None, None) => return None,
    })
}

/// Event `event` of `count`, on one line.
fn event_line(event: &TimelineEvent, count: usize) -> String {
    let mut line = format!(
        "event {} of {count} ({}): `{}` {}",
        event.index,
        format::time(event.at),
        event.key,
        format::event_kind(event.kind)
    );
    if let Some(value) = &event.value {
        let _ = write!(line, ": {}", format::one_line(value));
    }
    line
}

/// `--at` past the last of `count` events.
fn past_the_end(name: &str, record: &RunRecord, count: usize, at: usize) -> Failure {
    let has = match count {
        0 => "no events (it has journaled no step)".to_owned(),
        1 => "1 event (--at 0)".to_owned(),
        n => format!("{n} events (--at 0 to {})", n - 1),
    };
    Failure::new(
        GENERAL,
        format!(
            "the store at `{name}`: run `{}` has {has}: no event {at}",
            record.id
        ),
    )
}
