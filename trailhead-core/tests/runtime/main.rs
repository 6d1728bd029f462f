//! The runtime's integration tests: workflows written by hand (what
//! `workflow!` would generate) run on the engine, one module per area.
//!
//! One test binary, not one per file, so that tokio and the bundled SQLite are
//! linked once; `cargo test -p trailhead-core --test runtime retry::` runs one
//! area.

#[macro_use]
mod common;

mod blocking;
mod call;
mod cancel;
mod engine;
mod retry;
