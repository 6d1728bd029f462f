//! The command line: the store option shared by every subcommand, and each
//! subcommand's arguments, with the help texts users read.

use std::time::{Duration, SystemTime};

use clap::{Args, Parser, Subcommand, ValueEnum};
use trailhead_core::store::RunStatus;
use trailhead_core::{StepKey, StepPattern};

/// Look at the runs in a trailhead store, and act on them.
///
/// The store is a SQLite file (the path an `Engine::open` or
/// `SqliteStore::open` was given) or a PostgreSQL URL (`postgres://…`). Reading
/// commands open it read-only; no command creates or migrates a store. `debug`
/// opens none: it drives a running process's debugger through its dashboard.
///
/// Exit codes: 0 success; 1 any other failure (a locked store, a refused
/// write); 2 wrong usage; 3 no such run; 4 the store cannot be used (missing
/// file, not a trailhead store, damaged, from a newer or older trailhead);
/// 5 (`watch`) the run ended without completing.
#[derive(Debug, Parser)]
#[command(name = "trailhead", version, propagate_version = true)]
pub(crate) struct Cli {
    /// The store: a SQLite file's path or a `postgres://` URL.
    #[arg(
        long,
        short = 's',
        env = "TRAILHEAD_STORE",
        hide_env_values = true,
        global = true,
        value_name = "PATH|URL"
    )]
    pub(crate) store: Option<String>,

    /// The PostgreSQL schema the store lives in (ignored for a SQLite file).
    #[arg(long, global = true, value_name = "NAME", default_value = "trailhead")]
    pub(crate) schema: String,

    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List runs, newest first, filtered and a page at a time.
    ///
    /// Filters combine: `--workflow buy --status failed --since 1h` lists the
    /// failed runs of `buy` created in the last hour. Times are RFC 3339
    /// (`2026-12-01T09:30:00Z`) or a span back from now (`90s`, `15m`, `1h`,
    /// `2days`). A page holds `--limit` runs; the next page starts
    /// `--after` the last run shown (printed on stderr when there is more).
    Runs(RunsArgs),
    /// List the schedules the store keeps, by name.
    ///
    /// Each with its workflow, when it ticks, its next and last tick (on
    /// this machine's clock), whether it is paused, and how many runs it
    /// started and ticks it skipped.
    Schedules(SchedulesArgs),
    /// Show one run: its record, its journal, its child runs.
    ///
    /// The journal lists every finished step in the order it was journaled,
    /// with its outcome, attempts, duration and error text; signals a run
    /// received show there as the steps that received them (signals sent
    /// and not yet received are not listed).
    Show(ShowArgs),
    /// Follow a run until it ends, with progress bars.
    ///
    /// Reads the store every 200 ms: steps journaled so far of the steps
    /// the workflow's graph has (loops and fan-outs journal more), the last
    /// step journaled, and the time since the run was created; below it, a
    /// bar for each step in a loop or fan-out: its items journaled of the
    /// loop's items known so far. Off a terminal, those bars are lines
    /// ("price ×40: 32 done, 0 failed") written as they change. Exits when
    /// the run ends: 0 if it completed, 5 if it failed, was cancelled or
    /// was undone.
    Watch(WatchArgs),
    /// Cancel a run.
    ///
    /// A run no live worker holds (its process stopped) is recorded as
    /// cancelled here, or left compensating when it has steps to undo, for
    /// the next worker that resumes it to roll back. A run a live worker
    /// drives is stopped by that worker, its owner.
    Cancel(RunArg),
    /// Send a signal to a run.
    ///
    /// The value is kept durably until the run's `signal "NAME"` receives it.
    /// The name is checked against the signals the run's workflow waits for
    /// (read from its recorded graph). The value's type cannot be checked
    /// from outside the workflow's process: any JSON is sent, and a value of
    /// the wrong type fails the step that receives it.
    Signal(SignalArgs),
    /// Re-run a finished run from one of its steps, in a new run.
    ///
    /// The new run, `RUN~fork-1` (the first number free) or `--id`, has the
    /// run's input and a copy of its journal entries before step KEY
    /// (compensations left out). It is recorded unfinished, not driven here:
    /// the next worker that resumes the run's workflow (`engine.resume`, or
    /// a fleet worker) replays those entries and runs KEY and what follows
    /// again, under its code as it is now. It keeps the run's definition
    /// hash: that worker's workflow must have the same definition, or declare
    /// itself compatible with it (`#[compatible_with]`). Fork a failed run
    /// from its failing step once the step is fixed; the run itself is left
    /// as it was. Only a run that has ended can be forked.
    Fork(ForkArgs),
    /// Export a run's timeline as a Chrome trace-event / Perfetto JSON file.
    ///
    /// Each journaled step is a slice, on a track of its own where steps
    /// ran at once; sleeps, signal waits and compensations are slices of
    /// their own kind, and child runs are drawn inside the call that
    /// started them. A retried step is one slice over all its attempts
    /// (`attempts` in its arguments). Open the file at
    /// https://ui.perfetto.dev or in chrome://tracing. A running run shows
    /// the steps journaled so far.
    Trace(TraceArgs),
    /// Export a run's history: its record and its journal, as one JSON file.
    ///
    /// The record (workflow, definition hash, input, state) and every journal
    /// entry in the order it was written, with the file's format number:
    /// what `replay::History::read` reads back. Keep histories of real runs
    /// next to a project's tests (`tests/histories/*.json`) to replay them
    /// against changed workflow code. A running run exports the steps
    /// journaled so far.
    Export(ExportArgs),
    /// Draw a run's live picture: the workflow's graph with each node's state.
    ///
    /// Mermaid text (paste it into any Mermaid renderer) with a status class
    /// on each node: not reached, running, retrying, completed (with its
    /// duration), replayed, failed (with its error), fell back, compensated,
    /// skipped; loops and fan-outs with their counts, calls with their child
    /// run. `--json` gives the same as data. Out of process the states come
    /// from the journal: a step running right now shows once it is journaled.
    Diagram(DiagramArgs),
    /// Time travel over a recorded run: its events, and its picture after any of them.
    ///
    /// Lists the run's journal as events in time order (each step's start,
    /// and its end with the value it produced, the value it fell back to or
    /// its error), then where the run's failure came from if it failed.
    /// `--at N` draws the run as it was after event N: the Mermaid picture
    /// (steps ended by then with their outcome, steps begun running, steps
    /// after not reached) and each node's state. Works on finished, failed
    /// and running runs, from the store alone.
    Timeline(TimelineArgs),
    /// Where a workflow's time goes: per step site, across its runs.
    ///
    /// For each step of the workflow (its loop iterations together): how
    /// often it ran, its p50/p95/p99 and longest durations, how often it was
    /// retried and how often it failed. Reads the newest `--limit` runs of
    /// the workflow, from `--since` on.
    Stats(StatsArgs),
    /// Serve the web dashboard of a store until interrupted (Ctrl-C).
    ///
    /// The run list (filter by status and workflow, search by id), each
    /// run's page with its diagram updating live as steps finish, its
    /// journal as a timeline, errors with their causes and its child runs,
    /// and the health report. Every asset is served by this binary: it
    /// works with no internet. It binds to 127.0.0.1 and is read-only
    /// unless told otherwise; on a loopback address it answers requests for
    /// `localhost` names only. Open the address it prints.
    Serve(ServeArgs),
    /// Drive the debugger of a running process through its dashboard.
    ///
    /// The process serves the dashboard (`trailhead_dashboard`, mounted in
    /// it) of an engine built with `EngineBuilder::debugger(true)`; `--url`
    /// is the dashboard's address, with the path it is nested at. Set
    /// breakpoints on steps, wait for a run to stop at one, look at the
    /// paused step (its arguments, output or error, the journal so far and
    /// its node), then continue, step or step over. Setting and deleting
    /// breakpoints and resuming are actions: the dashboard must take them
    /// (`--token` for one that asks for its token). No store is opened.
    /// A dashboard that cannot be reached or refuses a request exits 1.
    #[command(subcommand_required = true)]
    Debug(DebugArgs),
}

