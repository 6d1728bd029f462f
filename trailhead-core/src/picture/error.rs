//! Why a run's picture could not be drawn.

use crate::RunId;

/// A run's picture could not be drawn from what was recorded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PictureError {
    /// The run's record holds no graph: it was recorded by a build before
    /// pictures existed, or its workflow is a hand-written implementation.
    /// With the workflow's type, [`Engine::picture`](crate::Engine::picture)
    /// still draws it.
    #[error(
        "run `{run}` has no recorded graph (recorded by an older build or a hand-written workflow)"
    )]
    NoGraph {
        /// The run.
        run: RunId,
    },
    /// The graph text does not parse.
    #[error("the graph{} does not parse: {reason}", run.as_ref().map(|run| format!(" of run `{run}`")).unwrap_or_default())]
    BadGraph {
        /// The run whose record held it, if it came from one.
        run: Option<RunId>,
        /// The parser's message.
        reason: String,
    },
}

impl PictureError {
    /// The run this error is about, when known.
    pub fn run(&self) -> Option<&RunId> {
        match self {
            Self::NoGraph { run } => Some(run),
            Self::BadGraph { run, .. } => run.as_ref(),
        }
    }
}
