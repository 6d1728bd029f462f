//! A web dashboard for trailhead: the runs of a store, each run's live
//! diagram, its journal and child runs, the engine's health, and (when
//! allowed) cancelling, signalling and forking runs; on an engine built
//! with a debugger, its breakpoints and paused steps.
//!
//! [`Dashboard::router`] is an [`axum::Router`] to mount in your own server
//! (`Router::new().nest("/trailhead", dashboard.router())`), and
//! [`Dashboard::serve`] serves it on a listener, which is what
//! `trailhead serve STORE` does.
//!
//! - **Everything is served by your binary.** The diagram is drawn as SVG
//!   in Rust (laid out by `layout-rs`) from the graph `workflow!` recorded
//!   with the run; the page's style and its one small script are this
//!   crate's own files, compiled in. Nothing is fetched from the internet.
//! - **Live without reload.** A run page listens to
//!   `/runs/{id}/live` (server-sent events): the engine is read again every
//!   [`refresh_every`](Dashboard::refresh_every) (250 ms by default) and the
//!   header, diagram, journal and child runs are sent again when they
//!   changed. The stream ends when the run does. It reads the store, so it
//!   follows runs that other processes drive too; running attempts show for
//!   runs the dashboard's own engine drives.
//! - **Read-only by default.** Cancel, signal and fork (a finished run
//!   from a step of its journal, recorded for a worker to resume) need
//!   [`Actions::Allowed`] or [`Actions::Token`]; an action is a `POST` that
//!   must carry the header `x-trailhead-action` (so a page on another site
//!   cannot make your browser send one) and, with a token, `authorization:
//!   Bearer {token}`.
//! - **The debugger.** On an engine built with
//!   `EngineBuilder::debugger(true)`, `GET /api/debug` lists its
//!   breakpoints and paused steps; a run page shows the run's paused step
//!   (its arguments, output or error) and marks its node in the diagram.
//!   Adding a breakpoint (`POST /api/debug/breakpoints`), removing one
//!   (`DELETE /api/debug/breakpoints/{id}`) and resuming a paused run
//!   (`POST /runs/{id}/debug`) are actions, guarded as the others are.
//! - **Time travel.** A finished run's page steps its diagram through the
//!   run's journal, event by event (each step's start and end), from
//!   `GET /api/runs/{id}/timeline` and `GET /api/runs/{id}/timeline/{i}`.
//! - [`Dashboard::serve`] on a loopback address answers only requests whose
//!   `Host` is a loopback name, so a web page cannot reach it by pointing a
//!   domain of its own at 127.0.0.1.
//!
//! # Examples
//!
//! ```no_run
//! use trailhead_core::Engine;
//! use trailhead_dashboard::{Actions, Dashboard};
//!
//! # async fn serve() -> std::io::Result<()> {
//! let engine = Engine::open("runs.db").expect("the store opens");
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:7420").await?;
//! Dashboard::new(engine)
//!     .actions(Actions::Allowed)
//!     .serve(listener)
//!     .await
//! # }
//! ```
//!
//! Mounted in an application's own router:
//!
//! ```
//! use trailhead_core::Engine;
//! use trailhead_dashboard::Dashboard;
//!
//! let engine = Engine::new();
//! let app: axum::Router = axum::Router::new().nest("/trailhead", Dashboard::new(engine).router());
//! ```

mod actions;
mod api;
mod assets;
mod debug;
mod guard;
mod live;
mod pages;
mod paths;
mod snapshot;
mod svg;
mod text;
mod timeline;
mod view;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{delete, get, post};
use trailhead_core::Engine;

pub use actions::Actions;

/// The dashboard of an engine's store: build it, then mount its
/// [`router`](Self::router) or [`serve`](Self::serve) it.
#[derive(Clone, Debug)]
pub struct Dashboard {
    engine: Engine,
    actions: Actions,
    refresh: Duration,
}

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) engine: Engine,
    pub(crate) actions: Actions,
    pub(crate) refresh: Duration,
}

pub(crate) type State = axum::extract::State<Arc<Shared>>;

impl Dashboard {
    /// The dashboard of `engine`'s store, read-only.
    ///
    /// An engine that drives runs (your application's) shows their running
    /// attempts too; an engine that only opened a store shows what the
    /// store says.
    pub fn new(engine: Engine) -> Self {
        Self {
            engine,
            actions: Actions::ReadOnly,
            refresh: Duration::from_millis(250),
        }
    }

    /// Which actions (cancel, signal, fork) the dashboard takes:
    /// [`Actions::ReadOnly`] (the default), [`Actions::Allowed`], or
    /// [`Actions::Token`].
    pub fn actions(mut self, actions: Actions) -> Self {
        self.actions = actions;
        self
    }

    /// How often an open run page's run is read again (250 ms by default,
    /// at least 10 ms).
    pub fn refresh_every(mut self, every: Duration) -> Self {
        self.refresh = every.max(Duration::from_millis(10));
        self
    }

    /// The dashboard's routes, to serve or to [`nest`](Router::nest) in
    /// your own router (its links follow the path it is nested at).
    pub fn router(self) -> Router {
        let shared = Arc::new(Shared {
            engine: self.engine,
            actions: self.actions,
            refresh: self.refresh,
        });
        Router::new()
            .route("/", get(pages::runs))
            .route("/runs/{run}", get(pages::run))
            .route("/runs/{run}/live", get(live::stream))
            .route("/runs/{run}/diagram.svg", get(pages::diagram))
            .route("/runs/{run}/trace.json", get(pages::trace))
            .route("/runs/{run}/cancel", post(actions::cancel))
            .route("/runs/{run}/signal", post(actions::signal))
            .route("/runs/{run}/fork", post(actions::fork))
            .route("/runs/{run}/debug", post(debug::resume))
            .route("/health", get(pages::health))
            .route("/api/runs", get(api::runs))
            .route("/api/runs/{run}", get(api::run))
            .route("/api/runs/{run}/timeline", get(timeline::events))
            .route("/api/runs/{run}/timeline/{index}", get(timeline::at))
            .route("/api/debug", get(debug::state))
            .route("/api/debug/breakpoints", post(debug::add))
            .route("/api/debug/breakpoints/{id}", delete(debug::remove))
            .route("/assets/{file}", get(assets::serve))
            .with_state(shared)
    }

    /// Serves the dashboard on `listener` until the process stops.
    ///
    /// On a loopback address (127.0.0.1, ::1) only requests to a loopback
    /// host name (`localhost`, `127.0.0.1`, `[::1]`) are answered.
    ///
    /// # Errors
    ///
    /// The listener's I/O error, if serving fails.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let loopback = listener.local_addr()?.ip().is_loopback();
        let mut router = self.router();
        if loopback {
            router = router.layer(axum::middleware::from_fn(guard::loopback_hosts));
        }
        axum::serve(listener, router).await
    }
}
