//! A value one statement of a block produces and others read.

use std::sync::OnceLock;

/// Holds a binding made by one statement of a parallel block, for the
/// statements that read it.
///
/// The producer [`set`](Slot::set)s it once; readers, which run only after the
/// producer's [`Done`](super::Done) signal, [`get`](Slot::get) a shared
/// reference; a single reader may [`take`](Slot::take) it. When the block's
/// statements are all done, its tail takes every value back by
/// [`into_inner`](Slot::into_inner).
#[derive(Debug)]
pub struct Slot<T> {
    value: OnceLock<T>,
    taken: std::sync::Mutex<Option<T>>,
}

impl<T> Slot<T> {
    /// An empty slot.
    pub const fn new() -> Self {
        Slot {
            value: OnceLock::new(),
            taken: std::sync::Mutex::new(None),
        }
    }

    /// Stores the value for readers that share it.
    ///
    /// # Panics
    ///
    /// When the slot already holds a value (generated code sets each slot once).
    pub fn set(&self, value: T) {
        assert!(self.value.set(value).is_ok(), "a slot is set once");
    }

    /// Stores the value for the one reader that takes it.
    pub fn hand_over(&self, value: T) {
        *self
            .taken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(value);
    }

    /// The shared value.
    ///
    /// # Panics
    ///
    /// When read before it was set: generated code reads only after the
    /// producer's `Done` signal.
    pub fn get(&self) -> &T {
        self.value
            .get()
            .expect("a slot is read after its producer is done")
    }

    /// The handed-over value, for its one reader.
    ///
    /// # Panics
    ///
    /// When nothing was handed over, or it was taken already.
    pub fn take(&self) -> T {
        self.taken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .expect("a handed-over value is taken once, after its producer is done")
    }

    /// The value, however it was stored, once the block's statements are done.
    ///
    /// # Panics
    ///
    /// When no value was stored.
    pub fn into_inner(self) -> T {
        match self.value.into_inner() {
            Some(value) => value,
            None => self
                .taken
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .expect("a slot holds its value when the block ends"),
        }
    }
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self::new()
    }
}
