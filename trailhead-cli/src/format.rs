//! How times, durations, statuses and outcomes read in the human output:
//! the same words in every subcommand.

use std::time::{Duration, SystemTime};

use trailhead_core::picture::EventKind;
use trailhead_core::store::{RunOutcome, RunRecord, StepOutcome};

/// A step's outcome in one word.
pub(crate) fn step_outcome(outcome: &StepOutcome) -> &'static str {
    match outcome {
        StepOutcome::Completed(_) => "completed",
        StepOutcome::Failed(_) => "failed",
        StepOutcome::FellBack(_) => "fell_back",
    }
}

/// A timeline event's kind in one word (`started`, `completed`, `failed`,
/// `fell_back`), as trailhead-core serializes it.
pub(crate) fn event_kind(kind: EventKind) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(word)) => word,
        _ => format!("{kind:?}"),
    }
}

/// `text` on one line, cut to `chars` characters (an ellipsis marks a cut).
pub(crate) fn clip(text: &str, chars: usize) -> String {
    let line = one_line(text);
    if line.chars().count() <= chars {
        return line;
    }
    let mut cut: String = line.chars().take(chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `at` in RFC 3339, to the millisecond, in UTC.
pub(crate) fn time(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// `span` short and readable: `850µs`, `12ms`, `1.25s`, `3m 20s`, `2h 5m`.
pub(crate) fn duration(span: Duration) -> String {
    let micros = span.as_micros();
    if micros < 1_000 {
        return format!("{micros}µs");
    }
    let millis = span.as_millis();
    if millis < 1_000 {
        return format!("{millis}ms");
    }
    if millis < 60_000 {
        return format!("{:.2}s", span.as_secs_f64());
    }
    let secs = span.as_secs();
    if secs < 3_600 {
        return format!("{}m {}s", secs / 60, secs % 60);
    }
    format!("{}h {}m", secs / 3_600, (secs % 3_600) / 60)
}

/// From `from` to `to`, zero if the clock went back.
pub(crate) fn between(from: SystemTime, to: SystemTime) -> Duration {
    to.duration_since(from).unwrap_or_default()
}

/// How long the run took (ended), or has been going (not ended).
pub(crate) fn run_duration(run: &RunRecord) -> Duration {
    between(
        run.created_at,
        run.finished_at().unwrap_or_else(SystemTime::now),
    )
}

/// The run's error text, if it failed (on one line).
pub(crate) fn run_error(run: &RunRecord) -> Option<String> {
    run.error().as_deref().map(one_line)
}

/// Why the run is (or was) undone, if it is.
pub(crate) fn run_cause(run: &RunRecord) -> Option<String> {
    run.undone_for().map(one_line)
}

/// The run's output as JSON, if it completed (also if it was undone after).
pub(crate) fn run_output(run: &RunRecord) -> Option<serde_json::Value> {
    match run.outcome()? {
        RunOutcome::Completed(output) | RunOutcome::Compensated { output, .. } => {
            Some(output.to_json())
        }
        _ => None,
    }
}

/// `text` with its line breaks as spaces: a table cell, a log line.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_short() {
        assert_eq!(duration(Duration::from_micros(850)), "850µs");
        assert_eq!(duration(Duration::from_millis(12)), "12ms");
        assert_eq!(duration(Duration::from_millis(1_250)), "1.25s");
        assert_eq!(duration(Duration::from_secs(200)), "3m 20s");
        assert_eq!(duration(Duration::from_secs(7_500)), "2h 5m");
    }

    #[test]
    fn clipped_text_keeps_its_width() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("a longer\nvalue", 6), "a lon…");
        assert_eq!(clip("ééééé", 5), "ééééé");
    }

    #[test]
    fn error_text_is_one_line() {
        assert_eq!(one_line("card\n  declined \t twice"), "card declined twice");
    }
}
