//! `trailhead debug …`: the debugger of a running process, driven through
//! its dashboard's debugger endpoints (`GET /api/debug`, `POST` and
//! `DELETE /api/debug/breakpoints…`, `POST /runs/{run}/debug`) over plain
//! HTTP. No store is opened: the breakpoints and pauses live in that
//! process.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::cli::{BreakArgs, DebugArgs, DebugCommand, WaitArgs};
use crate::failure::{Failure, GENERAL};
use crate::table::Table;
use crate::{Output, format};

/// How often `wait` asks.
const POLL: Duration = Duration::from_millis(200);

/// The longest one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest journal value a pause shows.
const VALUE_CHARS: usize = 60;

/// Runs the `debug` subcommand `args` names. Blocking: no async runtime.
pub(crate) fn debug(args: &DebugArgs) -> Result<Output, Failure> {
    let client = Client::new(args)?;
    match &args.command {
        DebugCommand::Break(breakpoint) => set(&client, breakpoint),
        DebugCommand::Delete(delete) => {
            let path = format!("/api/debug/breakpoints/{}", delete.id);
            client.send("DELETE", &path, None)?;
            Ok(Output::stdout(format!(
                "breakpoint {} deleted\n",
                delete.id
            )))
        }
        DebugCommand::Breakpoints(list) => {
            let state = client.state()?;
            let stdout = if list.json {
                format!("{}\n", json!(state.breakpoints))
            } else {
                breakpoints(&state.breakpoints)
            };
            Ok(state.noted(&client, stdout))
        }
        DebugCommand::Paused(list) => {
            let state = client.state()?;
            let stdout = if list.json {
                format!("{}\n", json!(state.paused))
            } else if state.paused.is_empty() {
                "no step is paused\n".to_owned()
            } else {
                let shown: Vec<String> = state.paused.iter().map(pause).collect();
                shown.join("\n")
            };
            Ok(state.noted(&client, stdout))
        }
        DebugCommand::Wait(wait) => wait_for(&client, wait),
        DebugCommand::Continue(run) => resume(
            &client,
            &run.run,
            "continue",
            "it runs on to its next breakpoint",
        ),
        DebugCommand::Step(run) => resume(
            &client,
            &run.run,
            "step",
            "it stops before its next step starts",
        ),
        DebugCommand::StepOver(run) => resume(
            &client,
            &run.run,
            "step_over",
            "it stops before its next step outside the loop or fan-out it was paused in",
        ),
    }
}

/// The dashboard at one address.
struct Client {
    agent: ureq::Agent,
    url: String,
    token: Option<String>,
}

/// What `GET /api/debug` says.
#[derive(Debug, Deserialize)]
struct State {
    enabled: bool,
    #[serde(default)]
    breakpoints: Vec<Value>,
    #[serde(default)]
    paused: Vec<Value>,
}

impl State {
    /// `stdout`, with a note on stderr if the engine has no debugger.
    fn noted(&self, client: &Client, stdout: String) -> Output {
        let mut output = Output::stdout(stdout);
        if !self.enabled {
            output.stderr = Some(no_debugger(client));
        }
        output
    }
}

fn no_debugger(client: &Client) -> String {
    format!(
        "trailhead: the engine behind the dashboard at {} has no debugger \
         (build it with `EngineBuilder::debugger(true)`)",
        client.url
    )
}

impl Client {
    fn new(args: &DebugArgs) -> Result<Self, Failure> {
        let Some(url) = args.url.clone() else {
            return Err(Failure::new(
                GENERAL,
                "no dashboard given: pass --url URL or set TRAILHEAD_DASHBOARD_URL",
            ));
        };
        if args.token.as_deref() == Some("") {
            return Err(Failure::new(GENERAL, "the dashboard token is empty"));
        }
        let agent = ureq::Agent::config_builder()
            // A 4xx carries the dashboard's reason: read it, not an error.
            .http_status_as_error(false)
            // The dashboard binds to a local address: never through a proxy.
            .proxy(None)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .new_agent();
        Ok(Self {
            agent,
            url,
            token: args.token.clone(),
        })
    }

    /// `GET /api/debug`.
    fn state(&self) -> Result<State, Failure> {
        let state = self.send("GET", "/api/debug", None)?;
        serde_json::from_value(state).map_err(|error| {
            Failure::new(
                GENERAL,
                format!(
                    "the dashboard at {}: /api/debug did not answer as trailhead's does: {error}",
                    self.url
                ),
            )
        })
    }

