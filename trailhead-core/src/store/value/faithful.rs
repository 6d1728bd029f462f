//! The checks that make the codec refuse what it could not give back.
//!
//! [`Checked`] wraps a value so that serializing it wraps the serializer too
//! ([`Faithful`]), at every level: each call goes on to ciborium unchanged,
//! and on the way the wrapper notes the three things CBOR through serde cannot
//! give back as they were:
//!
//! - a `Some` of a value that encodes as null (`Some(None)`, `Some(())`):
//!   CBOR, like JSON, writes `Some(x)` as `x`, so it reads back as `None`;
//! - nesting deeper than the decoder reads ([`MAX_DEPTH`]);
//! - a 128-bit integer, which reads back except through serde's buffer for
//!   untagged and internally tagged enums and flattened fields (it has no
//!   128-bit integers): the encoder then decodes the value once to make sure.
//!
//! The first two refuse the value; the wrapper costs one branch per call.

use std::cell::Cell;
use std::fmt::Display;

use serde::ser::{self, Serialize, Serializer};

/// The most levels of containers a value may nest: ciborium's decoder reads
/// 256 (each array, map and enum variant is one; a tuple or struct variant,
/// a variant map holding a sequence or map, is two).
pub(super) const MAX_DEPTH: usize = 256;

/// Why a value was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    NullInSome,
    TooDeep,
}

/// What the checks found while one value was encoded.
#[derive(Debug, Default)]
pub(super) struct Findings {
    /// The first refusal, if any. Kept here as well as in the error the
    /// serializer returns, so a `Serialize` impl that swallows that error
    /// cannot smuggle the value through.
    pub(super) refusal: Cell<Option<Refusal>>,
    /// A 128-bit integer was written.
    pub(super) wide: Cell<bool>,
}

/// A value to serialize through [`Faithful`].
pub(super) struct Checked<'a, T: ?Sized> {
    value: &'a T,
    findings: &'a Findings,
    /// Containers around the value.
    depth: usize,
    /// The value is the content of a `Some` (through any newtypes).
    in_some: bool,
}

impl<'a, T: ?Sized> Checked<'a, T> {
    /// `value` at the top level.
    pub(super) fn new(value: &'a T, findings: &'a Findings) -> Self {
        Self {
            value,
            findings,
            depth: 0,
            in_some: false,
        }
    }
}

impl<T: Serialize + ?Sized> Serialize for Checked<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(Faithful {
            inner: serializer,
            findings: self.findings,
            depth: self.depth,
            in_some: self.in_some,
        })
    }
}

/// `value` inside `depth` containers, not directly in a `Some`.
fn checked<'v, T: ?Sized>(value: &'v T, findings: &'v Findings, depth: usize) -> Checked<'v, T> {
    Checked {
        value,
        findings,
        depth,
        in_some: false,
    }
}

/// `Serializer` methods with nothing to check: passed on as they are.
macro_rules! forward {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method(self, v: $ty) -> Result<S::Ok, S::Error> {
            self.inner.$method(v)
        }
    )*};
}

/// A compound serializer trait whose one method takes an element.
macro_rules! elements {
    ($($kind:ident::$method:ident),* $(,)?) => {$(
        impl<C: ser::$kind> ser::$kind for Compound<'_, C> {
            type Ok = C::Ok;
            type Error = C::Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
                self.inner.$method(&checked(value, self.findings, self.depth))
            }
            fn end(self) -> Result<C::Ok, C::Error> {
                self.inner.end()
            }
        }
    )*};
}

/// A compound serializer trait of named fields.
macro_rules! fields {
    ($($kind:ident),* $(,)?) => {$(
        impl<C: ser::$kind> ser::$kind for Compound<'_, C> {
            type Ok = C::Ok;
            type Error = C::Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), C::Error> {
                self.inner
                    .serialize_field(key, &checked(value, self.findings, self.depth))
            }
            fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
                self.inner.skip_field(key)
            }
            fn end(self) -> Result<C::Ok, C::Error> {
                self.inner.end()
            }
        }
    )*};
}

/// A serializer that passes every call on to `inner` after its checks.
struct Faithful<'a, S> {
    inner: S,
    findings: &'a Findings,
    depth: usize,
    in_some: bool,
}

impl<'a, S: Serializer> Faithful<'a, S> {
    fn refuse(&self, refusal: Refusal) -> S::Error {
        if self.findings.refusal.get().is_none() {
            self.findings.refusal.set(Some(refusal));
        }
        ser::Error::custom(match refusal {
            Refusal::NullInSome => "a `Some` of a value encoded as null",
            Refusal::TooDeep => "nested too deeply",
        })
    }

