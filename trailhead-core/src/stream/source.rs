//! What a stream loop reads: a [`Source`] of `(cursor, item)` pairs that can
//! be opened again after any cursor it gave.

use std::fmt::Display;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A resumable stream of items: a file read from an offset, an API paged by
/// token, a table read by primary key.
///
/// Each item comes with its *cursor*: where the source is just after it. A
/// stream loop journals the cursor of the last item it finished at every
/// checkpoint; a run resumed after a crash opens the source again with
/// `open(Some(cursor))`, which must give the items *after* that one. So a
/// cursor is small and serializable (it is journaled), and opening after it
/// must not depend on anything but the cursor and the source's own value
/// (which the workflow's body makes again when it resumes).
///
/// The adapters cover the common cases: [`iter`](super::iter) (any
/// iterator, by position), [`resumable`](super::resumable) (any
/// [`futures::Stream`] you can start after a cursor), [`paged`](super::paged)
/// (an API that returns pages and a next-page token) and
/// [`lines`](super::lines) (a file, line by line, by byte offset); and
/// [`SourceExt`](super::SourceExt) maps and chunks any source.
///
/// The stream is pulled: the loop asks for the next item only when it has
/// room for it, so a slow body slows the source down instead of buffering.
pub trait Source: Send {
    /// What the loop's body gets.
    type Item: Send;
    /// Where the source is after an item; journaled at checkpoints.
    type Cursor: Serialize + DeserializeOwned + Clone + Send + Sync;
    /// Why reading failed: the stream loop fails with it, as a step's error.
    type Error: Display + Send;
    /// The items.
    type Items: futures::Stream<Item = Result<(Self::Cursor, Self::Item), Self::Error>> + Send;

    /// The items after the one `after` is the cursor of, or all of them.
    fn open(self, after: Option<Self::Cursor>) -> Self::Items;
}