    /// `method path` with `body` (an action, unless a GET): the JSON answer
    /// of a 2xx, or the failure that says why not.
    fn send(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Failure> {
        let address = format!("{}{path}", self.url);
        let answer = match method {
            "GET" => self.agent.get(&address).call(),
            "DELETE" => self.action(self.agent.delete(&address)).call(),
            _ => self
                .action(self.agent.post(&address))
                .header("content-type", "application/json")
                .send(body.unwrap_or_else(|| json!({})).to_string()),
        };
        let mut response = answer.map_err(|error| self.unreachable(&error))?;
        let status = response.status();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|error| self.unreachable(&error))?;
        let parsed = serde_json::from_str::<Value>(&text);
        if status.is_success() {
            return parsed.map_err(|_| {
                Failure::new(
                    GENERAL,
                    format!(
                        "the dashboard at {}: {path} answered what is not JSON (is it a trailhead dashboard?)",
                        self.url
                    ),
                )
            });
        }
        let reason = parsed
            .ok()
            .and_then(|answer| answer.get("error")?.as_str().map(format::one_line));
        let message = match reason {
            Some(reason) => format!("the dashboard at {}: {reason}", self.url),
            None if status.as_u16() == 404 => format!(
                "the dashboard at {}: no {path} there (404): is it a trailhead dashboard with the debugger endpoints?",
                self.url
            ),
            None => format!(
                "the dashboard at {}: {method} {path} answered {status}",
                self.url
            ),
        };
        Err(Failure::new(GENERAL, message))
    }

    /// `request` as an action: the header every action carries, and the
    /// token if there is one.
    fn action<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        let request = request.header("x-trailhead-action", "1");
        match &self.token {
            Some(token) => request.header("authorization", format!("Bearer {token}")),
            None => request,
        }
    }

    /// A request that got no answer.
    fn unreachable(&self, error: &ureq::Error) -> Failure {
        let why = match error {
            ureq::Error::Io(error) => error.to_string(),
            other => other.to_string(),
        };
        Failure::new(
            GENERAL,
            format!("cannot reach the dashboard at {}: {why}", self.url),
        )
    }
}

/// `debug break`.
fn set(client: &Client, args: &BreakArgs) -> Result<Output, Failure> {
    let when = match (args.after, args.on_failure) {
        (true, _) => "after",
        (_, true) => "failed",
        _ => "before",
    };
    let steps = args.steps.to_string();
    let added = client.send(
        "POST",
        "/api/debug/breakpoints",
        Some(json!({
            "steps": steps,
            "when": when,
            "workflow": args.workflow,
            "run": args.run,
        })),
    )?;
    let Some(id) = added.get("id").and_then(Value::as_u64) else {
        return Err(Failure::new(
            GENERAL,
            format!(
                "the dashboard at {}: the new breakpoint's number is missing from {added}",
                client.url
            ),
        ));
    };
    let at = match when {
        "after" => format!("after `{steps}` completes"),
        "failed" => format!("when `{steps}` fails for good"),
        _ => format!("before `{steps}` starts"),
    };
    let scope = match (&args.workflow, &args.run) {
        (None, None) => "in every run".to_owned(),
        (Some(workflow), None) => format!("in runs of workflow `{workflow}`"),
        (None, Some(run)) => format!("in run `{run}`"),
        (Some(workflow), Some(run)) => format!("in run `{run}` of workflow `{workflow}`"),
    };
    Ok(Output::stdout(format!(
        "breakpoint {id} set: stops {at}, {scope}\n"
    )))
}

/// `debug continue`, `step` and `step-over`.
fn resume(client: &Client, run: &str, how: &str, then: &str) -> Result<Output, Failure> {
    let path = format!("/runs/{}/debug", path_segment(run));
    client.send("POST", &path, Some(json!({ "resume": how })))?;
    Ok(Output::stdout(format!("run `{run}` resumed: {then}\n")))
}

/// `debug wait`.
fn wait_for(client: &Client, args: &WaitArgs) -> Result<Output, Failure> {
    let started = Instant::now();
    loop {
        let state = client.state()?;
        if !state.enabled {
            return Err(Failure::new(
                GENERAL,
                no_debugger(client).trim_start_matches("trailhead: "),
            ));
        }
        let found = state.paused.into_iter().find(|pause| {
            args.run
                .as_deref()
                .is_none_or(|run| pause.get("run").and_then(Value::as_str) == Some(run))
        });
        if let Some(found) = found {
            let stdout = if args.json {
                format!("{found}\n")
            } else {
                pause(&found)
            };
            return Ok(Output::stdout(stdout));
        }
        if let Some(timeout) = args.timeout {
            if started.elapsed() >= timeout {
                let what = match &args.run {
                    Some(run) => format!("no step of run `{run}` paused"),
                    None => "no step paused".to_owned(),
                };
                return Err(Failure::new(
                    GENERAL,
                    format!(
                        "{what} within {} (the dashboard at {})",
                        format::duration(timeout),
                        client.url
                    ),
                ));
            }
            std::thread::sleep(POLL.min(timeout.saturating_sub(started.elapsed())));
        } else {
            std::thread::sleep(POLL);
        }
    }
}

