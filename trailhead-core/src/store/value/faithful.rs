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

fn compound<C>(inner: C, findings: &Findings, depth: usize) -> Compound<'_, C> {
    Compound {
        inner,
        findings,
        depth,
    }
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

    fn serialize_bool(self, v: bool) -> Result<S::Ok, S::Error> {
        self.inner.serialize_bool(v)
    }
    fn serialize_i8(self, v: i8) -> Result<S::Ok, S::Error> {
        self.inner.serialize_i8(v)
    }
    fn serialize_i16(self, v: i16) -> Result<S::Ok, S::Error> {
        self.inner.serialize_i16(v)
    }
    fn serialize_i32(self, v: i32) -> Result<S::Ok, S::Error> {
        self.inner.serialize_i32(v)
    }
    fn serialize_i64(self, v: i64) -> Result<S::Ok, S::Error> {
        self.inner.serialize_i64(v)
    }
    fn serialize_i128(self, v: i128) -> Result<S::Ok, S::Error> {
        self.findings.wide.set(true);
        self.inner.serialize_i128(v)
    }
    fn serialize_u8(self, v: u8) -> Result<S::Ok, S::Error> {
        self.inner.serialize_u8(v)
    }
    fn serialize_u16(self, v: u16) -> Result<S::Ok, S::Error> {
        self.inner.serialize_u16(v)
    }
    fn serialize_u32(self, v: u32) -> Result<S::Ok, S::Error> {
        self.inner.serialize_u32(v)
    }
    fn serialize_u64(self, v: u64) -> Result<S::Ok, S::Error> {
        self.inner.serialize_u64(v)
    }
    fn serialize_u128(self, v: u128) -> Result<S::Ok, S::Error> {
        self.findings.wide.set(true);
        self.inner.serialize_u128(v)
    }
    fn serialize_f32(self, v: f32) -> Result<S::Ok, S::Error> {
        self.inner.serialize_f32(v)
    }
    fn serialize_f64(self, v: f64) -> Result<S::Ok, S::Error> {
        self.inner.serialize_f64(v)
    }
    fn serialize_char(self, v: char) -> Result<S::Ok, S::Error> {
        self.inner.serialize_char(v)
    }
    fn serialize_str(self, v: &str) -> Result<S::Ok, S::Error> {
        self.inner.serialize_str(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<S::Ok, S::Error> {
        self.inner.serialize_bytes(v)
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
        let depth = self.enter(1)?;
        let findings = self.findings;
        Ok(compound(self.inner.serialize_seq(len)?, findings, depth))
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        let depth = self.enter(1)?;
        let findings = self.findings;
        Ok(compound(self.inner.serialize_tuple(len)?, findings, depth))
    }
    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        let depth = self.enter(1)?;
        let findings = self.findings;
        Ok(compound(
            self.inner.serialize_tuple_struct(name, len)?,
            findings,
            depth,
        ))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        let depth = self.enter(2)?;
        let findings = self.findings;
        let inner = self
            .inner
            .serialize_tuple_variant(name, index, variant, len)?;
        Ok(compound(inner, findings, depth))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        let depth = self.enter(1)?;
        let findings = self.findings;
        Ok(compound(self.inner.serialize_map(len)?, findings, depth))
    }
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        let depth = self.enter(1)?;
        let findings = self.findings;
        Ok(compound(
            self.inner.serialize_struct(name, len)?,
            findings,
            depth,
        ))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        let depth = self.enter(2)?;
        let findings = self.findings;
        let inner = self
            .inner
            .serialize_struct_variant(name, index, variant, len)?;
        Ok(compound(inner, findings, depth))
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

impl<C: ser::SerializeSeq> ser::SerializeSeq for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.inner
            .serialize_element(&checked(value, self.findings, self.depth))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: ser::SerializeTuple> ser::SerializeTuple for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.inner
            .serialize_element(&checked(value, self.findings, self.depth))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: ser::SerializeTupleStruct> ser::SerializeTupleStruct for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.inner
            .serialize_field(&checked(value, self.findings, self.depth))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: ser::SerializeTupleVariant> ser::SerializeTupleVariant for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.inner
            .serialize_field(&checked(value, self.findings, self.depth))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
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

impl<C: ser::SerializeStruct> ser::SerializeStruct for Compound<'_, C> {
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

impl<C: ser::SerializeStructVariant> ser::SerializeStructVariant for Compound<'_, C> {
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