    /// The depth inside `levels` more containers, if the decoder reads it.
    fn enter(&self, levels: usize) -> Result<usize, S::Error> {
        let depth = self.depth + levels;
        if depth > MAX_DEPTH {
            return Err(self.refuse(Refusal::TooDeep));
        }
        Ok(depth)
    }

    /// Refuses a null where it would be taken for `None`.
    fn null(&self) -> Result<(), S::Error> {
        if self.in_some {
            return Err(self.refuse(Refusal::NullInSome));
        }
        Ok(())
    }

    /// Starts a container `levels` deep with `start`; its elements are
    /// checked inside it.
    fn open<C>(
        self,
        levels: usize,
        start: impl FnOnce(S) -> Result<C, S::Error>,
    ) -> Result<Compound<'a, C>, S::Error> {
        let depth = self.enter(levels)?;
        let findings = self.findings;
        Ok(Compound {
            inner: start(self.inner)?,
            findings,
            depth,
        })
    }

    fn nested<'v, T: ?Sized>(&self, value: &'v T, depth: usize) -> Checked<'v, T>
    where
        'a: 'v,
    {
        checked(value, self.findings, depth)
    }
}

impl<'a, S: Serializer> Serializer for Faithful<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Compound<'a, S::SerializeSeq>;
    type SerializeTuple = Compound<'a, S::SerializeTuple>;
    type SerializeTupleStruct = Compound<'a, S::SerializeTupleStruct>;
    type SerializeTupleVariant = Compound<'a, S::SerializeTupleVariant>;
    type SerializeMap = Compound<'a, S::SerializeMap>;
    type SerializeStruct = Compound<'a, S::SerializeStruct>;
    type SerializeStructVariant = Compound<'a, S::SerializeStructVariant>;

    forward! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_u8(u8), serialize_u16(u16), serialize_u32(u32),
        serialize_u64(u64), serialize_f32(f32), serialize_f64(f64), serialize_char(char),
        serialize_str(&str), serialize_bytes(&[u8]),
    }

    fn serialize_i128(self, v: i128) -> Result<S::Ok, S::Error> {
        self.findings.wide.set(true);
        self.inner.serialize_i128(v)
    }
    fn serialize_u128(self, v: u128) -> Result<S::Ok, S::Error> {
        self.findings.wide.set(true);
        self.inner.serialize_u128(v)
    }
    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.null()?;
        self.inner.serialize_none()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        let content = Checked {
            in_some: true,
            ..self.nested(value, self.depth)
        };
        self.inner.serialize_some(&content)
    }
    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.null()?;
        self.inner.serialize_unit()
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<S::Ok, S::Error> {
        self.null()?;
        self.inner.serialize_unit_struct(name)
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        // Read back as an enum: one level for the decoder, though no container.
        self.enter(1)?;
        self.inner.serialize_unit_variant(name, index, variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        // A newtype is its content: `Some(Newtype(None))` is `Some(None)`.
        let content = Checked {
            in_some: self.in_some,
            ..self.nested(value, self.depth)
        };
        self.inner.serialize_newtype_struct(name, &content)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let depth = self.enter(1)?;
        let content = self.nested(value, depth);
        self.inner
            .serialize_newtype_variant(name, index, variant, &content)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        self.open(1, |inner| inner.serialize_seq(len))
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.open(1, |inner| inner.serialize_tuple(len))
    }
    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.open(1, |inner| inner.serialize_tuple_struct(name, len))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        self.open(2, |inner| {
            inner.serialize_tuple_variant(name, index, variant, len)
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.open(1, |inner| inner.serialize_map(len))
    }
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        self.open(1, |inner| inner.serialize_struct(name, len))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.open(2, |inner| {
            inner.serialize_struct_variant(name, index, variant, len)
        })
    }
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.inner.collect_str(value)
    }
    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// A sequence, map, tuple or struct being serialized: its elements are
/// [`Checked`] one level deeper.
struct Compound<'a, C> {
    inner: C,
    findings: &'a Findings,
    depth: usize,
}

// Sequences, tuples and tuple variants: each element checked, the rest as is.
elements! {
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
}

impl<C: ser::SerializeMap> ser::SerializeMap for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), C::Error> {
        self.inner
            .serialize_key(&checked(key, self.findings, self.depth))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.inner
            .serialize_value(&checked(value, self.findings, self.depth))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

// Structs and struct variants: each field checked, skipped fields as is.
fields! { SerializeStruct, SerializeStructVariant }
