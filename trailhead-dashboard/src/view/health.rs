//! The health page: what the engine's [`Health`] report says.

use maud::{Markup, html};
use trailhead_core::Health;

use crate::paths::Base;
use crate::text;

/// The health page's body.
pub(crate) fn body(base: &Base, health: &Health) -> Markup {
    let open: Vec<_> = health.open_breakers().collect();
    html! {
        h1 { "Health " @if health.is_healthy() { span.status.status-completed { "healthy" } } @else { span.status.status-failed { "needs attention" } } }
        dl.fields {
            dt { "Runs in flight here" } dd { (health.in_flight) }
            dt { "Sleeping, unloaded" } dd { (health.unloaded) }
            dt { "Queued for a place" } dd { (health.queued) }
            dt { "Compensated runs" } dd { (health.compensated) }
            dt { "Store latency" } dd { (text::duration(health.store_latency)) }
        }
        h2 { "Stalled runs" }
        @if health.stalled.is_empty() { p.empty { "None." } } @else {
            table { thead { tr { th { "Run" } th { "Workflow" } th { "Idle for" } } }
                tbody { @for run in &health.stalled { tr { td { a href=(base.run(&run.run, "")) { code { (run.run) } } } td { (run.workflow) } td { (text::duration(run.idle)) } } } } }
        }
        h2 { "Paused runs" }
        p.note { "Steps the debugger holds at a breakpoint: waiting for a person, not stalled." }
        @if health.paused.is_empty() { p.empty { "None." } } @else {
            table.paused { thead { tr { th { "Run" } th { "Workflow" } th { "Step" } th { "When" } } }
                tbody { @for run in &health.paused { tr { td { a href=(base.run(&run.run, "")) { code { (run.run) } } } td { (run.workflow) } td { code { (run.step) } } td { (super::run::when_name(run.when)) } } } } }
        }
        h2 { "Open circuit breakers" }
        @if open.is_empty() { p.empty { "None." } } @else {
            ul { @for breaker in &open { li { code { (breaker.name) } " " (format!("{:?}", breaker.state)) } } }
        }
        h2 { "Failed compensations" }
        @if health.failed_compensations.is_empty() { p.empty { "None." } } @else {
            table { thead { tr { th { "Run" } th { "Workflow" } th { "Step" } th { "Error" } } }
                tbody { @for failed in &health.failed_compensations { tr { td { a href=(base.run(&failed.run, "")) { code { (failed.run) } } } td { (failed.workflow) } td { code { (failed.step) } } td { pre { (failed.error) } } } } } }
        }
        h2 { "Suspended runs" }
        @if health.suspended.is_empty() { p.empty { "None." } } @else {
            table { thead { tr { th { "Run" } th { "Workflow" } th { "Since" } th { "Error" } } }
                tbody { @for run in &health.suspended { tr { td { a href=(base.run(&run.run, "")) { code { (run.run) } } } td { (run.workflow) } td { (text::time(run.since)) } td { pre { (run.error) } } } } } }
        }
        h2 { "Schedules" }
        @if health.schedules.is_empty() { p.empty { "None." } } @else {
            table.schedules { thead { tr { th { "Schedule" } th { "Workflow" } th { "When" } th { "Next tick" } th { "Last tick" } th { "Started" } th { "Skipped" } } }
                tbody { @for schedule in &health.schedules { tr {
                    td { code { (schedule.name) } @if schedule.paused { " " span.status.status-cancelled { "paused" } } }
                    td { (schedule.workflow) }
                    td { code { (schedule.spec) } }
                    td { (schedule.next_tick.map(text::time).unwrap_or_default()) }
                    td { (schedule.last_tick.map(text::time).unwrap_or_default()) }
                    td { (schedule.runs_started) }
                    td { (schedule.runs_skipped) }
                } } } }
        }
        h2 { "Workers" }
        @if health.fleet.workers.is_empty() { p.empty { "This store keeps no worker list." } } @else {
            table { thead { tr { th { "Worker" } th { "Alive" } th { "Runs held" } } }
                tbody { @for worker in &health.fleet.workers { tr { td { code { (worker.worker) } } td { (if worker.alive { "yes" } else { "no" }) } td { (worker.runs) } } } } }
        }
        @if !health.fleet.queues.is_empty() {
            h2 { "Queues" }
            table { thead { tr { th { "Queue" } th { "Waiting" } } }
                tbody { @for queue in &health.fleet.queues { tr { td { (queue.queue.as_deref().unwrap_or("(default)")) } td { (queue.waiting) } } } } }
        }
    }
}
