//! How times and durations read on the pages.

use std::time::{Duration, SystemTime};

/// `at` in RFC 3339, to the second, in UTC.
pub(crate) fn time(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// `span` short: `850µs`, `12ms`, `1.25s`, `3m 20s`, `2h 5m`.
pub(crate) fn duration(span: Duration) -> String {
    match span.as_micros() {
        micros if micros < 1_000 => format!("{micros}µs"),
        micros if micros < 1_000_000 => format!("{}ms", micros / 1_000),
        _ if span.as_secs() < 60 => format!("{:.2}s", span.as_secs_f64()),
        _ if span.as_secs() < 3_600 => format!("{}m {}s", span.as_secs() / 60, span.as_secs() % 60),
        _ => format!(
            "{}h {}m",
            span.as_secs() / 3_600,
            (span.as_secs() % 3_600) / 60
        ),
    }
}

/// From `from` to `to`, zero if the clock went back.
pub(crate) fn between(from: SystemTime, to: SystemTime) -> Duration {
    to.duration_since(from).unwrap_or_default()
}

/// `text` on one line: a table cell, a JSON error.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
