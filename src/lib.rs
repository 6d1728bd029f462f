//! # trailhead
//!
//! Typed, durable, concurrent workflows for Rust, checked at compile time.
//!
//! Write a workflow with [`workflow!`]: steps that call your `async fn`s, with
//! branches, loops, retries, timeouts and calls of other workflows in between. The
//! macro checks it when you compile and turns it into ordinary async Rust; an
//! [`Engine`] runs it, journals every step's output under a deterministic key,
//! and tells you what happened as [`Event`]s and `tracing` spans. Every workflow
//! also knows its own picture, a Mermaid flowchart made at compile time.
//!
//! ```
//! use trailhead::{Engine, workflow};
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("shop is closed")]
//! struct Closed;
//!
//! async fn price(item: &str) -> Result<u32, Closed> {
//!     Ok(item.len() as u32 * 100)
//! }
//!
//! async fn charge(cents: u32) -> Result<String, Closed> {
//!     Ok(format!("receipt for {cents} cents"))
//! }
//!
//! workflow! {
//!     /// Prices an item and charges for it.
//!     pub workflow buy(item: String) -> Result<String, trailhead::Error> {
//!         let cents = step price(&item).retry(3, backoff = 100ms..1s);
//!         let receipt = step charge(cents).timeout(5s);
//!         Ok(receipt)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::new();
//! let receipt = buy::run(&engine, "book".to_owned()).await?;
//! assert_eq!(receipt, "receipt for 400 cents");
//! assert!(buy::MERMAID.starts_with("flowchart TD"));
//! # Ok(())
//! # }
//! ```
//!
//! The language is described in full on [`workflow!`].

pub use trailhead_core::*;

/// The web dashboard (feature `dashboard`): an axum router showing a
/// store's runs, each run's live diagram, journal and child runs, and the
/// engine's health. See [`dashboard::Dashboard`].
#[cfg(feature = "dashboard")]
pub use trailhead_dashboard as dashboard;

/// The README's examples, compiled and run as doctests so that what a new user
/// copies from it keeps working.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
