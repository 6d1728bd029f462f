//! The run page: its header, the step the debugger holds paused (if one
//! is), live diagram, journal, child runs and, when allowed, actions (cancel
//! and signal a run in flight, resume a paused one and add a breakpoint for
//! it; fork a finished run from a row of its journal). Each part is one
//! element with an id; the live stream sends the same parts again, rendered
//! by the same functions.

use std::time::SystemTime;

use maud::{Markup, PreEscaped, html};
use trailhead_core::debug::When;
use trailhead_core::picture::{Timeline, TimelineEvent};
use trailhead_core::store::{StepOutcome, StepRecord};

use crate::actions::Actions;
use crate::paths::Base;
use crate::snapshot::Snapshot;
use crate::{svg, text};

/// Journal entries shown at most (the latest); the JSON API has them all.
const JOURNAL_ROWS: usize = 500;

/// The parts the live stream updates, by section id.
pub(crate) fn parts(base: &Base, run: &Snapshot, actions: &Actions) -> Vec<(&'static str, String)> {
    vec![
        ("run-header", header(base, run).into_string()),
        ("paused", paused(base, run, actions).into_string()),
        ("diagram", diagram(run).into_string()),
        ("journal", journal(base, run, actions).into_string()),
        ("children", children(base, run).into_string()),
    ]
}

/// The whole page's body.
pub(crate) fn body(base: &Base, run: &Snapshot, actions: &Actions) -> Markup {
    let record = &run.record;
    html! {
        div #run data-live=(base.run(&record.id, "live")) data-ended=(record.state.is_ended())
            data-actions=(actions.offered()) data-token=(actions.needs_token()) {
            section #run-header { (header(base, run)) }
            div #paused { (paused(base, run, actions)) }
            @if actions.offered() && !record.state.is_ended() {
                (controls(base, run))
            }
            section #diagram-section {
                h2 { "Diagram" }
                @if record.state.is_ended() { (time_travel(base, run)) }
                div #diagram { (diagram(run)) }
            }
            section #journal-section {
                h2 { "Journal" }
                p.note {
                    a href=(base.run(&record.id, "trace.json")) { "Download the trace" }
                    " (Chrome trace-event JSON, with child runs) to open in Perfetto or chrome://tracing."
                }
                div #journal { (journal(base, run, actions)) }
            }
            section #children-section {
                h2 { "Child runs" }
                div #children { (children(base, run)) }
            }
        }
    }
}

/// The run's id, status, times and error with its full chain.
fn header(base: &Base, run: &Snapshot) -> Markup {
    let record = &run.record;
    let ended = record.finished_at();
    let took = text::between(record.created_at, ended.unwrap_or_else(SystemTime::now));
    html! {
        h1 { "Run " code { (record.id) } " " (super::status(record.status())) }
        dl.fields {
            dt { "Workflow" } dd { (record.workflow) }
            dt { "Created" } dd { (text::time(record.created_at)) }
            dt { "Ended" } dd { @if let Some(at) = ended { (text::time(at)) } @else { "–" } }
            dt { "Duration" } dd { (text::duration(took)) @if ended.is_none() { " so far" } }
            @if let Some(parent) = &record.parent {
                dt { "Parent" } dd { a href=(base.run(parent, "")) { code { (parent) } } }
            }
            dt { "Definition" } dd { code { (format!("{:016x}", record.definition_hash)) } }
            @if record.cancel_requested && !record.state.is_ended() {
                dt { "Cancel" } dd { "asked for; the worker that drives the run stops it" }
            }
        }
        @if let Some(error) = record.error() {
            div.error { h3 { "Error" } pre { (error) } }
        }
        @if let Some(cause) = record.undone_for() {
            div.cause { h3 { "Undone because" } pre { (cause) } }
        }
    }
}

