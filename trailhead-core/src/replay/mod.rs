//! Replay testing: a recorded run's journal replayed against the current
//! workflow code, without running any step, to prove a change safe for the
//! runs already recorded.

mod check;
mod divergence;
mod history;
mod order;
mod run;

pub use divergence::{Divergence, ReplayError};
pub use history::{HISTORY_FORMAT, History, HistoryError};
pub use run::{ReplayFailure, ReplayFailures, Replayed, replay, replay_folder, replay_store};

pub(crate) use check::ReplayCheck;
