//! A stream loop's checkpoint: how far it got, and its state there.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::CodecError;
use crate::store::Value;

/// What a stream loop journals under its key, in place of the one before:
/// the items it finished, the source's cursor after the last of them, and
/// its accumulators (each encoded on its own, in the order the loop names
/// them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Items finished (the next item's position).
    pub items: u64,
    /// The cursor after the last finished item; `None` before the first.
    pub cursor: Option<Value>,
    /// The loop's accumulators after the last finished item.
    pub state: Vec<Value>,
    /// Whether the source ended (or the loop broke off): a resumed run
    /// skips the loop and takes the state.
    pub done: bool,
}

/// A value a stream loop's checkpoint can hold: a `mut` binding the loop's
/// body changes. Implemented for every type serde can write and read back.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be checkpointed: a `mut` binding a stream loop changes is journaled at its checkpoints",
    label = "this accumulator's type must implement `serde::Serialize` and `serde::de::DeserializeOwned`"
)]
// serde is reached through methods rather than supertraits, and the impl is
// not recommended: a type without serde's traits is then one error, this
// trait's, not one per missing supertrait.
pub trait Accumulator: Sized {
    /// The value, encoded for a checkpoint.
    ///
    /// # Errors
    ///
    /// When the value cannot be journaled (see [`Value`]).
    fn to_checkpoint(&self) -> Result<Value, CodecError>;

    /// The value a checkpoint holds.
    ///
    /// # Errors
    ///
    /// When the checkpoint's value does not read as this type.
    fn from_checkpoint(value: &Value) -> Result<Self, CodecError>;
}

#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned> Accumulator for T {
    fn to_checkpoint(&self) -> Result<Value, CodecError> {
        Value::encode(self)
    }

    fn from_checkpoint(value: &Value) -> Result<Self, CodecError> {
        value.decode()
    }
}

/// When a stream loop checkpoints: every `every` items, and when `interval`
/// has passed since the last checkpoint (checked as items finish), whichever
/// comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(hidden)]
pub struct CheckpointPolicy {
    /// Items between checkpoints (at least 1).
    pub every: u64,
    /// Time between checkpoints, if limited.
    pub interval: Option<std::time::Duration>,
}

impl CheckpointPolicy {
    /// The default: every 1,000 items or 10 seconds.
    pub const DEFAULT: Self = Self {
        every: 1_000,
        interval: Some(std::time::Duration::from_secs(10)),
    };
}