/// The run's paused steps (nothing when none is): each one's key, where it
/// stopped, its arguments one a line, its output or error and how much of
/// the journal was written by then; with actions, the buttons that resume
/// the run (all its paused steps: a resume is the run's).
fn paused(base: &Base, run: &Snapshot, actions: &Actions) -> Markup {
    if run.paused.is_empty() {
        return html! {};
    }
    html! {
        section.paused-panel {
            h2 { "Paused" }
            @for pause in &run.paused {
                dl.fields.pause data-key=(pause.key) data-when=(when_name(pause.when)) {
                    dt { "Step" } dd { code { (pause.key) } }
                    dt { "When" } dd { (when_text(pause.when)) }
                    dt { "Arguments" } dd {
                        @if pause.arguments.is_empty() { span.empty { "none" } } @else {
                            ol.arguments { @for argument in &pause.arguments { li { pre { (argument) } } } }
                        }
                    }
                    @if let Some(output) = &pause.output { dt { "Output" } dd { pre.output { (output) } } }
                    @if let Some(error) = &pause.error { dt { "Error" } dd { pre.problem { (error) } } }
                    dt { "Journal so far" } dd {
                        (pause.journaled.len()) @if pause.journaled.len() == 1 { " entry" } @else { " entries" }
                    }
                }
            }
            @if actions.offered() {
                div.resume data-action=(base.run(&run.record.id, "debug")) {
                    button type="button" data-resume="continue" title="Until the next breakpoint" { "Continue" }
                    button type="button" data-resume="step" title="Until the next step of this run starts" { "Step" }
                    button type="button" data-resume="step_over" title="Past the loop or fan-out the step is in" { "Step over" }
                    span.resume-result role="status" {}
                }
            }
        }
    }
}

/// `when` as the API writes it (`before`, `after`, `failed`).
pub(crate) fn when_name(when: When) -> String {
    serde_json::to_value(when)
        .ok()
        .and_then(|name| name.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Where a paused step stopped, in words.
fn when_text(when: When) -> &'static str {
    match when {
        When::Before => "before it starts",
        When::After => "after it completed",
        When::Failed => "after it failed for good",
        _ => "at a breakpoint",
    }
}

/// The live diagram, as SVG drawn from the picture, the paused steps'
/// nodes marked.
fn diagram(run: &Snapshot) -> Markup {
    match &run.picture {
        Ok(picture) => PreEscaped(svg::draw(picture, &run.paused_nodes())),
        Err(why) => html! { p.empty { "No diagram: " (why) } },
    }
}

/// Longest value a time-travel caption shows, in characters.
const LABEL_VALUE: usize = 200;

/// The time-travel control of an ended run: back and forward a journal
/// event at a time, a slider over them all, and a jump to the failure if
/// the run failed; its caption says which event the diagram shows (the
/// last, as the page loads). The page's script fetches the diagram after
/// each event from `data-timeline`/{i}. Nothing for a run without a
/// picture or a journal.
fn time_travel(base: &Base, run: &Snapshot) -> Markup {
    if run.picture.is_err() {
        return html! {};
    }
    let Ok(timeline) = Timeline::of(&run.record, &run.journal) else {
        return html! {};
    };
    let events = timeline.events();
    let Some(last) = events.last() else {
        return html! {};
    };
    let count = events.len();
    html! {
        div #time-travel data-timeline=(base.api_run(&run.record.id, "timeline")) data-at=(last.index) {
            h3 { "Time travel" }
            div.travel {
                button #travel-back type="button" title="The event before" aria-label="The event before" { "◀" }
                input #travel-at type="range" min="0" max=(count - 1) step="1" value=(last.index) aria-label="Event";
                button #travel-forward type="button" title="The event after" aria-label="The event after" { "▶" }
                @if let Some(failure) = timeline.failure() {
                    button #travel-failure type="button" data-at=(failure.index)
                        title={ "Where the failure came from: " (failure.key) " failed" } { "Jump to the failure" }
                }
            }
            p #travel-event role="status" { (travel_label(last, count)) }
        }
    }
}

/// A time-travel caption: `event 3 of 4: ship — failed, no truck`.
pub(crate) fn travel_label(event: &TimelineEvent, count: usize) -> String {
    let kind = serde_json::to_value(event.kind)
        .ok()
        .and_then(|kind| kind.as_str().map(|kind| kind.replace('_', " ")))
        .unwrap_or_default();
    let mut label = format!(
        "event {} of {count}: {} — {kind}",
        event.index + 1,
        event.key
    );
    if let Some(value) = &event.value {
        let value = text::one_line(value);
        label.push_str(", ");
        match value.char_indices().nth(LABEL_VALUE) {
            Some((cut, _)) => {
                label.push_str(&value[..cut]);
                label.push('…');
            }
            None => label.push_str(&value),
        }
    }
    label
}

