//! `parallel(limit = n) for item in items { … }`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::StreamExt;
use futures::stream::FuturesUnordered;

/// Like [`fan_out`], but every item runs whatever the others do: the outcome
/// of each, in input order. For `parallel(.., collect_all)`.
///
/// # Cancel safety
///
/// Dropping the future drops every running body.
pub async fn fan_out_all<I, F, Fut, T, E>(limit: usize, items: I, body: F) -> Vec<Result<T, E>>
where
    I: IntoIterator,
    F: Fn(u32, I::Item) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let outcomes = fan_out(limit, items, |index, item| {
        let future = body(index, item);
        async move { Ok::<_, std::convert::Infallible>(future.await) }
    });
    match outcomes.await {
        Ok(outcomes) => outcomes,
        Err(never) => match never {},
    }
}

/// Runs `body(index, item)` for every item, at most `limit` at a time, and
/// returns the outputs in input order.
///
/// Items are pulled from the iterator only when a place is free, so memory
/// stays flat in the number of items waiting: at most `limit` bodies exist at
/// once. The first error is returned at once; the bodies still running are
/// dropped (their steps are cancelled). A `limit` of 0 is taken as 1.
///
/// Each body is made in a box and polled once there, as soon as it is made:
/// one that is done at once (its steps' outputs journaled without waiting)
/// leaves its box for the next body and never joins the set of running ones,
/// so a fan-out of quick bodies allocates nothing per item. A body that has
/// to wait joins the set, in its box, and is polled from there on as before.
///
/// # Errors
///
/// The first error a body returns.
///
/// # Cancel safety
///
/// Dropping the future drops every running body.
pub async fn fan_out<I, F, Fut, T, E>(limit: usize, items: I, body: F) -> Result<Vec<T>, E>
where
    I: IntoIterator,
    F: Fn(u32, I::Item) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let limit = limit.max(1);
    let mut items = items.into_iter();
    let mut results: Vec<Option<T>> = Vec::with_capacity(items.size_hint().0);
    let mut running = FuturesUnordered::new();
    // The box the next body is made in: the last one's, if it was done at once.
    let mut spare: Option<Pin<Box<Fut>>> = None;
    let mut next_index: u32 = 0;
    let mut drained = false;
    std::future::poll_fn(|cx| {
        loop {
            while !drained && running.len() < limit {
                let Some(item) = items.next() else {
                    drained = true;
                    break;
                };
                let index = next_index;
                next_index += 1;
                let future = body(index, item);
                let mut boxed = match spare.take() {
                    Some(mut boxed) => {
                        boxed.set(future);
                        boxed
                    }
                    None => Box::pin(future),
                };
                match boxed.as_mut().poll(cx) {
                    Poll::Ready(outcome) => {
                        spare = Some(boxed);
                        match outcome {
                            Ok(output) => put(&mut results, index, output),
                            Err(error) => return Poll::Ready(Err(error)),
                        }
                    }
                    Poll::Pending => running.push(Indexed {
                        index,
                        future: boxed,
                    }),
                }
            }
            match running.poll_next_unpin(cx) {
                Poll::Ready(Some((index, Ok(output)))) => put(&mut results, index, output),
                Poll::Ready(Some((_, Err(error)))) => return Poll::Ready(Err(error)),
                Poll::Ready(None) if drained => return Poll::Ready(Ok(())),
                // Empty, with items left: the loop makes the next bodies.
                Poll::Ready(None) => {}
                Poll::Pending => return Poll::Pending,
            }
        }
    })
    .await?;
    Ok(results
        .into_iter()
        .map(|result| result.expect("every item's body finished"))
        .collect())
}

/// Stores item `index`'s output in its slot.
fn put<T>(results: &mut Vec<Option<T>>, index: u32, output: T) {
    let slot = index as usize;
    if results.len() <= slot {
        results.resize_with(slot + 1, || None);
    }
    results[slot] = Some(output);
}

/// A running body, in its box, and its item's index.
struct Indexed<Fut> {
    index: u32,
    future: Pin<Box<Fut>>,
}

impl<Fut: Future> Future for Indexed<Fut> {
    type Output = (u32, Fut::Output);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let index = self.index;
        self.future.as_mut().poll(cx).map(|output| (index, output))
    }
}
