//! The HTML pages: the run list, a run, the health report; and a run's
//! diagram as an SVG file.

use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use trailhead_core::RunId;
use trailhead_core::store::RunStatus;

use crate::paths::Base;
use crate::snapshot::{self, Snapshot};
use crate::view::{self, runs::Filter};
use crate::{State, svg};

/// `GET /`: the runs, filtered, newest first, a page at a time.
pub(crate) async fn runs(
    axum::extract::State(shared): State,
    base: Base,
    Query(filter): Query<Filter>,
) -> Response {
    let status = match filter.status.as_str() {
        "" => None,
        name => match RunStatus::from_name(name) {
            Some(status) => Some(status),
            None => {
                return problem(
                    &base,
                    StatusCode::BAD_REQUEST,
                    &format!("no run status `{name}`"),
                );
            }
        },
    };
    let mut runs = match shared.engine.store().list_runs(status).await {
        Ok(runs) => runs,
        Err(error) => return problem(&base, StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
    };
    runs.retain(|run| filter.keeps(run));
    runs.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| b.id.cmp(&a.id))
    });
    let start = match filter.after.as_str() {
        "" => 0,
        after => runs
            .iter()
            .position(|run| run.id.as_str() == after)
            .map_or(runs.len(), |at| at + 1),
    };
    let rest = &runs[start..];
    let page = &rest[..rest.len().min(view::runs::PAGE)];
    let body = view::runs::body(&base, &filter, page, page.len() < rest.len());
    Html(view::page(&base, "Runs", &body).into_string()).into_response()
}

/// `GET /runs/{run}`: the run page.
pub(crate) async fn run(
    axum::extract::State(shared): State,
    base: Base,
    Path(run): Path<String>,
) -> Response {
    match Snapshot::of(&shared.engine, &RunId::new(run.as_str())).await {
        Ok(Some(snapshot)) => {
            let body = view::run::body(&base, &snapshot, &shared.actions);
            Html(view::page(&base, &format!("Run {run}"), &body).into_string()).into_response()
        }
        Ok(None) => problem(
            &base,
            StatusCode::NOT_FOUND,
            &format!("the store has no run `{run}`"),
        ),
        Err(error) => problem(&base, StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
    }
}

/// `GET /runs/{run}/diagram.svg`: the run's live diagram as a file.
pub(crate) async fn diagram(
    axum::extract::State(shared): State,
    Path(run): Path<String>,
) -> Response {
    let run = RunId::new(run);
    match shared.engine.picture_of(&run).await {
        Ok(picture) => {
            let paused = snapshot::paused(&shared.engine, &run);
            let nodes: Vec<&str> = paused.iter().filter_map(|p| p.node.as_deref()).collect();
            (
                [(header::CONTENT_TYPE, "image/svg+xml")],
                svg::draw(&picture, &nodes),
            )
                .into_response()
        }
        Err(error) => (StatusCode::NOT_FOUND, error.to_string()).into_response(),
    }
}

/// `GET /runs/{run}/trace.json`: the run's timeline as a Chrome
/// trace-event file, to open in Perfetto or `chrome://tracing`.
pub(crate) async fn trace(
    axum::extract::State(shared): State,
    Path(run): Path<String>,
) -> Response {
    match shared.engine.trace(&RunId::new(run.as_str())).await {
        Ok(trace) => {
            let file = format!(
                "attachment; filename=\"{}.trace.json\"",
                run.replace(
                    |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_',
                    "_"
                )
            );
            (
                [
                    (header::CONTENT_TYPE, "application/json".to_owned()),
                    (header::CONTENT_DISPOSITION, file),
                ],
                trace.to_json(),
            )
                .into_response()
        }
        Err(error) => (StatusCode::NOT_FOUND, error.to_string()).into_response(),
    }
}

/// `GET /health`: the engine's health report.
pub(crate) async fn health(axum::extract::State(shared): State, base: Base) -> Response {
    match shared.engine.health().await {
        Ok(health) => {
            let body = view::health::body(&base, &health);
            Html(view::page(&base, "Health", &body).into_string()).into_response()
        }
        Err(error) => problem(&base, StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
    }
}

/// A page that says what went wrong.
fn problem(base: &Base, status: StatusCode, message: &str) -> Response {
    let body =
        html! { h1 { (status.canonical_reason().unwrap_or("Error")) } p.problem { (message) } };
    (status, Html(view::page(base, "Error", &body).into_string())).into_response()
}
