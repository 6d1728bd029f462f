//! Replay testing: a recorded run's journal replayed against the current
//! workflow code, without running any step, to prove a change safe for the
//! runs already recorded.

mod history;

pub use history::{HISTORY_FORMAT, History, HistoryError};
