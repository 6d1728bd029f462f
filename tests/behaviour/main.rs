//! The behaviour tests: workflows run in this process, one module per area.
//!
//! They are one test binary (not one per file) so that tokio, the bundled
//! SQLite and serde_json are linked once; `cargo test --test behaviour <area>`
//! runs one area, e.g. `cargo test --test behaviour retries::`.

mod support;

mod admission;
mod branches;
mod breakers;
mod calls;
mod calls_across_workers;
mod cancel;
mod codec;
mod continue_as_new;
mod debug;
mod errors;
mod events;
mod fallbacks;
mod fan_out;
mod faults;
mod fleet;
mod fleet_cancel;
mod fork;
mod generics;
mod graph;
mod health;
mod idempotency;
mod keys;
mod leases;
mod loops;
mod management;
// Public: its workflow takes public types, as an application's would.
pub mod mermaid;
mod patterns;
mod picture;
pub(crate) mod replay;
mod resources;
mod resume;
mod retention;
mod retries;
mod saga;
mod schedules;
mod shutdown;
mod signal_types;
mod signals;
mod sleep;
mod stats;
mod steps;
mod streams;
mod testing;
mod timeline;
mod trace;
mod tracing;
mod unload;
mod worker_threads;
