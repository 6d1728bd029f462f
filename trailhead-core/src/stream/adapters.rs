//! Sources for the common cases: an iterator, a resumable `Stream`, a paged
//! API.

use std::convert::Infallible;
use std::fmt::Display;
use std::future::Future;
use std::marker::PhantomData;

use futures::stream::{self, BoxStream, StreamExt as _};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Source;

/// Any iterator as a source: an item's cursor is its position (from 0), and
/// opening after position `n` skips the first `n + 1` items.
///
/// The iterator must give the same items in the same order every time the
/// body makes it (a resumed run makes it again and skips what was done):
/// a `Vec`, a range, a sorted query result. Skipping walks the iterator, so
/// for a large source that can seek, prefer [`resumable`] or [`lines`](super::lines).
///
/// ```
/// use futures::StreamExt as _;
/// use trailhead_core::stream::{Source, iter};
///
/// # futures::executor::block_on(async {
/// let rest: Vec<_> = iter(vec!["a", "b", "c"]).open(Some(0)).map(Result::unwrap).collect().await;
/// assert_eq!(rest, [(1, "b"), (2, "c")]);
/// # });
/// ```
pub fn iter<I>(items: I) -> Iter<I::IntoIter>
where
    I: IntoIterator,
    I::IntoIter: Send + Unpin,
    I::Item: Send,
{
    Iter(items.into_iter())
}

/// The source [`iter`] makes.
#[derive(Debug)]
pub struct Iter<I>(I);

impl<I> Source for Iter<I>
where
    I: Iterator + Send + Unpin,
    I::Item: Send,
{
    type Item = I::Item;
    type Cursor = u64;
    type Error = Infallible;
    type Items = IterItems<I>;

    fn open(self, after: Option<u64>) -> IterItems<I> {
        let mut items = IterItems {
            items: self.0,
            next: 0,
        };
        if let Some(at) = after {
            // `nth` walks the iterator without collecting.
            let _ = items.items.nth(usize::try_from(at).unwrap_or(usize::MAX));
            items.next = at.saturating_add(1);
        }
        items
    }
}

/// The items of an [`iter`] source, with their positions.
#[derive(Debug)]
pub struct IterItems<I> {
    items: I,
    next: u64,
}

impl<I: Iterator + Unpin> futures::Stream for IterItems<I> {
    type Item = Result<(u64, I::Item), Infallible>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let item = this.items.next().map(|item| {
            let at = this.next;
            this.next += 1;
            Ok((at, item))
        });
        std::task::Poll::Ready(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.items.size_hint()
    }
}

/// A source from a function that starts a [`futures::Stream`] of
/// `(cursor, item)` results after a cursor (`None`: from the start).
///
/// ```
/// use futures::StreamExt as _;
/// use trailhead_core::stream::{Source, resumable};
///
/// // Ids from a table, by primary key: `WHERE id > $after ORDER BY id`.
/// let table = resumable(|after: Option<u32>| {
///     let from = after.map_or(1, |id| id + 1);
///     futures::stream::iter((from..=5).map(|id| Ok::<_, std::io::Error>((id, format!("row {id}")))))
/// });
/// # futures::executor::block_on(async {
/// let rest: Vec<_> = table.open(Some(3)).map(|row| row.unwrap().1).collect().await;
/// assert_eq!(rest, ["row 4", "row 5"]);
/// # });
/// ```
pub fn resumable<F, S, C, T, E>(open: F) -> Resumable<F, C>
where
    F: FnOnce(Option<C>) -> S + Send,
    S: futures::Stream<Item = Result<(C, T), E>> + Send,
    C: Serialize + DeserializeOwned + Clone + Send + Sync,
    T: Send,
    E: Display + Send,
{
    Resumable(open, PhantomData)
}

/// The source [`resumable`] makes.
#[derive(Debug)]
pub struct Resumable<F, C>(F, PhantomData<fn(C)>);

impl<F, S, C, T, E> Source for Resumable<F, C>
where
    F: FnOnce(Option<C>) -> S + Send,
    S: futures::Stream<Item = Result<(C, T), E>> + Send,
    C: Serialize + DeserializeOwned + Clone + Send + Sync,
    T: Send,
    E: Display + Send,
{
    type Item = T;
    type Cursor = C;
    type Error = E;
    type Items = S;

    fn open(self, after: Option<C>) -> S {
        (self.0)(after)
    }
}

