//! The dashboard's links, under the path its router is nested at.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, NestedPath};
use axum::http::request::Parts;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use trailhead_core::RunId;

/// What a run id keeps unescaped in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The path the dashboard is served under (`""` at the root,
/// `"/trailhead"` when nested there).
#[derive(Clone, Debug, Default)]
pub(crate) struct Base(String);

impl<S: Send + Sync> FromRequestParts<S> for Base {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let nested = parts
            .extensions
            .get::<NestedPath>()
            .map(|path| path.as_str().trim_end_matches('/').to_owned());
        Ok(Self(nested.unwrap_or_default()))
    }
}

impl Base {
    /// The run list.
    pub(crate) fn runs(&self) -> String {
        match self.0.as_str() {
            "" => "/".to_owned(),
            nested => nested.to_owned(),
        }
    }

    /// Run `run`'s page, or `what` below it (`live`, `cancel`, …).
    pub(crate) fn run(&self, run: &RunId, what: &str) -> String {
        let id = utf8_percent_encode(run.as_str(), SEGMENT);
        match what {
            "" => format!("{}/runs/{id}", self.0),
            what => format!("{}/runs/{id}/{what}", self.0),
        }
    }

    /// Run `run` in the JSON API, or `what` below it (`timeline`).
    pub(crate) fn api_run(&self, run: &RunId, what: &str) -> String {
        let id = utf8_percent_encode(run.as_str(), SEGMENT);
        match what {
            "" => format!("{}/api/runs/{id}", self.0),
            what => format!("{}/api/runs/{id}/{what}", self.0),
        }
    }

    /// The debugger's breakpoints (`POST` adds one).
    pub(crate) fn breakpoints(&self) -> String {
        format!("{}/api/debug/breakpoints", self.0)
    }

    /// What a run's page is under: the page of run `id` is this and `id`
    /// percent-encoded (for the page's script, which links to new runs).
    pub(crate) fn run_pages(&self) -> String {
        format!("{}/runs/", self.0)
    }

    /// The health page.
    pub(crate) fn health(&self) -> String {
        format!("{}/health", self.0)
    }

    /// Asset `file`.
    pub(crate) fn asset(&self, file: &str) -> String {
        format!("{}/assets/{file}", self.0)
    }
}
