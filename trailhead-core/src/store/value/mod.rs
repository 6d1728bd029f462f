//! [`Value`]: a journaled value, its codec, and what it refuses.

mod encoded;
mod faithful;
mod render;
mod serde_impl;
#[cfg(test)]
mod tests;

use std::any::type_name;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use self::encoded::Encoded;
use self::faithful::{Checked, Findings, MAX_DEPTH, Refusal};
use crate::CodecError;

/// How a [`Value`]'s bytes are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// CBOR (RFC 8949) through `ciborium`: what this build writes.
    Cbor,
    /// JSON text through `serde_json`: what older builds wrote, read as before.
    Json,
}

impl Codec {
    /// The codec's name, as the SQLite store's `codec` column holds it:
    /// `"cbor"` or `"json"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Cbor => "cbor",
            Self::Json => "json",
        }
    }

    /// The codec named `name` ([`Codec::name`]), if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "cbor" => Some(Self::Cbor),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cbor => "CBOR",
            Self::Json => "JSON",
        })
    }
}

/// A journaled value (a step's output, a run's input and output, a signal's
/// payload) as the journal keeps it: the encoded bytes and the [`Codec`] that
/// wrote them.
///
/// This build writes [CBOR](https://www.rfc-editor.org/rfc/rfc8949) through
/// `ciborium` ([`Codec::Cbor`]): self-describing like JSON (structs stay maps
/// with their field names, so adding a field with `#[serde(default)]` reads
/// old entries as it would with JSON), but faithful to serde's data model,
/// where JSON is not. Values journaled by older builds are JSON
/// ([`Codec::Json`]) and are read as they always were.
///
/// **What was live is what was stored.** A resumed run reads back what the
/// step returned the first time: `f64::NAN`, the infinities and `-0.0`;
/// `u128`/`i128` over their whole range; maps keyed by tuples, structs or
/// enums; every enum shape; byte buffers as bytes. What the codec could not
/// give back as it was is refused when it is encoded, with a [`CodecError`]
/// that fails the step the same way live and on every replay:
///
/// - a `Some` of a value that is itself encoded as null: `Some(None)` of an
///   `Option<Option<T>>`, `Some(())`, `Some` of a unit struct, of an untagged
///   enum's unit variant or of `serde_json::Value::Null` (CBOR, like JSON,
///   writes `Some(x)` as `x`, so these would read back as `None`);
/// - values nested more than 256 levels deep;
/// - a `u128`/`i128` field, whatever its value, inside an untagged or
///   internally tagged enum or a flattened struct (serde reads those through
///   a buffer without 128-bit integers, with JSON as with CBOR;
///   [`Value::encode`] decodes a value that holds a 128-bit integer once to
///   find out). Adjacently and externally tagged enums read them back.
///
/// One serde behaviour no codec can fix: an `#[serde(untagged)]` enum reads
/// back as the first variant its content fits, so variants that encode alike
/// (`A(u32)` and `B(u64)`) should be told apart with a tag.
///
/// A value shows readably: [`Display`](std::fmt::Display) writes CBOR in a
/// diagnostic notation close to JSON (`{"id": 7, "score": NaN, [1, 2]:
/// h'00ff'}`), `Debug` the same after the codec's name, and
/// [`Value::to_json`] gives JSON for tools.
///
/// Inside another serde value (a [`RunRecord`](crate::store::RunRecord) a
/// tool writes out), a `Value` is a map of its codec and bytes; human-readable
/// formats get the bytes in `hex`, and for the reader the value as JSON in
/// `shown` ([`Value::to_json`]), which is not read back.
///
/// Two values are equal when codec and bytes are: encoding equal values of
/// any types that serialize alike gives equal `Value`s (`3_u8` and `3_u64`,
/// a struct and a map with the same entries in the same order).
///
/// # Examples
///
/// ```
/// use std::collections::BTreeMap;
/// use trailhead_core::store::{Codec, Value};
///
/// # fn main() -> Result<(), trailhead_core::CodecError> {
/// let scores = BTreeMap::from([((1, 2), f64::NAN), ((3, 4), -0.0)]);
/// let value = Value::encode(&scores)?;
/// assert_eq!(value.codec(), Codec::Cbor);
/// assert_eq!(value.to_string(), "{[1, 2]: NaN, [3, 4]: -0.0}");
///
/// let back: BTreeMap<(u8, u8), f64> = value.decode()?;
/// assert!(back[&(1, 2)].is_nan());
/// assert!(back[&(3, 4)].is_sign_negative());
///
/// // What would not read back as it was is refused.
/// assert!(Value::encode(&Some(None::<u32>)).is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Value {
    encoded: Encoded,
}

