//! The run list: filters, a search by id, a page of runs.

use std::time::SystemTime;

use maud::{Markup, html};
use trailhead_core::store::{RunRecord, RunStatus};

use crate::paths::Base;
use crate::text;

/// What the list is filtered by, as the form and the query say it.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
pub(crate) struct Filter {
    /// A status name, or empty for all.
    #[serde(default)]
    pub(crate) status: String,
    /// A workflow's name, or empty for all.
    #[serde(default)]
    pub(crate) workflow: String,
    /// Part of a run id, or empty.
    #[serde(default)]
    pub(crate) q: String,
    /// The id of the last run of the page before.
    #[serde(default)]
    pub(crate) after: String,
}

/// Runs on one page.
pub(crate) const PAGE: usize = 50;

impl Filter {
    /// Whether `run` passes the filter.
    pub(crate) fn keeps(&self, run: &RunRecord) -> bool {
        (self.workflow.is_empty() || run.workflow == self.workflow)
            && (self.q.is_empty() || run.id.as_str().contains(self.q.trim()))
    }
}

/// The list page's body: the form, then `runs` (a page of them), then a
/// link to the next page if `more`.
pub(crate) fn body(base: &Base, filter: &Filter, runs: &[RunRecord], more: bool) -> Markup {
    html! {
        h1 { "Runs" }
        form.filters method="get" action=(base.runs()) {
            label { "Status "
                select name="status" {
                    option value="" selected[filter.status.is_empty()] { "any" }
                    @for status in RunStatus::ALL {
                        option value=(status.name()) selected[filter.status == status.name()] { (status.name()) }
                    }
                }
            }
            label { "Workflow " input type="text" name="workflow" value=(filter.workflow) placeholder="any"; }
            label { "Run id " input type="search" name="q" value=(filter.q) placeholder="search by id"; }
            button type="submit" { "Filter" }
        }
        @if runs.is_empty() {
            p.empty { "No runs." }
        } @else {
            table.runs {
                thead { tr { th { "Run" } th { "Workflow" } th { "Status" } th { "Created" } th { "Duration" } th { "Parent" } } }
                tbody {
                    @for run in runs {
                        tr {
                            td { a href=(base.run(&run.id, "")) { code { (run.id) } } }
                            td { (run.workflow) }
                            td { (super::status(run.status())) }
                            td { (text::time(run.created_at)) }
                            td { (text::duration(text::between(run.created_at, run.finished_at().unwrap_or_else(SystemTime::now)))) }
                            td { @if let Some(parent) = &run.parent { a href=(base.run(parent, "")) { code { (parent) } } } @else { "–" } }
                        }
                    }
                }
            }
            @if more {
                @if let Some(last) = runs.last() {
                    @let next = Filter { after: last.id.to_string(), ..filter.clone() };
                    p { a.next href={ (base.runs()) "?" (serde_urlencoded::to_string(&next).unwrap_or_default()) } { "Next page →" } }
                }
            }
        }
    }
}
