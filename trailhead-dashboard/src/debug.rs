//! The engine's debugger over HTTP: its breakpoints and paused steps
//! (`GET /api/debug`, readable as the run pages are), and its commands
//! (add and remove a breakpoint, resume a paused run), which are actions:
//! refused unless the dashboard takes actions, with the same header and
//! token as cancel, signal and fork.
//!
//! Bodies are read after the action guard, as JSON whatever their content
//! type; every error is `{"error": "…"}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use trailhead_core::RunId;
use trailhead_core::debug::{Breakpoint, BreakpointId, Debugger, Resume, When};

use crate::actions::refuse;
use crate::{Shared, State, text};

/// What a debugger command on an engine without one gets.
const NO_DEBUGGER: &str =
    "this engine has no debugger (build it with `EngineBuilder::debugger(true)`)";

/// `GET /api/debug`: whether the engine has a debugger, its breakpoints and
/// the steps paused now.
pub(crate) async fn state(axum::extract::State(shared): State) -> Response {
    let Some(debugger) = shared.engine.debugger() else {
        return Json(json!({ "enabled": false, "breakpoints": [], "paused": [] })).into_response();
    };
    let breakpoints: Vec<Value> = debugger
        .breakpoints()
        .iter()
        .map(|(id, breakpoint)| breakpoint_json(*id, breakpoint))
        .collect();
    Json(json!({
        "enabled": true,
        "breakpoints": breakpoints,
        "paused": debugger.paused(),
    }))
    .into_response()
}

/// A breakpoint as `GET /api/debug` lists it: `{"id", "steps", "when",
/// "workflow", "run"}`.
fn breakpoint_json(id: BreakpointId, breakpoint: &Breakpoint) -> Value {
    let mut value = serde_json::to_value(breakpoint).unwrap_or_else(|_| json!({}));
    if let Value::Object(fields) = &mut value {
        fields.insert("id".to_owned(), json!(id.0));
    }
    value
}

/// A breakpoint to add: `{"steps": "charge", "when": "before", "workflow":
/// null, "run": null}` (`when` before unless given; no workflow or run for
/// every run).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewBreakpoint {
    steps: String,
    #[serde(default = "before")]
    when: When,
    #[serde(default)]
    workflow: Option<String>,
    #[serde(default)]
    run: Option<String>,
}

fn before() -> When {
    When::Before
}

/// `POST /api/debug/breakpoints`: adds a breakpoint; answers `{"id": n}`.
pub(crate) async fn add(
    axum::extract::State(shared): State,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let debugger = match guard(&shared, &headers) {
        Ok(debugger) => debugger,
        Err(refusal) => return *refusal,
    };
    let new: NewBreakpoint = match parse(&body) {
        Ok(new) => new,
        Err(refusal) => return *refusal,
    };
    let steps = match new.steps.parse() {
        Ok(steps) => steps,
        Err(error) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &text::one_line(&format!("{error}")),
            );
        }
    };
    let mut breakpoint = Breakpoint::new(steps, new.when);
    if let Some(workflow) = new.workflow {
        breakpoint = breakpoint.in_workflow(workflow);
    }
    if let Some(run) = new.run {
        breakpoint = breakpoint.in_run(RunId::new(run));
    }
    let id = debugger.break_at(breakpoint);
    Json(json!({ "id": id.0 })).into_response()
}

/// `DELETE /api/debug/breakpoints/{id}`: removes breakpoint `id`; answers
/// `{"removed": id}`, or 404 if there is none.
pub(crate) async fn remove(
    axum::extract::State(shared): State,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let debugger = match guard(&shared, &headers) {
        Ok(debugger) => debugger,
        Err(refusal) => return *refusal,
    };
    let Ok(number) = id.parse::<u64>() else {
        return refuse(
            StatusCode::BAD_REQUEST,
            &text::one_line(&format!("`{id}` is not a breakpoint's number")),
        );
    };
    if debugger.remove(BreakpointId(number)) {
        Json(json!({ "removed": number })).into_response()
    } else {
        refuse(
            StatusCode::NOT_FOUND,
            &format!("there is no breakpoint {number}"),
        )
    }
}

/// How to resume: `{"resume": "continue" | "step" | "step_over"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResumeBody {
    resume: Resume,
}

/// `POST /runs/{run}/debug`: resumes run `run`'s paused steps; answers
/// `{"resumed": run}`, or 409 if none is paused.
pub(crate) async fn resume(
    axum::extract::State(shared): State,
    Path(run): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let debugger = match guard(&shared, &headers) {
        Ok(debugger) => debugger,
        Err(refusal) => return *refusal,
    };
    let how: ResumeBody = match parse(&body) {
        Ok(how) => how,
        Err(refusal) => return *refusal,
    };
    let run = RunId::new(run);
    match debugger.resume(&run, how.resume) {
        Ok(()) => Json(json!({ "resumed": run.as_str() })).into_response(),
        Err(error) => refuse(StatusCode::CONFLICT, &text::one_line(&error.to_string())),
    }
}

/// The debugger, if the request may act and the engine has one.
fn guard<'a>(shared: &'a Shared, headers: &HeaderMap) -> Result<&'a Debugger, Box<Response>> {
    if let Some(refusal) = shared.actions.refusal(headers) {
        return Err(Box::new(refusal));
    }
    shared
        .engine
        .debugger()
        .ok_or_else(|| Box::new(refuse(StatusCode::CONFLICT, NO_DEBUGGER)))
}

/// `body` as JSON of a `T`, or a 400 that says why not.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|error| {
        Box::new(refuse(
            StatusCode::BAD_REQUEST,
            &text::one_line(&format!("the request's JSON body does not read: {error}")),
        ))
    })
}
