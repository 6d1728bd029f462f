//! Streams: millions of items through a workflow, with bounded memory,
//! backpressure, and progress journaled as checkpoints.
//!
//! A step returns one value; an import of a 10 GB file, a walk through a
//! paged API or a re-index of a table is a stream of items instead, and
//! journaling each item would make the journal bigger than the data. A
//! *stream loop* reads a [`Source`] item by item:
//!
//! ```text
//! let mut total = 0_u64;
//! stream(every = 1000, interval = 10s) for line in stream::lines(&path) {
//!     let order = parse(&line);            // plain code
//!     total += step price(&order);         // a step per item
//! }
//! ```
//!
//! - **Backpressure.** The loop pulls the next item when the body finished
//!   the last one (the parallel form, `stream(limit = n)`, when one of its
//!   `n` places frees up, within a window of `2 × n` items), so a slow
//!   body slows the source and memory holds at most that many items,
//!   however many pass.
//! - **Checkpoints.** Every `every` items or `interval` (whichever comes
//!   first; by default 1,000 items or 10 s) the loop journals a
//!   [`Checkpoint`] under its key: the source's cursor after the last
//!   finished item and the loop's accumulators (the `mut` bindings from
//!   outside that its body changes; they must be serializable, which the
//!   compiler checks at the binding). A checkpoint *replaces* the one
//!   before, and the steps inside the loop are not journaled one by one, so
//!   a stream loop holds one journal entry however many items pass.
//! - **Resuming.** A resumed run opens the source again after the last
//!   checkpoint's cursor, with the accumulators as they were there. The
//!   items after it run again: steps in a stream loop are *at least once*
//!   per item, each with a deterministic key `{site}[position]` (so
//!   [`current_step`](crate::current_step)'s idempotency key is the same
//!   for the same item of the same run, in every process).
//!
//! # Sources
//!
//! [`Source`] is the trait; the adapters cover the common cases:
//! [`iter`] (any iterator, by position), [`resumable`] (a
//! [`futures::Stream`] you can start after a cursor, such as a query by
//! primary key), [`paged`] (an API that returns [`Page`]s and a next-page
//! token), [`lines`] and [`records`] (a file, by byte offset). Any source
//! can be [`map`](SourceExt::map)ped and [`chunk`](SourceExt::chunks)ed: a
//! loop over `lines(&path).chunks(500)` runs its body (a batch step, say)
//! once per 500 lines.

mod adapters;
mod checkpoint;
mod combinators;
mod file;
mod parallel;
mod run;
mod source;

pub use adapters::{Iter, IterItems, Page, PageCursor, Paged, Resumable, iter, paged, resumable};
pub use checkpoint::{Accumulator, Checkpoint, CheckpointPolicy};
pub use combinators::{Chunks, Map, SourceExt};
pub use file::{Lines, Records, lines, records};
#[doc(hidden)]
pub use parallel::ParallelStream;
#[doc(hidden)]
pub use run::{State, StreamLoop, StreamSpec, accumulator};
pub use source::Source;
