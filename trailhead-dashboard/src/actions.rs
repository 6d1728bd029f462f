//! Cancelling and signalling runs from the dashboard, when it is allowed.

use axum::Json;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use trailhead_core::RunId;

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
    /// Cancel and signal, for anyone who can reach the dashboard.
    Allowed,
    /// Cancel and signal, for requests with `authorization: Bearer {token}`
    /// (the page asks for the token once and keeps it for the tab).
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
    fn refusal(&self, headers: &HeaderMap) -> Option<Response> {
        let token = match self {
            Self::ReadOnly => {
                return Some(refuse(
                    StatusCode::FORBIDDEN,
                    "this dashboard is read-only: serve it with actions allowed (`trailhead serve --allow-actions`, or a token) to cancel or signal runs",
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

fn refuse(status: StatusCode, message: &str) -> Response {
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
