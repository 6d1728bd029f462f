//! `trailhead runs`: the runs of a store, filtered, a page at a time.

use trailhead_core::store::{RunRecord, RunStatus, Store};

use crate::cli::RunsArgs;
use crate::failure::{Failure, NOT_FOUND};
use crate::table::Table;
use crate::{Output, format, json};

/// Lists the runs `args` asks for.
pub(crate) async fn runs(
    store: &dyn Store,
    name: &str,
    args: &RunsArgs,
) -> Result<Output, Failure> {
    let statuses: Vec<RunStatus> = args.status.iter().map(|&status| status.into()).collect();
    // One status is filtered by the store (an index); several here.
    let asked = match statuses[..] {
        [one] => Some(one),
        _ => None,
    };
    let mut runs = store
        .list_runs(asked)
        .await
        .map_err(|error| Failure::store(name, &error))?;
    runs.retain(|run| keeps(args, &statuses, run));
    if !args.oldest_first {
        runs.reverse();
    }
    let start = match (&args.after, args.offset) {
        (Some(after), _) => {
            let at = runs.iter().position(|run| run.id.as_str() == after).ok_or_else(|| {
                Failure::new(
                    NOT_FOUND,
                    format!(
                        "the store at `{name}`: run `{after}` given to --after is not among the runs listed"
                    ),
                )
            })?;
            at + 1
        }
        (None, Some(offset)) => offset,
        (None, None) => 0,
    };
    let rest = runs.get(start..).unwrap_or_default();
    let page = match args.limit {
        0 => rest,
        limit => &rest[..limit.min(rest.len())],
    };
    let more = (page.len() < rest.len())
        .then(|| page.last())
        .flatten()
        .map(|last| {
            format!(
                "{} more runs: add --after {} for the next page",
                rest.len() - page.len(),
                last.id
            )
        });
    let stdout = if args.json {
        let list: Vec<_> = page.iter().map(json::run).collect();
        format!("{}\n", serde_json::Value::Array(list))
    } else if page.is_empty() {
        "no runs\n".to_owned()
    } else {
        table(page).to_string()
    };
    Ok(Output {
        stdout,
        stderr: if args.json { None } else { more },
        code: 0,
    })
}

fn keeps(args: &RunsArgs, statuses: &[RunStatus], run: &RunRecord) -> bool {
    (statuses.is_empty() || statuses.contains(&run.status()))
        && args
            .workflow
            .as_ref()
            .is_none_or(|name| &run.workflow == name)
        && args.since.is_none_or(|since| run.created_at >= since)
        && args.until.is_none_or(|until| run.created_at < until)
        && args
            .parent
            .as_ref()
            .is_none_or(|parent| run.parent.as_ref().is_some_and(|p| p.as_str() == parent))
        && (!args.top_level || run.parent.is_none())
}

fn table(runs: &[RunRecord]) -> Table {
    let mut table = Table::new(vec![
        "RUN", "WORKFLOW", "STATUS", "CREATED", "DURATION", "PARENT",
    ]);
    for run in runs {
        table.row(vec![
            run.id.to_string(),
            run.workflow.clone(),
            run.status().name().to_owned(),
            format::time(run.created_at),
            format::duration(format::run_duration(run)),
            run.parent
                .as_ref()
                .map_or_else(|| "-".to_owned(), ToString::to_string),
        ]);
    }
    table
}
