//! What a step gives back: a `Result` ([`StepResult`]) whose output the
//! journal can hold ([`Journaled`]).
//!
//! Runtime traits that `workflow!`'s generated code names too, through
//! `__private`; the bounds of every step method are written with them.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::CodecError;
use crate::store::Value;

/// A value the journal can hold: a step's output, a workflow's input and
/// output, a signal's value (the bound generated code checks; users bound
/// generic types with [`Data`](crate::Data)).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be journaled",
    label = "it must implement `serde::Serialize` and `serde::de::DeserializeOwned`",
    note = "derive them: `#[derive(serde::Serialize, serde::Deserialize)]`; for a type parameter `T`, add the bound `T: trailhead::Data`"
)]
// serde is reached through methods rather than supertraits: a supertrait bound
// would be reported again, once per supertrait, at every step that misses it.
// `Sync` is a supertrait so that a generic workflow, whose body borrows its
// values across steps, needs no bound beyond `T: Journaled`.
pub trait Journaled: Send + Sync + Sized + 'static {
    /// The value as the journal keeps it.
    ///
    /// # Errors
    ///
    /// When the value does not serialize, or would not read back as it is
    /// (e.g. `Some(None)`): see [`Value::encode`].
    fn to_journal(&self) -> Result<Value, CodecError>;

    /// The value back from the journal.
    ///
    /// # Errors
    ///
    /// When the journaled value no longer reads as the type.
    fn from_journal(value: &Value) -> Result<Self, CodecError>;
}

// Not recommended: rustc then reports `Journaled` missing, once, instead of
// `Serialize` and `Deserialize` one error each.
#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> Journaled for T {
    fn to_journal(&self) -> Result<Value, CodecError> {
        Value::encode(self)
    }

    fn from_journal(value: &Value) -> Result<Self, CodecError> {
        value.decode()
    }
}

/// What a step's function returns: a `Result`.
#[diagnostic::on_unimplemented(
    message = "a step must return `Result<T, E>`, found `{Self}`",
    label = "this step's function does not return a `Result`"
)]
pub trait StepResult {
    /// The output.
    type Ok;
    /// The error.
    type Err;
    /// The `Result` itself.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
}

// Not recommended: rustc would otherwise point at this impl ("implemented for
// `Result<T, E>`") in the error about a step that returns something else.
#[diagnostic::do_not_recommend]
impl<T, E> StepResult for Result<T, E> {
    type Ok = T;
    type Err = E;

    #[inline]
    fn into_result(self) -> Result<T, E> {
        self
    }
}
