//! A value's codec and bytes: small ones in place, the rest on the heap.
//!
//! Most step outputs encode in a few bytes (a number, a flag, an id): kept in
//! the value itself, they cost no allocation on the step path (as a
//! `serde_json::Value::Number` did not), and the value is no bigger than the
//! `Vec` and codec it would hold otherwise. Larger ones are a `Vec` that the
//! encoder writes straight into and the store keeps.

use std::hash::{Hash, Hasher};

use super::Codec;

/// Bytes kept in place, at most: what fits beside the codec and the length
/// in the room a `Vec` and a codec take.
const INLINE: usize = 29;

#[derive(Clone, Debug)]
pub(super) enum Encoded {
    Inline {
        codec: Codec,
        len: u8,
        bytes: [u8; INLINE],
    },
    Heap {
        codec: Codec,
        bytes: Vec<u8>,
    },
}

impl Encoded {
    /// No bytes yet.
    #[inline]
    pub(super) const fn new(codec: Codec) -> Self {
        Self::Inline {
            codec,
            len: 0,
            bytes: [0; INLINE],
        }
    }

    /// A copy of `slice`, in place if it fits.
    pub(super) fn copy_of(codec: Codec, slice: &[u8]) -> Self {
        let mut encoded = Self::new(codec);
        encoded.extend(slice);
        encoded
    }

    #[inline]
    pub(super) fn codec(&self) -> Codec {
        match self {
            Self::Inline { codec, .. } | Self::Heap { codec, .. } => *codec,
        }
    }

    #[inline]
    pub(super) fn as_slice(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes, .. } => &bytes[..usize::from(*len)],
            Self::Heap { bytes, .. } => bytes,
        }
    }

    pub(super) fn into_vec(self) -> Vec<u8> {
        match self {
            Self::Inline { .. } => self.as_slice().to_vec(),
            Self::Heap { bytes, .. } => bytes,
        }
    }

    #[inline]
    fn extend(&mut self, more: &[u8]) {
        match self {
            Self::Inline { codec, len, bytes } => {
                let have = usize::from(*len);
                let total = have + more.len();
                if total <= INLINE {
                    bytes[have..total].copy_from_slice(more);
                    *len = total as u8; // at most INLINE
                } else {
                    *self = Self::spill(*codec, &bytes[..have], more);
                }
            }
            Self::Heap { bytes, .. } => bytes.extend_from_slice(more),
        }
    }
}

impl Encoded {
    /// What no longer fits in place, moved to the heap.
    #[cold]
    fn spill(codec: Codec, have: &[u8], more: &[u8]) -> Self {
        let mut bytes = Vec::with_capacity((have.len() + more.len()).max(2 * INLINE));
        bytes.extend_from_slice(have);
        bytes.extend_from_slice(more);
        Self::Heap { codec, bytes }
    }
}

/// The encoder's output.
impl std::io::Write for Encoded {
    #[inline]
    fn write(&mut self, more: &[u8]) -> std::io::Result<usize> {
        self.extend(more);
        Ok(more.len())
    }

    #[inline]
    fn write_all(&mut self, more: &[u8]) -> std::io::Result<()> {
        self.extend(more);
        Ok(())
    }

    #[inline]
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// Equal bytes are equal wherever they are kept.
impl PartialEq for Encoded {
    fn eq(&self, other: &Self) -> bool {
        self.codec() == other.codec() && self.as_slice() == other.as_slice()
    }
}

impl Eq for Encoded {}

impl Hash for Encoded {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.codec().hash(state);
        self.as_slice().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn small_values_stay_in_place_and_larger_ones_move_to_the_heap() {
        let mut encoded = Encoded::new(Codec::Cbor);
        encoded.write_all(&[1; INLINE - 1]).unwrap();
        encoded.write_all(&[2]).unwrap();
        assert!(matches!(encoded, Encoded::Inline { len, .. } if usize::from(len) == INLINE));
        encoded.write_all(&[3]).unwrap();
        assert!(matches!(encoded, Encoded::Heap { .. }));
        let mut expected = vec![1; INLINE - 1];
        expected.extend([2, 3]);
        assert_eq!(encoded.as_slice(), expected);
        assert_eq!(encoded.codec(), Codec::Cbor);
        assert_eq!(encoded.clone().into_vec(), expected);
        let heap = Encoded::Heap {
            codec: Codec::Cbor,
            bytes: vec![7],
        };
        assert_eq!(heap, Encoded::copy_of(Codec::Cbor, &[7]), "wherever kept");
        assert_ne!(heap, Encoded::copy_of(Codec::Json, &[7]));
        // No bigger than the `Vec` and codec it saves allocating for.
        assert_eq!(size_of::<Encoded>(), size_of::<(Vec<u8>, Codec)>());
    }
}
