//! Cancelling, signalling and forking runs from the dashboard, when it is
//! allowed; who may act (the debugger's commands, in `debug`, ask the
//! same).

use axum::Json;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use trailhead_core::{EngineError, RunId, StepKey, StoreError};

use crate::State;
use crate::text;

/// The header every action must carry. A browser sends a header of a
/// page's own choosing to another site only after asking that site, and the
/// dashboard never says yes: a page elsewhere cannot act through your
/// browser.
pub(crate) const ACTION_HEADER: &str = "x-trailhead-action";

/// Which actions the dashboard takes.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Actions {
    /// None: the dashboard only shows (the default).
    #[default]
    ReadOnly,
    /// Cancel, signal, fork and the debugger's commands, for anyone who can
    /// reach the dashboard.
    Allowed,
    /// Cancel, signal, fork and the debugger's commands, for requests with
    /// `authorization: Bearer {token}` (the page asks for the token once and
    /// keeps it for the tab).
    Token(String),
}

impl std::fmt::Debug for Actions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ReadOnly => f.write_str("ReadOnly"),
            Self::Allowed => f.write_str("Allowed"),
            // The token is a secret: never in a log.
            Self::Token(_) => f.write_str("Token(..)"),
        }
    }
}

impl Actions {
    /// Whether the pages offer actions.
    pub(crate) fn offered(&self) -> bool {
        *self != Self::ReadOnly
    }

    /// Whether the pages must ask for a token.
    pub(crate) fn needs_token(&self) -> bool {
        matches!(self, Self::Token(_))
    }

    /// Why a request may not act, if it may not.
    pub(crate) fn refusal(&self, headers: &HeaderMap) -> Option<Response> {
        let token = match self {
            Self::ReadOnly => {
                return Some(refuse(
                    StatusCode::FORBIDDEN,
                    "this dashboard is read-only: serve it with actions allowed (`trailhead serve --allow-actions`, or a token) to cancel, signal, fork or debug runs",
                ));
            }
            Self::Allowed => None,
            Self::Token(token) => Some(token),
        };
        if !headers.contains_key(ACTION_HEADER) {
            return Some(refuse(
                StatusCode::FORBIDDEN,
                "an action must carry the `x-trailhead-action` header",
            ));
        }
        if let Some(token) = token {
            let given = headers
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("Bearer "));
            if !given.is_some_and(|given| same(given.as_bytes(), token.as_bytes())) {
                return Some(refuse(
                    StatusCode::UNAUTHORIZED,
                    "this action needs the dashboard's token (`authorization: Bearer …`)",
                ));
            }
        }
        None
    }
}

/// Whether `a` equals `b`, in a time that does not depend on where they
/// differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// A refusal: `status` and `{"error": message}`.
pub(crate) fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// `POST /runs/{run}/cancel`.
pub(crate) async fn cancel(
    axum::extract::State(shared): State,
    Path(run): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = shared.actions.refusal(&headers) {
        return refusal;
    }
    let run = RunId::new(run);
    match shared.engine.cancel(&run).await {
        Ok(()) => Json(serde_json::json!({ "cancelled": run.as_str() })).into_response(),
        Err(error) => refuse(StatusCode::CONFLICT, &text::one_line(&error.to_string())),
    }
}

/// A signal to send: its name and its value as JSON.
#[derive(Debug, Deserialize)]
pub(crate) struct Signal {
    name: String,
    value: serde_json::Value,
}

/// `POST /runs/{run}/signal` with `{"name": …, "value": …}`.
pub(crate) async fn signal(
    axum::extract::State(shared): State,
    Path(run): Path<String>,
    headers: HeaderMap,
    Json(signal): Json<Signal>,
) -> Response {
    if let Some(refusal) = shared.actions.refusal(&headers) {
        return refusal;
    }
    let run = RunId::new(run);
    match shared
        .engine
        .signal(&run, &signal.name, &signal.value)
        .await
    {
        Ok(()) => Json(serde_json::json!({ "sent": signal.name })).into_response(),
        Err(error) => refuse(StatusCode::CONFLICT, &text::one_line(&error.to_string())),
    }
}

/// Where to fork a run from: a step key's text (`ship`, `pack[3]`).
#[derive(Debug, Deserialize)]
pub(crate) struct ForkFrom {
    from: String,
}

/// `POST /runs/{run}/fork` with `{"from": key}`: records a fork of finished
/// run `run` from step `key` ([`trailhead_core::fork::record`]), unfinished,
/// for a worker that runs the workflow to resume. The dashboard's engine
/// needs no workflow type for it.
///
/// A key that does not parse is a 400; no run `run` a 404; a run not
/// finished a 409; a key the run's journal lacks a 422 (the run is there,
/// the request names nothing in it); other refusals a 409, as for cancel and
/// signal.
pub(crate) async fn fork(
    axum::extract::State(shared): State,
    Path(run): Path<String>,
    headers: HeaderMap,
    Json(fork): Json<ForkFrom>,
) -> Response {
    if let Some(refusal) = shared.actions.refusal(&headers) {
        return refusal;
    }
    let key: StepKey = match fork.from.parse() {
        Ok(key) => key,
        Err(error) => {
            return refuse(StatusCode::BAD_REQUEST, &text::one_line(&error.to_string()));
        }
    };
    let run = RunId::new(run);
    let store = shared.engine.store();
    match trailhead_core::fork::record(&**store, &run, &key, None).await {
        Ok(fork) => Json(serde_json::json!({
            "forked": fork.run.as_str(),
            "from": fork.from.as_str(),
            "at": fork.at.to_string(),
            "copied": fork.copied,
        }))
        .into_response(),
        Err(EngineError::Store(StoreError::NotEnded { run })) => refuse(
            StatusCode::CONFLICT,
            &text::one_line(&format!(
                "run `{run}` has not finished: only a finished run is forked"
            )),
        ),
        Err(error @ EngineError::Store(StoreError::UnknownRun { .. })) => {
            refuse(StatusCode::NOT_FOUND, &text::one_line(&error.to_string()))
        }
        Err(error @ EngineError::NotJournaled { .. }) => refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            &text::one_line(&error.to_string()),
        ),
        Err(error) => refuse(StatusCode::CONFLICT, &text::one_line(&error.to_string())),
    }
}
