use crate::store::Codec;

/// A value could not be put in the journal, or read back from it, as its type.
///
/// The journal codec ([`Value`](crate::store::Value)) is faithful: what a step
/// returned live is what a resumed run reads back. A value it could not give
/// back as it was is refused when it is encoded, so the step fails the same
/// way live and on replay, instead of succeeding live and failing (or reading
/// back something else) after a resume.
///
/// It is the `source` of [`StoreError::Encode`](crate::StoreError::Encode) and
/// [`StoreError::Decode`](crate::StoreError::Decode), which name the run, the
/// step when there is one, and which value; each variant here names the Rust
/// type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The type's `Serialize` implementation failed.
    #[error("`{ty}` did not serialize: {message}")]
    Serialize {
        /// The type being encoded.
        ty: &'static str,
        /// The serializer's message.
        message: String,
    },
    /// A `Some` holds a value that is itself encoded as null (`Some(None)` of
    /// an `Option<Option<T>>`, `Some(())`, `Some` of a unit struct or of
    /// `serde_json::Value::Null`): it would read back as `None`.
    #[error(
        "`{ty}` holds a `Some` of a value encoded as null (such as `Some(None)` or `Some(())`), \
         which would read back as `None`; use an enum or a struct field instead"
    )]
    NullInSome {
        /// The type being encoded.
        ty: &'static str,
    },
    /// The value nests deeper than the journal reads back.
    #[error("`{ty}` nests more than {limit} levels deep, more than the journal reads back")]
    TooDeep {
        /// The type being encoded.
        ty: &'static str,
        /// The most levels of maps, sequences and enum variants a value may nest.
        limit: usize,
    },
    /// The value encoded, but would not decode as its own type. serde reads
    /// untagged and internally tagged enums and flattened fields through a
    /// buffer that has no 128-bit integers, so a `u128`/`i128` inside one
    /// cannot be read back.
    #[error("`{ty}` would not read back from the journal: {message}")]
    WouldNotReadBack {
        /// The type being encoded.
        ty: &'static str,
        /// Why it would not decode.
        message: String,
    },
    /// The journaled value does not read as the type asked for: the type
    /// changed since it was written, or the entry is damaged.
    #[error("the journaled {codec} value does not read as `{ty}`: {message}")]
    Decode {
        /// The type asked for.
        ty: &'static str,
        /// The codec the value was written with.
        codec: Codec,
        /// The deserializer's message.
        message: String,
    },
}
