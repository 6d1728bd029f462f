//! Batches: process many items in chunks, one child run per chunk.
//!
//! Use it when items are too many for one journal (a run's journal would
//! hold a step per item) or are best handled a chunk at a time (a bulk
//! insert, a bulk API call). The body is any workflow `W` taking a
//! `Vec<T>`; [`for_each_batch`] cuts the items into chunks of `size`, in
//! order (the last may be shorter), runs `call W(chunk)` for each, at most
//! `at_once` at a time, and gives each chunk's output, in the chunks' order.
//! Each chunk is a child run with its own journal and record, so the
//! parent's journal holds one entry per chunk, not per item.
//!
//! A chunk that fails (its run failed) fails the batch with
//! [`BatchError::Chunk`], which names the chunk and its items; the chunks
//! still running are stopped, and those that finished stay finished (their
//! outputs are in the parent's journal).
//!
//! # Policy knobs
//!
//! - `size`: items per chunk (0 is read as 1);
//! - `at_once`: how many chunks run at the same time (0 is read as 1: one
//!   after another);
//! - the body workflow's own steps, retries and timeouts.
//!
//! # What is journaled, what a resumed run redoes
//!
//! Chunk `i`'s output is journaled in the parent under the call's key with
//! index `i` (`W[i]`); its run is `{run}/W[i]`. A resumed parent takes the
//! outputs of the chunks that finished from its journal and does not start
//! them again; a chunk that was running resumes from its own journal (its
//! finished steps are not redone).
//!
//! The flowchart is [`for_each_batch::MERMAID`](for_each_batch::MERMAID), or
//! per instance `<for_each_batch<W, T> as Workflow>::mermaid()`.
//!
//! # Examples
//!
//! ```
//! # extern crate trailhead_core as trailhead;
//! use trailhead::patterns::batch::for_each_batch;
//! use trailhead::{Engine, Error, workflow};
//!
//! async fn insert_all(rows: Vec<u32>) -> Result<usize, Error> { Ok(rows.len()) }
//!
//! workflow! {
//!     /// The body: one bulk insert per chunk.
//!     workflow insert(rows: Vec<u32>) -> Result<usize, Error> {
//!         Ok(step insert_all(rows))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let engine = Engine::new();
//! let rows: Vec<u32> = (0..10).collect();
//! let inserted = for_each_batch::<insert, u32>::run(&engine, rows, 4, 2).await.unwrap();
//! assert_eq!(inserted, [4, 4, 2]);
//! assert!(for_each_batch::<insert, u32>::MERMAID.contains("call W"));
//! # }
//! ```

use std::ops::Range;

use crate::{Data, Error, StepError, Workflow};

/// Why [`for_each_batch`] failed.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// A chunk's run failed.
    #[error("chunk {index} (items {items:?}) failed: {error}")]
    Chunk {
        /// The chunk's index, from 0.
        index: usize,
        /// Its items' positions in the input.
        items: Range<usize>,
        /// The chunk's failure: its key in the parent's journal (`W[index]`)
        /// and the child run's error.
        #[source]
        error: StepError<Error>,
    },
}

/// The chunks of `items`, `size` each (at least 1), with their positions.
#[must_use]
pub fn chunks<T: Clone>(items: &[T], size: usize) -> Vec<(Range<usize>, Vec<T>)> {
    let size = size.max(1);
    items
        .chunks(size)
        .enumerate()
        .map(|(index, chunk)| {
            let start = index * size;
            (start..start + chunk.len(), chunk.to_vec())
        })
        .collect()
}

crate::workflow! {
    /// Runs `W` on `items` in chunks of `size`, `at_once` chunks at a time;
    /// each chunk's output, in order.
    pub workflow for_each_batch<W, T>(items: Vec<T>, size: usize, at_once: usize) -> Result<Vec<W::Output>, BatchError>
    where
        W: Workflow<Input = Vec<T>, Error = Error>,
        W::Output: Data,
        T: Data + Clone,
    {
        let outputs = parallel(limit = at_once.max(1)) for (index, (positions, chunk)) in chunks(&items, size).into_iter().enumerate() {
            call W(chunk).map_err(|error| BatchError::Chunk { index, items: positions.clone(), error })
        };
        Ok(outputs)
    }
}
