//! A run's history: its record and its journal, as one JSON file.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::store::{RunRecord, StepRecord, Store};
use crate::{RunId, StoreError};

/// The format of a [`History`] file this build writes and reads.
pub const HISTORY_FORMAT: u32 = 1;

/// A recorded run: its record and its journal, as `trailhead export RUN`
/// writes them and [`replay`](super::replay) reads them.
///
/// A project keeps histories of real runs next to its tests
/// (`tests/histories/*.json`) so that `cargo test` proves a change to a
/// workflow safe for them ([`replay_folder`](super::replay_folder)).
///
/// # Examples
///
/// ```
/// use std::time::SystemTime;
/// use trailhead_core::replay::History;
/// use trailhead_core::store::{RunRecord, StepOutcome, StepRecord, Value};
/// use trailhead_core::{RunId, StepKey};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let now = SystemTime::now();
/// let record = RunRecord::new(RunId::new("order-1"), "order", Value::encode(&3u32)?);
/// let charged = StepOutcome::Completed(Value::encode(&30u32)?);
/// let journal = vec![StepRecord::new(StepKey::new("charge", &[]), charged, 1, now, now)];
/// let history = History::new(record, journal);
/// let again = History::from_json(&history.to_json())?;
/// assert_eq!(again, history);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct History {
    /// The file's format: [`HISTORY_FORMAT`].
    pub format: u32,
    /// The run's record (its workflow, definition hash, input, state).
    pub record: RunRecord,
    /// The run's journal, in the order it was written.
    pub journal: Vec<StepRecord>,
}

/// Why a history could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The file could not be read.
    #[error("cannot read the history {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The text is not a history.
    #[error("{origin} is not a trailhead run history: {source}")]
    NotAHistory {
        /// The file, or `the text`.
        origin: String,
        /// Why.
        source: serde_json::Error,
    },
    /// The history was written by a newer trailhead.
    #[error(
        "{origin} is a history of format {found}; this trailhead reads format {HISTORY_FORMAT}"
    )]
    NewerFormat {
        /// The file, or `the text`.
        origin: String,
        /// Its format.
        found: u32,
    },
    /// The store could not give the run.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store has no such run.
    #[error("no run {run} in the store")]
    NoRun {
        /// The run asked for.
        run: RunId,
    },
}

impl History {
    /// The history of a run from its record and journal.
    pub fn new(record: RunRecord, journal: Vec<StepRecord>) -> Self {
        Self {
            format: HISTORY_FORMAT,
            record,
            journal,
        }
    }

    /// Run `run`'s history as `store` holds it.
    ///
    /// # Errors
    ///
    /// [`HistoryError::NoRun`] if the store has no such run,
    /// [`HistoryError::Store`] if it could not be read.
    pub async fn of_run(store: &dyn Store, run: &RunId) -> Result<Self, HistoryError> {
        let record = store
            .run(run)
            .await?
            .ok_or_else(|| HistoryError::NoRun { run: run.clone() })?;
        let journal = store.journal(run).await?;
        Ok(Self::new(record, journal))
    }

    /// The history as JSON, as `trailhead export` writes it.
    pub fn to_json(&self) -> String {
        // A history holds only JSON-encodable values: it cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The history in JSON text.
    ///
    /// # Errors
    ///
    /// [`HistoryError::NotAHistory`] or [`HistoryError::NewerFormat`].
    pub fn from_json(text: &str) -> Result<Self, HistoryError> {
        Self::parse(text, "the text")
    }

    /// The history in file `path`.
    ///
    /// # Errors
    ///
    /// [`HistoryError::Read`], [`HistoryError::NotAHistory`] or
    /// [`HistoryError::NewerFormat`].
    pub fn read(path: impl AsRef<Path>) -> Result<Self, HistoryError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| HistoryError::Read {
            path: origin.clone(),
            source,
        })?;
        Self::parse(&text, &origin)
    }

    fn parse(text: &str, origin: &str) -> Result<Self, HistoryError> {
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let not_a_history = |source| HistoryError::NotAHistory {
            origin: origin.to_owned(),
            source,
        };
        let Format { format } = serde_json::from_str(text).map_err(not_a_history)?;
        if format > HISTORY_FORMAT {
            return Err(HistoryError::NewerFormat {
                origin: origin.to_owned(),
                found: format,
            });
        }
        serde_json::from_str(text).map_err(not_a_history)
    }
}