impl Value {
    /// Encodes `value` as CBOR, refusing what would not read back as it is.
    ///
    /// `T` is also the type that reads the value back: a value holding a
    /// 128-bit integer is decoded once as a `T` to make sure it does.
    ///
    /// # Errors
    ///
    /// [`CodecError::NullInSome`], [`CodecError::TooDeep`] or
    /// [`CodecError::WouldNotReadBack`] for what the journal could not give
    /// back as it was (see [`Value`]), and
    /// [`CodecError::Serialize`] when the type's `Serialize` fails.
    pub fn encode<T: Serialize + DeserializeOwned>(value: &T) -> Result<Self, CodecError> {
        let (encoded, wide) = Self::encode_cbor(value)?;
        if wide {
            // Only read back where it may not: see `faithful`.
            encoded
                .decode::<T>()
                .map_err(|error| CodecError::WouldNotReadBack {
                    ty: type_name::<T>(),
                    message: match error {
                        CodecError::Decode { message, .. } => message,
                        other => other.to_string(),
                    },
                })?;
        }
        Ok(encoded)
    }

    /// Encodes `value` as [`encode`](Self::encode) does, without reading a
    /// value with 128-bit integers back: for values another type decodes
    /// (a signal's payload is read by the receiving step, live as on replay).
    pub(crate) fn encode_unread<T: Serialize + ?Sized>(value: &T) -> Result<Self, CodecError> {
        Self::encode_cbor(value).map(|(encoded, _)| encoded)
    }

    /// The CBOR of `value`, and whether it holds a 128-bit integer.
    fn encode_cbor<T: Serialize + ?Sized>(value: &T) -> Result<(Self, bool), CodecError> {
        let findings = Findings::default();
        let mut encoded = Encoded::new(Codec::Cbor);
        let written = ciborium::into_writer(&Checked::new(value, &findings), &mut encoded);
        let ty = type_name::<T>();
        match findings.refusal.get() {
            Some(Refusal::NullInSome) => return Err(CodecError::NullInSome { ty }),
            Some(Refusal::TooDeep) => {
                return Err(CodecError::TooDeep {
                    ty,
                    limit: MAX_DEPTH,
                });
            }
            None => {}
        }
        written.map_err(|error| CodecError::Serialize {
            ty,
            message: match error {
                ciborium::ser::Error::Value(message) => message,
                ciborium::ser::Error::Io(error) => error.to_string(),
            },
        })?;
        Ok((Self { encoded }, findings.wide.get()))
    }

