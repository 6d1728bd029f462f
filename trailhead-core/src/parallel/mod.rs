//! Concurrency inside one run: fan-out over a collection, and the dependency
//! graph of a block's statements.
//!
//! Both run inside the run's own task: the futures they drive borrow the
//! workflow's locals, so nothing needs to be `'static` and no task is spawned
//! per step. A failure stops what is still running (its futures are dropped,
//! which cancels their steps) and is returned at once.
//!
//! - [`fan_out`] runs one body per item with at most `limit` in flight, and
//!   returns the results in input order.
//! - [`run_graph`] drives a block's statements, each of which first waits for
//!   the [`Done`] signals of the statements it depends on; values pass between
//!   them through [`Slot`]s.

mod fan_out;
mod graph;
mod slot;

pub use fan_out::{fan_out, fan_out_all};
pub use graph::{Done, Node, run_graph};
pub use slot::Slot;

#[cfg(test)]
mod tests;
