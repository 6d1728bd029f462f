//! Time travel over a run's journal: `GET /api/runs/{run}/timeline` (its
//! events and where its failure came from) and `GET
//! /api/runs/{run}/timeline/{i}` (the run after event `i`, drawn as the
//! run page's diagram is, and its picture), read as the run pages are.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use trailhead_core::picture::Timeline;
use trailhead_core::{Engine, RunId};

use crate::actions::refuse;
use crate::{State, svg, text, view};

/// `GET /api/runs/{run}/timeline`: `{"events": [TimelineEvent…],
/// "failure": index | null}`.
pub(crate) async fn events(
    axum::extract::State(shared): State,
    Path(run): Path<String>,
) -> Response {
    match timeline(&shared.engine, &RunId::new(run)).await {
        Ok(timeline) => Json(json!({
            "events": timeline.events(),
            "failure": timeline.failure().map(|event| event.index),
        }))
        .into_response(),
        Err(refusal) => *refusal,
    }
}

/// `GET /api/runs/{run}/timeline/{i}`: the run after event `i`: `{"index":
/// i, "events": n, "event": TimelineEvent, "label": "event i+1 of n: …",
/// "svg": "<svg…>", "picture": RunPicture}` (the page swaps `svg` in as its
/// diagram and `label` in as its caption).
pub(crate) async fn at(
    axum::extract::State(shared): State,
    Path((run, index)): Path<(String, String)>,
) -> Response {
    let Ok(index) = index.parse::<usize>() else {
        return refuse(
            StatusCode::BAD_REQUEST,
            &text::one_line(&format!("`{index}` is not an event's index")),
        );
    };
    let run = RunId::new(run);
    let timeline = match timeline(&shared.engine, &run).await {
        Ok(timeline) => timeline,
        Err(refusal) => return *refusal,
    };
    let events = timeline.events();
    let Some(event) = events.get(index) else {
        return refuse(
            StatusCode::NOT_FOUND,
            &text::one_line(&format!(
                "run `{run}` has {} timeline events: there is no event {index} (they count from 0)",
                events.len()
            )),
        );
    };
    let picture = timeline.picture_at(index);
    Json(json!({
        "index": index,
        "events": events.len(),
        "event": event,
        "label": view::run::travel_label(event, events.len()),
        "svg": svg::draw(&picture, &[]),
        "picture": picture,
    }))
    .into_response()
}

/// Run `run`'s timeline: a 404 if the store has no such run, a 409 if its
/// record keeps no graph.
async fn timeline(engine: &Engine, run: &RunId) -> Result<Timeline, Box<Response>> {
    let failed = |status, error: &dyn std::fmt::Display| {
        Box::new(refuse(status, &text::one_line(&error.to_string())))
    };
    let record = match engine.run_record(run).await {
        Ok(Some(record)) => record,
        Ok(None) => {
            return Err(failed(
                StatusCode::NOT_FOUND,
                &format!("the store has no run `{run}`"),
            ));
        }
        Err(error) => return Err(failed(StatusCode::INTERNAL_SERVER_ERROR, &error)),
    };
    let journal = engine
        .journal(run)
        .await
        .map_err(|error| failed(StatusCode::INTERNAL_SERVER_ERROR, &error))?;
    Timeline::of(&record, &journal).map_err(|error| failed(StatusCode::CONFLICT, &error))
}
