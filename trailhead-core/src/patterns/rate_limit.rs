//! Rate-limited fan-out: run many items into an API that takes at most `n`
//! per second.
//!
//! Use it when a provider's quota is a rate (requests per second), not a
//! number of requests in flight ([`EngineBuilder::resource`] is the latter).
//! [`rate_limited`] cuts the items into **waves** of at most
//! [`Rate::items`] and starts one wave per [`Rate::window`]: a wave's items
//! run at once as steps while a durable `sleep` of one window runs beside
//! them, and the next wave starts when both are done. So wave `w` starts no
//! sooner than `w` windows after the first, and any window of that length
//! sees at most one wave's starts. A slow wave delays the next one; it never
//! lets two waves overlap.
//!
//! # Policy knobs
//!
//! The [`Rate`] (`Rate::per_second(10)`, or any count per any window) and
//! [`Task::RETRY`] (a retried item's later attempts start within its wave's
//! time, not in a window of their own: count them into the rate, or keep
//! retries rare).
//!
//! # What is journaled, what a resumed run redoes
//!
//! Item `i` of wave `w` is the step `task[w][0][i]`; the wave's pause is the
//! sleep `sleep[w][1]`, whose wake-up time is journaled before it waits. A
//! resumed run replays the finished items and waits out the pause it was in
//! until its journaled time, so it keeps the pace; the items that had not
//! finished run again.
//!
//! The flowchart is [`rate_limited::MERMAID`](rate_limited::MERMAID).
//!
//! [`EngineBuilder::resource`]: crate::EngineBuilder::resource
//! [`Task::RETRY`]: crate::patterns::scatter_gather::Task::RETRY
//!
//! # Examples
//!
//! ```
//! # extern crate trailhead_core as trailhead;
//! use trailhead::patterns::rate_limit::{Rate, rate_limited};
//! use trailhead::patterns::scatter_gather::Task;
//! use trailhead::{Engine, Error};
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Lookup(u32);
//!
//! impl Task for Lookup {
//!     type Output = u32;
//!     async fn run(&self) -> Result<u32, Error> {
//!         Ok(self.0 * 10)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let engine = Engine::new();
//! let began = tokio::time::Instant::now();
//! let items = (0..25).map(Lookup).collect();
//! let out = rate_limited::run(&engine, items, Rate::per_second(10)).await.unwrap();
//! assert_eq!(out, (0..25).map(|n| n * 10).collect::<Vec<_>>());
//! // Three waves: at 0 s, 1 s and 2 s.
//! assert_eq!(began.elapsed().as_secs(), 2);
//! assert!(rate_limited::<Lookup>::MERMAID.contains("sleep"));
//! # }
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::scatter_gather::Task;
use crate::Error;

/// How many items may start per window of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    /// Items per window (at least 1 is used).
    pub items: usize,
    /// The window (at least 1 ms is used).
    pub window: Duration,
}

impl Rate {
    /// `items` per second.
    #[must_use]
    pub const fn per_second(items: usize) -> Self {
        Self {
            items,
            window: Duration::from_secs(1),
        }
    }
}

/// One branch of a wave: its items, or the pause that paces the next wave.
enum Part<T> {
    Items(Vec<T>),
    Pause,
}

/// Cuts `items` into waves of at most `per_wave`, each with a pause beside
/// it but the last.
fn waves<T>(items: Vec<T>, per_wave: usize) -> Vec<Vec<Part<T>>> {
    let mut waves: Vec<Vec<Part<T>>> = Vec::new();
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let wave: Vec<T> = items.by_ref().take(per_wave).collect();
        let mut parts = vec![Part::Items(wave)];
        if items.peek().is_some() {
            parts.push(Part::Pause);
        }
        waves.push(parts);
    }
    waves
}

crate::workflow! {
    /// Runs every item as a step, at most `rate.items` starting per
    /// `rate.window`, in waves paced by a durable sleep. Gives the outputs
    /// in input order.
    pub workflow rate_limited<T: Task>(items: Vec<T>, rate: Rate) -> Result<Vec<T::Output>, Error> {
        let per_wave = rate.items.max(1);
        let window = rate.window.max(Duration::from_millis(1));
        let mut outputs = Vec::new();
        for wave in waves(items, per_wave) {
            let parts = parallel for part in wave {
                match part {
                    Part::Items(batch) => parallel(limit = per_wave) for item in &batch {
                        step item.run().name("task").retry(T::RETRY)
                    },
                    Part::Pause => {
                        sleep window;
                        Vec::new()
                    }
                }
            };
            outputs.extend(parts.into_iter().flatten());
        }
        Ok(outputs)
    }
}
