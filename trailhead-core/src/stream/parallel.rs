//! `stream(limit = n) for item in source { … }`: the body runs for up to `n`
//! items at once, within a window, and the checkpoint follows the items
//! finished without a gap.

use std::collections::VecDeque;
use std::future::Future;

use futures::StreamExt as _;
use futures::stream::FuturesUnordered;

use super::Source;
use super::run::StreamLoop;
use crate::{StepError, StepFailure};

/// Why a parallel stream loop stopped before its source ended.
#[doc(hidden)]
#[derive(Debug)]
pub enum ParallelStream<S, E> {
    /// The source failed (or the checkpoint could not be journaled).
    Source(StepError<S>),
    /// An item's body failed with the workflow's error.
    Body(E),
}

/// What the loop waited for.
enum Next<C, T, E, R> {
    Pulled(Option<Result<(C, T), E>>),
    Finished(u64, R),
}

impl<S: Source> StreamLoop<'_, S> {
    /// Runs `body(position, item)` for every item, at most `limit` at once
    /// (0 is taken as 1), and never more than `2 × limit` items past the
    /// first one not finished: an item that takes long holds the source
    /// back instead of letting finished items pile up behind it. The
    /// checkpoint's cursor is the last item finished with every item before
    /// it finished too; a resumed run runs the rest again.
    ///
    /// The first body that fails fails the loop; the others are dropped.
    ///
    /// # Errors
    ///
    /// The first body's error, the source's, or the journal's.
    pub async fn for_each_parallel<F, Fut, T, E>(
        mut self,
        limit: usize,
        body: F,
    ) -> Result<(), ParallelStream<S::Error, E>>
    where
        F: Fn(u32, S::Item) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if self.finished {
            return Ok(());
        }
        let limit = limit.max(1);
        let window = limit.saturating_mul(2);
        // The cursors of the items from the first unfinished one on, and
        // whether each finished.
        let mut pending: VecDeque<(S::Cursor, bool)> = VecDeque::with_capacity(window);
        let mut pulled = self.position;
        let mut running = FuturesUnordered::new();
        let mut ended = false;
        loop {
            let can_pull = !ended && running.len() < limit && pending.len() < window;
            let next = if can_pull {
                tokio::select! {
                    biased;
                    Some((at, outcome)) = running.next(), if !running.is_empty() => {
                        Next::Finished(at, outcome)
                    }
                    item = self.pull() => Next::Pulled(item),
                }
            } else {
                match running.next().await {
                    Some((at, outcome)) => Next::Finished(at, outcome),
                    None => break,
                }
            };
            match next {
                Next::Pulled(Some(Ok((cursor, item)))) => {
                    let index = self.position_of(pulled).map_err(ParallelStream::Source)?;
                    let at = pulled;
                    pulled += 1;
                    pending.push_back((cursor, false));
                    let future = body(index, item);
                    running.push(async move { (at, future.await) });
                }
                Next::Pulled(Some(Err(error))) => {
                    drop(running);
                    self.keep_progress().await;
                    return Err(ParallelStream::Source(
                        self.failure(StepFailure::Error(error)),
                    ));
                }
                Next::Pulled(None) => ended = true,
                Next::Finished(at, Ok(_)) => {
                    let offset = usize::try_from(at - self.position).expect("within the window");
                    pending[offset].1 = true;
                    while pending.front().is_some_and(|(_, finished)| *finished) {
                        let (cursor, _) = pending.pop_front().expect("a front");
                        self.cursor = Some(cursor);
                        self.position += 1;
                        self.since += 1;
                    }
                    if self.checkpoint_due() {
                        self.checkpoint(Vec::new(), false)
                            .await
                            .map_err(ParallelStream::Source)?;
                    }
                }
                Next::Finished(_, Err(error)) => {
                    drop(running);
                    self.keep_progress().await;
                    return Err(ParallelStream::Body(error));
                }
            }
        }
        self.checkpoint(Vec::new(), true)
            .await
            .map_err(ParallelStream::Source)
    }

    /// Journals the items finished without a gap before the loop fails, so
    /// that a rerun goes on from there; a journal that fails too is left to
    /// the loop's own failure.
    async fn keep_progress(&mut self) {
        if self.since > 0 && self.checkpoint(Vec::new(), false).await.is_err() {
            tracing::warn!("could not journal a stream loop's progress before it failed");
        }
    }
}
