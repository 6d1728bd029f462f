//! `trailhead show RUN`: a run's record, its journal and its child runs.

use std::fmt::Write as _;

use trailhead_core::RunId;
use trailhead_core::store::{RunRecord, StepRecord, Store};

use crate::cli::ShowArgs;
use crate::failure::Failure;
use crate::table::Table;
use crate::{Output, format, json};

/// Shows the run `args` names.
pub(crate) async fn show(
    store: &dyn Store,
    name: &str,
    args: &ShowArgs,
) -> Result<Output, Failure> {
    let id = RunId::new(args.run.as_str());
    let fail = |error| Failure::store(name, &error);
    let (run, journal) = crate::recorded::recorded(store, name, &args.run).await?;
    let children = store.children(&id).await.map_err(fail)?;
    let stdout = if args.json {
        let shown = serde_json::json!({
            "run": json::run(&run),
            "journal": journal.iter().map(json::step).collect::<Vec<_>>(),
            "children": children.iter().map(json::run).collect::<Vec<_>>(),
        });
        format!("{shown}\n")
    } else {
        text(&run, &journal, &children)
    };
    Ok(Output::stdout(stdout))
}

fn text(run: &RunRecord, journal: &[StepRecord], children: &[RunRecord]) -> String {
    let mut fields: Vec<(&str, String)> = vec![
        ("run", run.id.to_string()),
        ("workflow", run.workflow.clone()),
        ("status", run.status().name().to_owned()),
    ];
    if let Some(error) = format::run_error(run) {
        fields.push(("error", error));
    }
    if let Some(cause) = format::run_cause(run) {
        fields.push(("undone for", cause));
    }
    if let Some(output) = format::run_output(run) {
        fields.push(("output", output.to_string()));
    }
    fields.push(("created", format::time(run.created_at)));
    fields.push((
        "finished",
        run.finished_at()
            .map_or_else(|| "-".to_owned(), format::time),
    ));
    let took = format::duration(format::run_duration(run));
    fields.push((
        "duration",
        if run.state.is_ended() {
            took
        } else {
            format!("{took} so far")
        },
    ));
    fields.push((
        "parent",
        run.parent
            .as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string),
    ));
    fields.push(("definition", format!("{:016x}", run.definition_hash)));
    let width = fields.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, value) in &fields {
        let _ = writeln!(out, "{name:width$}  {value}");
    }
    let _ = writeln!(out, "\njournal ({} entries)", journal.len());
    if !journal.is_empty() {
        let mut table = Table::new(vec!["KEY", "OUTCOME", "ATTEMPTS", "DURATION", "ERROR"]);
        for step in journal {
            table.row(vec![
                step.key.to_string(),
                format::step_outcome(&step.outcome).to_owned(),
                step.attempts.to_string(),
                format::duration(format::between(step.started_at, step.finished_at)),
                step.outcome
                    .failure()
                    .map(format::one_line)
                    .unwrap_or_default(),
            ]);
            // Each retried attempt under its step, then the wait after it.
            for (i, retry) in step.retries.iter().enumerate() {
                table.row(vec![
                    format!("  attempt {}", i + 1),
                    "retried".to_owned(),
                    String::new(),
                    format!(
                        "{} + {} wait",
                        format::duration(format::between(retry.started_at, retry.failed_at)),
                        format::duration(format::between(retry.failed_at, retry.retried_at)),
                    ),
                    format::one_line(&retry.error),
                ]);
            }
        }
        out.push_str(&table.to_string());
    }
    let _ = writeln!(out, "\nchildren ({})", children.len());
    if !children.is_empty() {
        let mut table = Table::new(vec!["RUN", "WORKFLOW", "STATUS"]);
        for child in children {
            table.row(vec![
                child.id.to_string(),
                child.workflow.clone(),
                child.status().name().to_owned(),
            ]);
        }
        out.push_str(&table.to_string());
    }
    out
}
