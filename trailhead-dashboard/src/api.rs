//! The same data as JSON, for scripts and tools.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use trailhead_core::RunId;
use trailhead_core::store::{RunRecord, StepRecord};

use crate::State;
use crate::snapshot::Snapshot;

/// `GET /api/runs`: every run's summary, newest first.
pub(crate) async fn runs(axum::extract::State(shared): State) -> Response {
    match shared.engine.store().list_runs(None).await {
        Ok(mut runs) => {
            runs.sort_by(|a, b| {
                b.created_at
                    .cmp(&a.created_at)
                    .then_with(|| b.id.cmp(&a.id))
            });
            Json(runs.iter().map(summary).collect::<Vec<_>>()).into_response()
        }
        Err(error) => failure(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
    }
}

/// `GET /api/runs/{run}`: the run, its whole journal, its children and its
/// picture.
pub(crate) async fn run(axum::extract::State(shared): State, Path(run): Path<String>) -> Response {
    match Snapshot::of(&shared.engine, &RunId::new(run.as_str())).await {
        Ok(Some(snapshot)) => Json(json!({
            "run": summary(&snapshot.record),
            "journal": snapshot.journal.iter().map(entry).collect::<Vec<_>>(),
            "children": snapshot.children.iter().map(summary).collect::<Vec<_>>(),
            "picture": snapshot.picture.as_ref().ok(),
        }))
        .into_response(),
        Ok(None) => failure(
            StatusCode::NOT_FOUND,
            &format!("the store has no run `{run}`"),
        ),
        Err(error) => failure(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
    }
}

fn summary(run: &RunRecord) -> Value {
    json!({
        "id": run.id.as_str(),
        "workflow": run.workflow,
        "status": run.status().name(),
        "parent": run.parent.as_ref().map(RunId::as_str),
        "created_at": crate::text::time(run.created_at),
        "finished_at": run.finished_at().map(crate::text::time),
        "error": run.error(),
    })
}

fn entry(step: &StepRecord) -> Value {
    json!({
        "key": step.key.to_string(),
        "attempts": step.attempts,
        "started_at": humantime::format_rfc3339_millis(step.started_at).to_string(),
        "finished_at": humantime::format_rfc3339_millis(step.finished_at).to_string(),
        "error": step.outcome.failure(),
    })
}

fn failure(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}
