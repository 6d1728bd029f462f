//! Sources made from sources: [`SourceExt::map`] and [`SourceExt::chunks`].

use futures::stream::{BoxStream, StreamExt as _};

use super::Source;

/// Adapters every [`Source`] has.
pub trait SourceExt: Source + Sized {
    /// Each item through `f`, plain code run as the item is read (it runs
    /// again for the items a resumed run reads again, so it must be
    /// deterministic, like all plain code of a workflow). The cursors stay
    /// the source's.
    fn map<F, U>(self, f: F) -> Map<Self, F>
    where
        F: FnMut(Self::Item) -> U + Send + 'static,
        U: Send,
    {
        Map { source: self, f }
    }

    /// The items in `Vec`s of `size` (the last one may be shorter; 0 is
    /// taken as 1): a stream loop over it runs its body once per chunk. A
    /// chunk's cursor is its last item's, so a resumed run reads on after
    /// the last whole chunk its checkpoint covers.
    ///
    /// ```
    /// use futures::StreamExt as _;
    /// use trailhead_core::stream::{Source, SourceExt as _, iter};
    ///
    /// # futures::executor::block_on(async {
    /// let chunks: Vec<_> = iter(1..=5).chunks(2).open(None).map(Result::unwrap).collect().await;
    /// assert_eq!(chunks, [(1, vec![1, 2]), (3, vec![3, 4]), (4, vec![5])]);
    /// # });
    /// ```
    fn chunks(self, size: usize) -> Chunks<Self> {
        Chunks {
            source: self,
            size: size.max(1),
        }
    }
}

impl<S: Source> SourceExt for S {}

/// The source [`SourceExt::map`] makes.
#[derive(Debug)]
pub struct Map<S, F> {
    source: S,
    f: F,
}

impl<S, F, U> Source for Map<S, F>
where
    S: Source,
    S::Items: 'static,
    F: FnMut(S::Item) -> U + Send + 'static,
    U: Send,
{
    type Item = U;
    type Cursor = S::Cursor;
    type Error = S::Error;
    type Items = futures::stream::Map<
        S::Items,
        Box<
            dyn FnMut(Result<(S::Cursor, S::Item), S::Error>) -> Result<(S::Cursor, U), S::Error>
                + Send,
        >,
    >;

    fn open(self, after: Option<S::Cursor>) -> Self::Items {
        let mut f = self.f;
        let map: Box<dyn FnMut(_) -> _ + Send> =
            Box::new(move |item: Result<(S::Cursor, S::Item), S::Error>| {
                item.map(|(cursor, item)| (cursor, f(item)))
            });
        self.source.open(after).map(map)
    }
}

/// The source [`SourceExt::chunks`] makes.
#[derive(Debug)]
pub struct Chunks<S> {
    source: S,
    size: usize,
}

impl<S> Source for Chunks<S>
where
    S: Source,
    S::Items: 'static,
    S::Item: 'static,
    S::Cursor: 'static,
    S::Error: 'static,
{
    type Item = Vec<S::Item>;
    type Cursor = S::Cursor;
    type Error = S::Error;
    type Items = BoxStream<'static, Result<(S::Cursor, Vec<S::Item>), S::Error>>;

    fn open(self, after: Option<S::Cursor>) -> Self::Items {
        let size = self.size;
        // `ready_chunks` would give what is ready; a chunk here is always
        // `size` items (but the last), so a checkpoint's cursor falls on a
        // chunk's end whatever the timing.
        let items = self.source.open(after);
        futures::stream::unfold(Some(Box::pin(items)), move |items| async move {
            let mut items = items?;
            let mut chunk = Vec::with_capacity(size);
            let mut last = None;
            let mut ended = false;
            while chunk.len() < size {
                match items.next().await {
                    Some(Ok((cursor, item))) => {
                        chunk.push(item);
                        last = Some(cursor);
                    }
                    // What was read before the error is not given: the error
                    // fails the loop, and a resumed run reads it again.
                    Some(Err(error)) => return Some((Err(error), None)),
                    None => {
                        ended = true;
                        break;
                    }
                }
            }
            let cursor = last?;
            // A source that ended is not polled again (many streams panic).
            Some((Ok((cursor, chunk)), (!ended).then_some(items)))
        })
        .boxed()
    }
}