/// `trailhead debug`.
#[derive(Debug, Args)]
pub(crate) struct DebugArgs {
    /// The dashboard's address (`http://127.0.0.1:7420`, or the path it is
    /// nested at in the process's server).
    #[arg(
        long,
        global = true,
        env = "TRAILHEAD_DASHBOARD_URL",
        hide_env_values = true,
        value_parser = parse_url,
        value_name = "URL",
        help_heading = "Dashboard"
    )]
    pub(crate) url: Option<String>,
    /// The dashboard's token, for one that takes actions with a token.
    #[arg(
        long,
        global = true,
        env = "TRAILHEAD_DASHBOARD_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        help_heading = "Dashboard"
    )]
    pub(crate) token: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: DebugCommand,
}

/// The subcommands of `trailhead debug`.
#[derive(Debug, Subcommand)]
pub(crate) enum DebugCommand {
    /// Set a breakpoint on the steps STEPS matches; prints its number.
    ///
    /// A step stops before it starts (its arguments known), with --after
    /// after it completes (its output known), with --on-failure when it
    /// fails for good (its error known); in every run, or only in runs of
    /// --workflow, or only in --run.
    Break(BreakArgs),
    /// Delete a breakpoint, by the number `break` printed.
    Delete(DeleteArgs),
    /// List the breakpoints.
    Breakpoints(JsonArgs),
    /// List the steps paused now: run, step, arguments, output or error, node.
    Paused(JsonArgs),
    /// Wait until a step of RUN (of any run) is paused, then show it.
    ///
    /// Asks the dashboard every 200 ms; a pause there already is shown at
    /// once. Exits 1 if none comes within --timeout.
    Wait(WaitArgs),
    /// Resume a paused run until its next breakpoint.
    Continue(RunArg),
    /// Resume a paused run until its next step starts, and stop it there.
    Step(RunArg),
    /// Resume a paused run past the loop or fan-out its step is in, and stop it there.
    StepOver(RunArg),
}

