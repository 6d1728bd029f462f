//! CBOR shown readably (diagnostic notation, JSON for tools), and the few
//! bytes of CBOR framing the journal writes itself.

use std::fmt::{self, Write as _};

use ciborium::Value as Item;

/// CBOR's `null`.
pub(super) const NULL: u8 = 0xf6;

/// Byte strings longer than this are cut short by `Display` (not by `{:#}`).
const SHOWN_BYTES: usize = 32;

/// CBOR's tags for integers beyond 64 bits (RFC 8949 §3.4.3).
const BIGNUM: u64 = 2;
const NEGATIVE_BIGNUM: u64 = 3;

/// Appends the header of a text string of `len` bytes.
pub(super) fn push_text_header(bytes: &mut Vec<u8>, len: usize) {
    const TEXT: u8 = 0x60;
    match len {
        0..=23 => bytes.push(TEXT | len as u8),
        24..=0xff => bytes.extend_from_slice(&[TEXT | 24, len as u8]),
        0x100..=0xffff => {
            bytes.push(TEXT | 25);
            bytes.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            bytes.push(TEXT | 27);
            bytes.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
}

/// The key and the encoded value of a one-entry map with a text key, as
/// [`push_text_header`] and a map header write it; `None` for anything else.
pub(super) fn split_cbor_entry(bytes: &[u8]) -> Option<(&str, &[u8])> {
    let (&map, rest) = bytes.split_first()?;
    if map != 0xa1 {
        return None;
    }
    let (&header, rest) = rest.split_first()?;
    if header >> 5 != 3 {
        return None;
    }
    let (len, rest) = match header & 0x1f {
        len @ 0..=23 => (usize::from(len), rest),
        24 => (usize::from(*rest.first()?), rest.get(1..)?),
        25 => (
            usize::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?)),
            rest.get(2..)?,
        ),
        27 => (
            usize::try_from(u64::from_be_bytes(rest.get(..8)?.try_into().ok()?)).ok()?,
            rest.get(8..)?,
        ),
        _ => return None,
    };
    let key = std::str::from_utf8(rest.get(..len)?).ok()?;
    let value = rest.get(len..)?;
    if value.is_empty() {
        return None;
    }
    Some((key, value))
}

/// Lower-case hex.
pub(super) fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// The bytes of a hex string.
pub(super) fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

fn parse(bytes: &[u8]) -> Result<Item, String> {
    ciborium::from_reader(bytes).map_err(super::read_error)
}

/// Writes CBOR `bytes` in diagnostic notation (RFC 8949 §8): JSON-like, with
/// `NaN`, `Infinity`, `h'…'` byte strings, any key type and big integers.
pub(super) fn write_cbor(bytes: &[u8], all_bytes: bool, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match parse(bytes) {
        Ok(item) => write_item(&item, all_bytes, f),
        Err(error) => write!(
            f,
            "<malformed CBOR ({error}): {}>",
            Shortened(bytes, all_bytes)
        ),
    }
}

/// A byte string in diagnostic notation, cut short unless all are asked for.
struct Shortened<'a>(&'a [u8], bool);

impl fmt::Display for Shortened<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self(bytes, all) = *self;
        if all || bytes.len() <= SHOWN_BYTES {
            write!(f, "h'{}'", hex(bytes))
        } else {
            write!(
                f,
                "h'{}…' /{} bytes/",
                hex(&bytes[..SHOWN_BYTES]),
                bytes.len()
            )
        }
    }
}

