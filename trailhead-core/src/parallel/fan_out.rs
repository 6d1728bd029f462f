//! `parallel(limit = n) for item in items { … }`.

use std::future::Future;

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
    let mut next_index: u32 = 0;
    loop {
        while running.len() < limit {
            let Some(item) = items.next() else { break };
            let index = next_index;
            next_index += 1;
            let future = body(index, item);
            running.push(async move { (index, future.await) });
        }
        let Some((index, outcome)) = running.next().await else {
            break;
        };
        let slot = index as usize;
        if results.len() <= slot {
            results.resize_with(slot + 1, || None);
        }
        results[slot] = Some(outcome?);
    }
    Ok(results
        .into_iter()
        .map(|result| result.expect("every item's body finished"))
        .collect())
}
