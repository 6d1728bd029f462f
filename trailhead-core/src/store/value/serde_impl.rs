//! [`Value`] as a serde value itself (inside a record, an export): its codec
//! and bytes, in hex with the value shown as JSON for human-readable formats.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Codec, Value, render};

/// A [`Value`] inside another serde value: its codec and bytes.
#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    codec: Cow<'a, str>,
    #[serde(borrow, with = "serde_bytes")]
    bytes: Cow<'a, [u8]>,
}

/// A [`Value`] inside another, human-readable serde value: the bytes in hex,
/// and the value shown as JSON for the reader.
#[derive(Serialize, Deserialize)]
struct Shown<'a> {
    codec: Cow<'a, str>,
    hex: Cow<'a, str>,
    #[serde(default, skip_deserializing)]
    shown: Option<serde_json::Value>,
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let codec = Cow::Borrowed(self.codec().name());
        if serializer.is_human_readable() {
            Shown {
                codec,
                hex: Cow::Owned(render::hex(self.bytes())),
                shown: Some(self.to_json()),
            }
            .serialize(serializer)
        } else {
            Wire {
                codec,
                bytes: Cow::Borrowed(self.bytes()),
            }
            .serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let (codec, bytes) = if deserializer.is_human_readable() {
            let shown = Shown::deserialize(deserializer)?;
            let bytes = render::from_hex(&shown.hex)
                .ok_or_else(|| D::Error::custom("`hex` is not a hex string"))?;
            (shown.codec, bytes)
        } else {
            let wire = Wire::deserialize(deserializer)?;
            (wire.codec, wire.bytes.into_owned())
        };
        let codec = Codec::from_name(&codec)
            .ok_or_else(|| D::Error::custom(format!("unknown codec `{codec}`")))?;
        Ok(Self::from_bytes(codec, bytes))
    }
}