/// `trailhead debug break`.
#[derive(Debug, Args)]
pub(crate) struct BreakArgs {
    /// The steps: a step's name (`charge`), a key (`reserve[2]`), a pattern
    /// (`reserve[*]`, `*`).
    #[arg(value_name = "STEPS")]
    pub(crate) steps: StepPattern,
    /// Stop after the step completes, instead of before it starts.
    #[arg(long, conflicts_with = "on_failure")]
    pub(crate) after: bool,
    /// Stop when the step fails for good, instead of before it starts.
    #[arg(long)]
    pub(crate) on_failure: bool,
    /// Only in runs of this workflow.
    #[arg(long, short = 'w', value_name = "NAME")]
    pub(crate) workflow: Option<String>,
    /// Only in this run.
    #[arg(long, value_name = "RUN")]
    pub(crate) run: Option<String>,
}

/// `trailhead debug delete`.
#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// The breakpoint's number.
    pub(crate) id: u64,
}

/// `trailhead debug wait`.
#[derive(Debug, Args)]
pub(crate) struct WaitArgs {
    /// The run to wait for (any run if not given).
    pub(crate) run: Option<String>,
    /// Give up after this many seconds (`0.5`, `30`); without it, wait until
    /// interrupted.
    #[arg(long, value_parser = parse_seconds, value_name = "SECS")]
    pub(crate) timeout: Option<Duration>,
    /// The pause as one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// A reading subcommand of `trailhead debug`.
#[derive(Debug, Args)]
pub(crate) struct JsonArgs {
    /// JSON (as the dashboard gives it) instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `trailhead serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The store, if not given by --store.
    #[arg(value_name = "PATH|URL")]
    pub(crate) store_path: Option<String>,
    /// The address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:7420", value_name = "ADDR")]
    pub(crate) addr: std::net::SocketAddr,
    /// Offer cancel and signal to anyone who can reach the dashboard.
    #[arg(long, conflicts_with = "token")]
    pub(crate) allow_actions: bool,
    /// Offer cancel and signal to requests that carry this token (the page
    /// asks for it once).
    #[arg(
        long,
        env = "TRAILHEAD_DASHBOARD_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub(crate) token: Option<String>,
}

/// `trailhead diagram`.
#[derive(Debug, Args)]
pub(crate) struct DiagramArgs {
    /// The run's id.
    pub(crate) run: String,
    /// The picture as one JSON object instead of Mermaid.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `trailhead timeline`.
#[derive(Debug, Args)]
pub(crate) struct TimelineArgs {
    /// The run's id.
    pub(crate) run: String,
    /// Show the run as it was after event N (numbered from 0, as listed).
    #[arg(long, value_name = "N")]
    pub(crate) at: Option<usize>,
    /// JSON instead of text: the events as an array, or with --at one object
    /// (`event`, `picture`).
    #[arg(long)]
    pub(crate) json: bool,
}

/// `trailhead trace`.
#[derive(Debug, Args)]
pub(crate) struct TraceArgs {
    /// The run's id.
    pub(crate) run: String,
    /// Write the trace to this file (readable by its owner only) instead of
    /// stdout. An existing file is not overwritten.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<std::path::PathBuf>,
}

/// `trailhead export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The run's id.
    pub(crate) run: String,
    /// Write the history to this file (readable by its owner only) instead
    /// of stdout. An existing file is not overwritten.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<std::path::PathBuf>,
}

/// `trailhead stats`.
#[derive(Debug, Args)]
pub(crate) struct StatsArgs {
    /// The workflow's name.
    pub(crate) workflow: String,
    /// Read at most this many of its newest runs.
    #[arg(long, default_value_t = 1_000, value_name = "N")]
    pub(crate) limit: usize,
    /// Only runs created at or after this time (RFC 3339, or `1h` for an hour ago).
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub(crate) since: Option<SystemTime>,
    /// One JSON object instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `trailhead runs`.
#[derive(Debug, Args)]
pub(crate) struct RunsArgs {
    /// Only runs of this workflow.
    #[arg(long, short = 'w', value_name = "NAME")]
    pub(crate) workflow: Option<String>,
    /// Only runs in this status (repeat for several).
    #[arg(long, value_enum, value_name = "STATUS")]
    pub(crate) status: Vec<Status>,
    /// Only runs created at or after this time (RFC 3339, or `1h` for an hour ago).
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub(crate) since: Option<SystemTime>,
    /// Only runs created before this time (RFC 3339, or `1h` for an hour ago).
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub(crate) until: Option<SystemTime>,
    /// Only the child runs this run started with `call`.
    #[arg(long, value_name = "RUN", conflicts_with = "top_level")]
    pub(crate) parent: Option<String>,
    /// Only runs no other run started.
    #[arg(long)]
    pub(crate) top_level: bool,
    /// Oldest first instead of newest first.
    #[arg(long)]
    pub(crate) oldest_first: bool,
    /// At most this many runs (0: all).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub(crate) limit: usize,
    /// Start after this run, in the listing's order: the next page.
    #[arg(long, value_name = "RUN", conflicts_with = "offset")]
    pub(crate) after: Option<String>,
    /// Skip this many runs first.
    #[arg(long, value_name = "N")]
    pub(crate) offset: Option<usize>,
    /// One JSON array of runs instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `trailhead schedules`.
#[derive(Debug, Args)]
pub(crate) struct SchedulesArgs {
    /// One JSON array of schedules instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `trailhead show`.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The run's id.
    pub(crate) run: String,
    /// One JSON object (`run`, `journal`, `children`) instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `trailhead watch`.
#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    /// The run's id.
    pub(crate) run: String,
}

/// A subcommand that takes a run and nothing else.
#[derive(Debug, Args)]
pub(crate) struct RunArg {
    /// The run's id.
    pub(crate) run: String,
}

/// `trailhead signal`.
#[derive(Debug, Args)]
pub(crate) struct SignalArgs {
    /// The run's id.
    pub(crate) run: String,
    /// The signal's name, as in the workflow's `signal "NAME"`.
    pub(crate) name: String,
    /// The signal's value, as JSON (`--json '{"approved": true}'`, `--json 3`).
    #[arg(long, value_parser = parse_json, value_name = "VALUE")]
    pub(crate) json: serde_json::Value,
    /// Send even if the run's workflow waits for no signal of this name.
    #[arg(long)]
    pub(crate) unchecked: bool,
}

/// `trailhead fork`.
#[derive(Debug, Args)]
pub(crate) struct ForkArgs {
    /// The run's id.
    pub(crate) run: String,
    /// The step to run again from, as `trailhead show` lists it (`ship`,
    /// `pack[2]`): the fork starts with the entries journaled before it.
    #[arg(long, value_name = "KEY")]
    pub(crate) from: StepKey,
    /// The new run's id, instead of `RUN~fork-N`. A run that exists is not
    /// overwritten.
    #[arg(long, value_name = "NEW_ID")]
    pub(crate) id: Option<String>,
}

/// A run status, as the CLI and its JSON name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub(crate) enum Status {
    /// Started and not ended.
    Running,
    /// Returned its output.
    Completed,
    /// Returned an error.
    Failed,
    /// Was cancelled.
    Cancelled,
    /// Being undone: its compensations are running.
    Compensating,
    /// A compensation failed for good: needs a person.
    CompensationFailed,
    /// Completed, then undone with its parent.
    Compensated,
}

impl From<Status> for RunStatus {
    fn from(status: Status) -> Self {
        match status {
            Status::Running => Self::Running,
            Status::Completed => Self::Completed,
            Status::Failed => Self::Failed,
            Status::Cancelled => Self::Cancelled,
            Status::Compensating => Self::Compensating,
            Status::CompensationFailed => Self::CompensationFailed,
            Status::Compensated => Self::Compensated,
        }
    }
}

/// An RFC 3339 time, or a span back from now (`1h`, `30m`).
fn parse_time(text: &str) -> Result<SystemTime, String> {
    if let Ok(at) = humantime::parse_rfc3339_weak(text) {
        return Ok(at);
    }
    let ago = humantime::parse_duration(text).map_err(|_| {
        format!("`{text}` is neither an RFC 3339 time (2026-12-01T09:30:00Z) nor a span like 1h")
    })?;
    SystemTime::now()
        .checked_sub(ago)
        .ok_or_else(|| format!("`{text}` ago is before the clock's start"))
}

fn parse_json(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).map_err(|error| format!("not JSON: {error}"))
}

/// A dashboard's address: `http://` and a host, or a host alone (plain
/// HTTP: the dashboard binds to a local address); without a trailing `/`.
fn parse_url(text: &str) -> Result<String, String> {
    let url = text.trim().trim_end_matches('/');
    if url.starts_with("https://") {
        return Err(
            "https is not supported: the dashboard is served over plain HTTP on a local address"
                .to_owned(),
        );
    }
    let url = if url.starts_with("http://") {
        url.to_owned()
    } else if url.contains("://") {
        return Err(format!("`{text}` is not an http:// address"));
    } else {
        format!("http://{url}")
    };
    if url.len() == "http://".len() {
        return Err(format!("`{text}` names no host"));
    }
    Ok(url)
}

/// A number of seconds, whole or not.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("`{text}` is not a number of seconds"))
}
