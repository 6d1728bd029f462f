//! `GET /runs/{run}/live`: a run page's live updates, as server-sent
//! events.
//!
//! The run is read every refresh; when any of its parts (header, paused
//! steps, diagram, journal, children) renders differently from what was
//! last sent, an `update` event carries the parts that changed, as the
//! page's own HTML (the page swaps them in; there is one way to render a
//! part), and the run's paused steps as the debugger gives them (`paused`,
//! as in `GET /api/debug`). The stream
//! sends `end` after the update that shows the run ended, and `gone` if the
//! run was removed.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::Path;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde_json::json;
use trailhead_core::RunId;

use crate::paths::Base;
use crate::snapshot::Snapshot;
use crate::view;
use crate::{Shared, State};

/// Where a run's live stream is.
struct Follow {
    shared: Arc<Shared>,
    base: Base,
    run: RunId,
    /// The parts last sent.
    sent: Option<Vec<(&'static str, String)>>,
    /// Whether the run's end was sent: the next poll ends the stream.
    ended: bool,
    first: bool,
}

/// `GET /runs/{run}/live`.
pub(crate) async fn stream(
    axum::extract::State(shared): State,
    base: Base,
    Path(run): Path<String>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let follow = Follow {
        shared,
        base,
        run: RunId::new(run),
        sent: None,
        ended: false,
        first: true,
    };
    Sse::new(futures::stream::unfold(follow, next)).keep_alive(KeepAlive::default())
}

/// The next event of the stream, once there is one; `None` to end it.
async fn next(mut follow: Follow) -> Option<(Result<Event, Infallible>, Follow)> {
    if follow.ended {
        return None;
    }
    loop {
        if !std::mem::take(&mut follow.first) {
            tokio::time::sleep(follow.shared.refresh).await;
        }
        let snapshot = match Snapshot::of(&follow.shared.engine, &follow.run).await {
            Ok(Some(snapshot)) => snapshot,
            Ok(None) => {
                follow.ended = true;
                let gone =
                    json!({ "message": format!("run `{}` is no longer in the store", follow.run) });
                return Some((
                    Ok(Event::default().event("gone").data(gone.to_string())),
                    follow,
                ));
            }
            Err(error) => {
                tracing::warn!(run = %follow.run, %error, "the dashboard could not read the run");
                continue;
            }
        };
        let ended = snapshot.record.state.is_ended();
        let parts = view::run::parts(&follow.base, &snapshot, &follow.shared.actions);
        let changed: Vec<&(&str, String)> = match &follow.sent {
            Some(sent) => parts.iter().filter(|part| !sent.contains(part)).collect(),
            None => parts.iter().collect(),
        };
        if changed.is_empty() {
            if ended {
                follow.ended = true;
                return Some((Ok(Event::default().event("end").data("{}")), follow));
            }
            continue;
        }
        let update = json!({
            "status": snapshot.record.status().name(),
            "ended": ended,
            "paused": snapshot.paused,
            "parts": changed
                .into_iter()
                .map(|(id, html)| ((*id).to_owned(), serde_json::Value::from(html.as_str())))
                .collect::<serde_json::Map<_, _>>(),
        });
        follow.sent = Some(parts);
        return Some((
            Ok(Event::default().event("update").data(update.to_string())),
            follow,
        ));
    }
}