/// The breakpoints as a table.
fn breakpoints(listed: &[Value]) -> String {
    if listed.is_empty() {
        return "no breakpoints\n".to_owned();
    }
    let mut table = Table::new(vec!["ID", "WHEN", "STEPS", "WORKFLOW", "RUN"]);
    for breakpoint in listed {
        let field = |name: &str| text(breakpoint.get(name)).unwrap_or_else(|| "-".to_owned());
        table.row(vec![
            field("id"),
            field("when"),
            field("steps"),
            field("workflow"),
            field("run"),
        ]);
    }
    table.to_string()
}

/// A pause as fields, one a line: run, workflow, step, when, arguments
/// (one a line), output or error, node, the journal so far.
fn pause(pause: &Value) -> String {
    let field = |name: &str| text(pause.get(name));
    let mut fields: Vec<(&str, String)> = vec![
        ("run", field("run").unwrap_or_default()),
        ("workflow", field("workflow").unwrap_or_default()),
        ("step", key(pause.get("key"))),
        ("when", field("when").unwrap_or_default()),
    ];
    let arguments: Vec<String> = pause
        .get("arguments")
        .and_then(Value::as_array)
        .map(|all| all.iter().filter_map(|one| text(Some(one))).collect())
        .unwrap_or_default();
    if arguments.is_empty() {
        fields.push(("arguments", "(none)".to_owned()));
    }
    for (i, argument) in arguments.iter().enumerate() {
        let name = if i == 0 { "arguments" } else { "" };
        fields.push((name, format::one_line(argument)));
    }
    if let Some(output) = field("output") {
        fields.push(("output", format::one_line(&output)));
    }
    if let Some(error) = field("error") {
        fields.push(("error", format::one_line(&error)));
    }
    fields.push(("node", field("node").unwrap_or_else(|| "-".to_owned())));
    let journaled: Vec<(String, String)> = pause
        .get("journaled")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .filter_map(|entry| {
                    let pair = entry.as_array()?;
                    Some((text(pair.first())?, text(pair.get(1)).unwrap_or_default()))
                })
                .collect()
        })
        .unwrap_or_default();
    if journaled.is_empty() {
        fields.push(("journaled", "(nothing yet)".to_owned()));
    }
    let key_width = journaled
        .iter()
        .map(|(key, _)| key.len())
        .max()
        .unwrap_or(0);
    for (i, (key, value)) in journaled.iter().enumerate() {
        let name = if i == 0 { "journaled" } else { "" };
        fields.push((
            name,
            format!("{key:key_width$}  {}", format::clip(value, VALUE_CHARS)),
        ));
    }
    let width = fields.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, value) in &fields {
        let _ = writeln!(out, "{name:width$}  {value}");
    }
    out
}

/// A JSON string's text, or another value's JSON; `None` for null or missing.
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// A step key as trailhead writes it (`reserve[2]`), from its JSON: the
/// text (as the dashboard sends it), or `{"name", "path"}` (as `StepKey`
/// serializes itself elsewhere).
fn key(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return String::new();
    };
    let Some(name) = value.get("name").and_then(Value::as_str) else {
        return text(Some(value)).unwrap_or_default();
    };
    let mut key = name.to_owned();
    for index in value
        .get("path")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let _ = write!(key, "[{index}]");
    }
    key
}

/// `run` as one segment of a URL's path: its bytes other than letters,
/// digits and `-._~` percent-encoded (a child run's id has a `/`).
fn path_segment(run: &str) -> String {
    let mut segment = String::with_capacity(run.len());
    for byte in run.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            segment.push(char::from(byte));
        } else {
            let _ = write!(segment, "%{byte:02X}");
        }
    }
    segment
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_reads_one_field_a_line() {
        let shown = pause(&json!({
            "run": "buy-1",
            "workflow": "buy",
            "key": "pack[2]",
            "when": "before",
            "arguments": ["\"book\"", "600"],
            "output": null,
            "error": null,
            "journaled": [["price", "600"]],
            "node": "s1",
        }));
        assert_eq!(
            shown,
            "run        buy-1\n\
             workflow   buy\n\
             step       pack[2]\n\
             when       before\n\
             arguments  \"book\"\n\
             \x20          600\n\
             node       s1\n\
             journaled  price  600\n"
        );
    }

    #[test]
    fn a_key_reads_as_text_in_either_json_form() {
        assert_eq!(key(Some(&json!("pack[2]"))), "pack[2]");
        assert_eq!(
            key(Some(&json!({"name": "pack", "path": [2, 0]}))),
            "pack[2][0]"
        );
    }

    #[test]
    fn a_run_id_is_one_path_segment() {
        assert_eq!(path_segment("order-1/buy[0]"), "order-1%2Fbuy%5B0%5D");
        assert_eq!(path_segment("a~b.c_d"), "a~b.c_d");
    }
}
