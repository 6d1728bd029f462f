//! `trailhead stats WORKFLOW`: per step site, where a workflow's time goes.

use trailhead_core::stats::{StatsOptions, WorkflowStats};
use trailhead_core::store::Store;

use crate::cli::StatsArgs;
use crate::failure::Failure;
use crate::table::Table;
use crate::{Output, format};

/// The statistics of the workflow `args` names, as a table or JSON.
pub(crate) async fn stats(
    store: &dyn Store,
    name: &str,
    args: &StatsArgs,
) -> Result<Output, Failure> {
    let mut options = StatsOptions::new().with_limit(args.limit);
    if let Some(since) = args.since {
        options = options.with_since(since);
    }
    let stats = trailhead_core::stats::of_workflow(store, &args.workflow, &options)
        .await
        .map_err(|error| Failure::store(name, &error))?;
    if args.json {
        let json = serde_json::to_string(&stats).map_err(|error| {
            Failure::new(
                crate::failure::GENERAL,
                format!("cannot write JSON: {error}"),
            )
        })?;
        return Ok(Output::stdout(format!("{json}\n")));
    }
    Ok(Output::stdout(text(&stats)))
}

fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

fn text(stats: &WorkflowStats) -> String {
    if stats.runs == 0 {
        return format!("no runs of workflow `{}` in the store\n", stats.workflow);
    }
    let mut table = Table::new(vec![
        "site", "kind", "count", "p50", "p95", "p99", "max", "retried", "failed",
    ]);
    for site in &stats.sites {
        table.row(vec![
            site.site.clone(),
            site.kind.clone(),
            site.count.to_string(),
            format::duration(site.p50),
            format::duration(site.p95),
            format::duration(site.p99),
            format::duration(site.max),
            percent(site.retry_rate),
            percent(site.failure_rate),
        ]);
    }
    let runs = if stats.runs == 1 { "run" } else { "runs" };
    format!(
        "workflow `{}`, {} {runs}\n{}",
        stats.workflow, stats.runs, table
    )
}
