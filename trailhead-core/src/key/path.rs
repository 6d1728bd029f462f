//! A step key's loop indices: a few in place, more on the heap.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Indices kept in place, at most: steps sit in few nested loops.
const INLINE: usize = 4;

/// The loop indices of a [`StepKey`](super::StepKey), outermost first.
///
/// Every step of a loop builds its key (for its journal entry, its events
/// and what [`current_step`](crate::current_step) gives), so a key with up
/// to four indices holds them in place and costs no allocation. It compares,
/// orders, hashes, shows and serializes as the slice of its indices, as the
/// `Vec<u32>` it replaces did.
#[derive(Clone)]
pub(crate) enum KeyPath {
    Inline { len: u8, indices: [u32; INLINE] },
    Heap(Box<[u32]>),
}

impl KeyPath {
    /// The path `indices`.
    #[inline]
    pub(crate) fn new(indices: &[u32]) -> Self {
        if indices.len() <= INLINE {
            let mut inline = [0; INLINE];
            inline[..indices.len()].copy_from_slice(indices);
            Self::Inline {
                // At most `INLINE`.
                len: indices.len() as u8,
                indices: inline,
            }
        } else {
            Self::Heap(indices.into())
        }
    }

    /// The indices.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u32] {
        match self {
            Self::Inline { len, indices } => &indices[..usize::from(*len)],
            Self::Heap(indices) => indices,
        }
    }
}

impl Deref for KeyPath {
    type Target = [u32];

    #[inline]
    fn deref(&self) -> &[u32] {
        self.as_slice()
    }
}

impl PartialEq for KeyPath {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for KeyPath {}

impl PartialOrd for KeyPath {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for KeyPath {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl Hash for KeyPath {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl fmt::Debug for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_slice().fmt(f)
    }
}

impl From<Vec<u32>> for KeyPath {
    fn from(indices: Vec<u32>) -> Self {
        if indices.len() <= INLINE {
            Self::new(&indices)
        } else {
            Self::Heap(indices.into_boxed_slice())
        }
    }
}

impl Serialize for KeyPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for KeyPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<u32>::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn a_path_is_its_slice_in_place_or_not() {
        for indices in [&[][..], &[7], &[1, 2, 3, 4], &[1, 2, 3, 4, 5, 6]] {
            let path = KeyPath::new(indices);
            assert_eq!(&*path, indices);
            assert_eq!(KeyPath::from(indices.to_vec()), path);
            assert_eq!(format!("{path:?}"), format!("{:?}", indices.to_vec()));
            let hasher = std::collections::hash_map::RandomState::new();
            assert_eq!(hasher.hash_one(&path), hasher.hash_one(indices.to_vec()));
            let json = serde_json::to_string(&path).unwrap();
            assert_eq!(json, serde_json::to_string(&indices.to_vec()).unwrap());
            assert_eq!(serde_json::from_str::<KeyPath>(&json).unwrap(), path);
        }
        assert!(KeyPath::new(&[1, 2]) < KeyPath::new(&[1, 2, 3, 4, 5]));
        assert!(matches!(
            KeyPath::new(&[1, 2, 3, 4]),
            KeyPath::Inline { .. }
        ));
    }
}