/// The journal as a timeline: each entry's bar from its first start to its
/// last end, on the run's time from its creation to now or its end. For a
/// finished run on a dashboard that takes actions, each step's row (not a
/// compensation's) has a button to fork the run from that step.
fn journal(base: &Base, run: &Snapshot, actions: &Actions) -> Markup {
    let record = &run.record;
    let entries = &run.journal;
    if entries.is_empty() {
        return html! { p.empty { "Nothing journaled yet." } };
    }
    let origin = record.created_at;
    let end = entries
        .iter()
        .map(|entry| entry.finished_at)
        .chain(record.finished_at())
        .max()
        .unwrap_or(origin);
    let span = text::between(origin, end).as_secs_f64().max(1e-6);
    let percent = |at: SystemTime| 100.0 * text::between(origin, at).as_secs_f64() / span;
    let shown = &entries[entries.len().saturating_sub(JOURNAL_ROWS)..];
    let forkable = actions.offered() && record.state.is_ended();
    let columns = if forkable { 7 } else { 6 };
    html! {
        @if shown.len() < entries.len() {
            p.note { "The latest " (shown.len()) " of " (entries.len()) " entries." }
        }
        table.journal data-fork=[forkable.then(|| base.run(&record.id, "fork"))]
            data-runs=[forkable.then(|| base.run_pages())] {
            thead { tr {
                th { "Key" } th { "Outcome" } th { "Attempts" } th { "Started" } th { "Duration" } th.timeline { "Timeline" }
                @if forkable { th.fork { "Fork" } }
            } }
            tbody {
                @for entry in shown {
                    @let outcome = outcome(entry);
                    tr class={ "entry outcome-" (outcome) } data-key=(entry.key) {
                        td { code { (entry.key) } }
                        td { (outcome) }
                        td { (entry.attempts) }
                        td { "+" (text::duration(text::between(origin, entry.started_at))) }
                        td { (text::duration(text::between(entry.started_at, entry.finished_at))) }
                        td.timeline {
                            @let left = percent(entry.started_at);
                            @let width = (percent(entry.finished_at) - left).max(0.4);
                            span.bar style=(format!("left:{left:.2}%;width:{width:.2}%")) {}
                        }
                        @if forkable {
                            td.fork {
                                @if entry.key.undone().is_none() {
                                    button.fork type="button" data-from=(entry.key)
                                        title={ "A new run that replays the entries before " (entry.key) " and runs it and what follows again" } {
                                        "fork from here"
                                    }
                                }
                            }
                        }
                    }
                    @if let Some(failure) = entry.outcome.failure() {
                        tr.failure { td colspan=(columns) { pre { (failure) } } }
                    }
                }
            }
        }
    }
}

fn outcome(entry: &StepRecord) -> &'static str {
    match entry.outcome {
        StepOutcome::Completed(_) if entry.key.undone().is_some() => "compensated",
        StepOutcome::Completed(_) => "completed",
        StepOutcome::Failed(_) => "failed",
        StepOutcome::FellBack(_) => "fell_back",
    }
}

/// The run's child runs, linked.
fn children(base: &Base, run: &Snapshot) -> Markup {
    html! {
        @if run.children.is_empty() {
            p.empty { "None." }
        } @else {
            ul.children {
                @for child in &run.children {
                    li { a href=(base.run(&child.id, "")) { code { (child.id) } } " " (child.workflow) " " (super::status(child.status())) }
                }
            }
        }
    }
}

/// Cancel and signal, and a breakpoint for this run on an engine with a
/// debugger, for a dashboard that takes actions (whether it asks for a
/// token is `#run`'s `data-token`).
fn controls(base: &Base, run: &Snapshot) -> Markup {
    let id = &run.record.id;
    let signals = run.signals();
    html! {
        section #actions {
            h2 { "Actions" }
            button #cancel type="button" data-action=(base.run(id, "cancel")) { "Cancel run" }
            form #signal data-action=(base.run(id, "signal")) {
                label { "Signal "
                    @if signals.is_empty() {
                        input type="text" name="name" required placeholder="name";
                    } @else {
                        select name="name" { @for name in &signals { option value=(name) { (name) } } }
                    }
                }
                label { "Value (JSON) " input type="text" name="value" value="null"; }
                button type="submit" { "Send" }
            }
            @if run.debugger {
                form #breakpoint data-action=(base.breakpoints()) data-run=(id) {
                    label { "Break at steps " input type="text" name="steps" required placeholder="charge, reserve[*], *"; }
                    label { "When "
                        select name="when" {
                            option value="before" { "before it starts" }
                            option value="after" { "after it completes" }
                            option value="failed" { "when it fails" }
                        }
                    }
                    button type="submit" { "Add breakpoint" }
                }
            }
            p #action-result role="status" {}
        }
    }
}