    /// Decodes the value as a `T`, with the codec that wrote it.
    ///
    /// # Errors
    ///
    /// [`CodecError::Decode`] when the bytes do not read as a `T`: the type
    /// changed since the value was journaled (a renamed field, a narrower
    /// number), or the bytes are damaged.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, CodecError> {
        let decoded = match self.codec() {
            Codec::Cbor => decode_cbor(self.bytes()),
            Codec::Json => serde_json::from_slice(self.bytes()).map_err(|error| error.to_string()),
        };
        decoded.map_err(|message| CodecError::Decode {
            ty: type_name::<T>(),
            codec: self.codec(),
            message,
        })
    }

    /// A value from bytes `codec` wrote, as a store keeps them. Not checked:
    /// bytes that are not a value fail when [decoded](Self::decode).
    pub fn from_bytes(codec: Codec, bytes: Vec<u8>) -> Self {
        Self {
            encoded: Encoded::Heap { codec, bytes },
        }
    }

    /// A value from a copy of bytes `codec` wrote (a store's row), kept in
    /// place when small.
    pub(crate) fn copy_from(codec: Codec, bytes: &[u8]) -> Self {
        Self {
            encoded: Encoded::copy_of(codec, bytes),
        }
    }

    /// The codec that wrote the bytes.
    pub fn codec(&self) -> Codec {
        self.encoded.codec()
    }

    /// The encoded bytes.
    pub fn bytes(&self) -> &[u8] {
        self.encoded.as_slice()
    }

    /// The encoded bytes, by value.
    pub fn into_bytes(self) -> Vec<u8> {
        self.encoded.into_vec()
    }

    /// The value as JSON, for tools that show it; not to decode.
    ///
    /// What JSON has no form for becomes a string: NaN and the infinities
    /// (`"NaN"`, `"Infinity"`, `"-Infinity"`), integers beyond 64 bits
    /// (their digits), byte strings (`"h'00ff'"`). A map key that is not a
    /// string is written in the notation of [`Display`](fmt::Display)
    /// (`"[1, 2]"`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use trailhead_core::store::Value;
    ///
    /// # fn main() -> Result<(), trailhead_core::CodecError> {
    /// let value = Value::encode(&BTreeMap::from([((1, 2), f64::INFINITY)]))?;
    /// assert_eq!(value.to_json(), serde_json::json!({ "[1, 2]": "Infinity" }));
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        match self.codec() {
            Codec::Cbor => render::cbor_to_json(self.bytes()),
            Codec::Json => serde_json::from_slice(self.bytes()).unwrap_or_else(|error| {
                serde_json::Value::String(format!("<malformed JSON: {error}>"))
            }),
        }
    }

    /// The unit value, `()`: what a compensation's journal entry holds.
    pub(crate) fn unit() -> Self {
        Self::copy_from(Codec::Cbor, &[render::NULL])
    }

    /// `{key: value}` in `value`'s codec, without decoding `value`: how an
    /// enum's variant holds a value (`{"Completed": …}`), and a journal
    /// entry's envelope.
    pub(crate) fn entry(key: &str, value: &Value) -> Self {
        let bytes = match value.codec() {
            Codec::Cbor => {
                let mut bytes = Vec::with_capacity(1 + 9 + key.len() + value.bytes().len());
                bytes.push(0xa1); // a map of one entry
                render::push_text_header(&mut bytes, key.len());
                bytes.extend_from_slice(key.as_bytes());
                bytes.extend_from_slice(value.bytes());
                bytes
            }
            Codec::Json => {
                let mut bytes = Vec::with_capacity(4 + key.len() + value.bytes().len());
                bytes.push(b'{');
                serde_json::to_writer(&mut bytes, key).expect("a string serializes");
                bytes.push(b':');
                bytes.extend_from_slice(value.bytes());
                bytes.push(b'}');
                bytes
            }
        };
        Self::from_bytes(value.codec(), bytes)
    }

    /// The key and the value of `{key: value}` written by `codec` as
    /// [`entry`](Self::entry) writes it; `None` for anything else.
    pub(crate) fn split_entry(codec: Codec, bytes: &[u8]) -> Option<(Cow<'_, str>, Value)> {
        match codec {
            Codec::Cbor => {
                let (key, value) = render::split_cbor_entry(bytes)?;
                Some((Cow::Borrowed(key), Value::copy_from(codec, value)))
            }
            Codec::Json => {
                // The value's own text, not a rewrite of it (key order, numbers).
                let map: BTreeMap<String, Box<serde_json::value::RawValue>> =
                    serde_json::from_slice(bytes).ok()?;
                if map.len() != 1 {
                    return None;
                }
                let (key, value) = map.into_iter().next()?;
                let value = Value::copy_from(codec, value.get().as_bytes());
                Some((Cow::Owned(key), value))
            }
        }
    }
}

/// Decodes CBOR `bytes` as a `T`; the whole of them.
fn decode_cbor<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    // ciborium reads strings and byte strings that some types borrow (`str`,
    // `bytes`, identifiers) through this buffer, so it must hold the longest:
    // no longer than the input.
    let mut small = [0_u8; 512];
    let mut large = Vec::new();
    let scratch: &mut [u8] = if bytes.len() <= small.len() {
        &mut small
    } else {
        large.resize(bytes.len(), 0);
        &mut large
    };
    let mut rest = bytes;
    let value = ciborium::de::from_reader_with_buffer(&mut rest, scratch).map_err(read_error)?;
    if !rest.is_empty() {
        return Err(format!("{} bytes after the value", rest.len()));
    }
    Ok(value)
}

/// What went wrong reading CBOR, in words.
fn read_error(error: ciborium::de::Error<std::io::Error>) -> String {
    use ciborium::de::Error;
    match error {
        Error::Io(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the value ends early".to_owned()
        }
        Error::Io(error) => error.to_string(),
        Error::Syntax(at) => format!("malformed CBOR at byte {at}"),
        Error::Semantic(Some(at), message) => format!("{message} (at byte {at})"),
        Error::Semantic(None, message) => message,
        Error::RecursionLimitExceeded => "nested too deeply".to_owned(),
    }
}

impl fmt::Display for Value {
    /// The value in CBOR diagnostic notation (or its JSON text): byte strings
    /// longer than 32 bytes are cut short, unless `{:#}` asks for all of them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.codec() {
            Codec::Cbor => render::write_cbor(self.bytes(), f.alternate(), f),
            Codec::Json => f.write_str(&String::from_utf8_lossy(self.bytes())),
        }
    }
}

impl fmt::Debug for Value {
    /// `Cbor(…)` or `Json(…)` around the [`Display`](fmt::Display) form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codec = match self.codec() {
            Codec::Cbor => "Cbor",
            Codec::Json => "Json",
        };
        write!(f, "{codec}(")?;
        fmt::Display::fmt(self, f)?;
        f.write_str(")")
    }
}