fn write_item(item: &Item, all_bytes: bool, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match item {
        Item::Integer(integer) => write!(f, "{}", i128::from(*integer)),
        Item::Float(float) => f.write_str(&float_text(*float)),
        Item::Bytes(bytes) => write!(f, "{}", Shortened(bytes, all_bytes)),
        Item::Text(text) => f.write_str(&quoted(text)),
        Item::Bool(value) => write!(f, "{value}"),
        Item::Null => f.write_str("null"),
        Item::Tag(tag, content) => match big_integer(*tag, content) {
            Some(digits) => f.write_str(&digits),
            None => {
                write!(f, "{tag}(")?;
                write_item(content, all_bytes, f)?;
                f.write_str(")")
            }
        },
        Item::Array(items) => {
            f.write_str("[")?;
            for (at, item) in items.iter().enumerate() {
                if at > 0 {
                    f.write_str(", ")?;
                }
                write_item(item, all_bytes, f)?;
            }
            f.write_str("]")
        }
        Item::Map(entries) => {
            f.write_str("{")?;
            for (at, (key, value)) in entries.iter().enumerate() {
                if at > 0 {
                    f.write_str(", ")?;
                }
                write_item(key, all_bytes, f)?;
                f.write_str(": ")?;
                write_item(value, all_bytes, f)?;
            }
            f.write_str("}")
        }
        // ciborium's `Value` is non-exhaustive.
        _ => f.write_str("<unknown CBOR item>"),
    }
}

/// A float as diagnostic notation writes it: always with a point or an
/// exponent, so it does not read as an integer.
fn float_text(float: f64) -> String {
    if float.is_nan() {
        "NaN".to_owned()
    } else if float.is_infinite() {
        if float > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        format!("{float:?}")
    }
}

/// A string as JSON quotes it.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// The digits of a bignum (tag 2 or 3 on a byte string of at most 16 bytes).
fn big_integer(tag: u64, content: &Item) -> Option<String> {
    let Item::Bytes(bytes) = content else {
        return None;
    };
    if bytes.len() > 16 || !matches!(tag, BIGNUM | NEGATIVE_BIGNUM) {
        return None;
    }
    let mut be = [0_u8; 16];
    be[16 - bytes.len()..].copy_from_slice(bytes);
    let magnitude = u128::from_be_bytes(be);
    Some(if tag == BIGNUM {
        magnitude.to_string()
    } else {
        // -1 - magnitude
        match magnitude.checked_add(1) {
            Some(n) => format!("-{n}"),
            None => format!("-{magnitude}-1"),
        }
    })
}

/// CBOR `bytes` as JSON, for tools: see [`Value::to_json`](super::Value::to_json).
pub(super) fn cbor_to_json(bytes: &[u8]) -> serde_json::Value {
    match parse(bytes) {
        Ok(item) => item_to_json(&item),
        Err(error) => serde_json::Value::String(format!("<malformed CBOR: {error}>")),
    }
}

fn item_to_json(item: &Item) -> serde_json::Value {
    use serde_json::Value as Json;
    match item {
        Item::Integer(integer) => {
            let integer = i128::from(*integer);
            if let Ok(n) = i64::try_from(integer) {
                Json::from(n)
            } else if let Ok(n) = u64::try_from(integer) {
                Json::from(n)
            } else {
                Json::String(integer.to_string())
            }
        }
        Item::Float(float) => serde_json::Number::from_f64(*float)
            .map_or_else(|| Json::String(float_text(*float)), Json::Number),
        Item::Bytes(bytes) => Json::String(format!("h'{}'", hex(bytes))),
        Item::Text(text) => Json::String(text.clone()),
        Item::Bool(value) => Json::Bool(*value),
        Item::Null => Json::Null,
        Item::Tag(tag, content) => match big_integer(*tag, content) {
            Some(digits) => Json::String(digits),
            None => serde_json::json!({ "tag": tag, "value": item_to_json(content) }),
        },
        Item::Array(items) => Json::Array(items.iter().map(item_to_json).collect()),
        Item::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(key, value)| {
                    let key = match key {
                        Item::Text(text) => text.clone(),
                        other => Diagnostic(other).to_string(),
                    };
                    (key, item_to_json(value))
                })
                .collect(),
        ),
        _ => Json::String("<unknown CBOR item>".to_owned()),
    }
}

/// An item in diagnostic notation, all bytes shown (a map key for JSON).
struct Diagnostic<'a>(&'a Item);

impl fmt::Display for Diagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_item(self.0, true, f)
    }
}