/// One page of a paged API: its items and the token of the next page
/// (`None` on the last page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T, Token> {
    /// The page's items, in order.
    pub items: Vec<T>,
    /// The token that fetches the next page, if there is one.
    pub next: Option<Token>,
}

/// Where a [`paged`] source is: the token that fetched the page (`None`
/// for the first page) and how many of its items were given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCursor<Token> {
    /// The token the page was fetched with; `None` for the first page.
    pub page: Option<Token>,
    /// How many of the page's items were given.
    pub taken: u32,
}

/// A paged API as a source: `fetch(token)` fetches a page (`None`: the
/// first), and the source follows each page's `next` token.
///
/// Resuming fetches the page the cursor was in again and skips what was
/// given of it, so pages must be stable for a token (the usual contract of
/// a page token or a keyset cursor).
///
/// ```
/// use futures::StreamExt as _;
/// use trailhead_core::stream::{Page, Source, paged};
///
/// // Pages of three numbers, up to 7; the token is the first number.
/// let api = paged(|token: Option<u32>| async move {
///     let first = token.unwrap_or(0);
///     let items: Vec<u32> = (first..(first + 3).min(8)).collect();
///     let next = (first + 3 < 8).then_some(first + 3);
///     Ok::<_, std::io::Error>(Page { items, next })
/// });
/// # futures::executor::block_on(async {
/// let all: Vec<u32> = api.open(None).map(|item| item.unwrap().1).collect().await;
/// assert_eq!(all, [0, 1, 2, 3, 4, 5, 6, 7]);
/// # });
/// ```
pub fn paged<F, Fut, T, Token, E>(fetch: F) -> Paged<F, Token>
where
    F: FnMut(Option<Token>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Page<T, Token>, E>> + Send + 'static,
    T: Send + 'static,
    Token: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
    E: Display + Send + 'static,
{
    Paged(fetch, PhantomData)
}

/// The source [`paged`] makes.
#[derive(Debug)]
pub struct Paged<F, Token>(F, PhantomData<fn(Token)>);

/// Where a paged source is between pulls.
struct PageState<F, T, Token> {
    fetch: F,
    /// The token of the page held, and the page's items not given yet.
    page: Option<Token>,
    taken: u32,
    items: std::vec::IntoIter<T>,
    /// The next page's token; `None` after the last page. `Some(None)` is
    /// the first page.
    next: Option<Option<Token>>,
    /// Items of the first page fetched to skip (a resumed source).
    skip: u32,
}

impl<F, Fut, T, Token, E> Source for Paged<F, Token>
where
    F: FnMut(Option<Token>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Page<T, Token>, E>> + Send + 'static,
    T: Send + 'static,
    Token: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
    E: Display + Send + 'static,
{
    type Item = T;
    type Cursor = PageCursor<Token>;
    type Error = E;
    type Items = BoxStream<'static, Result<(PageCursor<Token>, T), E>>;

    fn open(self, after: Option<PageCursor<Token>>) -> Self::Items {
        let (next, skip) = match after {
            Some(cursor) => (Some(cursor.page), cursor.taken),
            None => (Some(None), 0),
        };
        let state = PageState {
            fetch: self.0,
            page: None,
            taken: 0,
            items: Vec::new().into_iter(),
            next,
            skip,
        };
        stream::unfold(Some(state), |state| async move {
            let mut state = state?;
            loop {
                if let Some(item) = state.items.next() {
                    state.taken += 1;
                    let cursor = PageCursor {
                        page: state.page.clone(),
                        taken: state.taken,
                    };
                    return Some((Ok((cursor, item)), Some(state)));
                }
                let token = state.next.take()?;
                match (state.fetch)(token.clone()).await {
                    Ok(page) => {
                        state.page = token;
                        state.next = page.next.map(Some);
                        state.items = page.items.into_iter();
                        state.taken = 0;
                        let skip = std::mem::take(&mut state.skip);
                        for _ in 0..skip {
                            if state.items.next().is_some() {
                                state.taken += 1;
                            }
                        }
                    }
                    // The stream ends after its error.
                    Err(error) => return Some((Err(error), None)),
                }
            }
        })
        .boxed()
    }
}
