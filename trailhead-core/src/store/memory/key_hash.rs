//! A fast hasher for step keys.

use std::hash::{BuildHasherDefault, Hasher};

/// Hashes a run's step keys with [`KeyHasher`].
pub(super) type BuildKeyHasher = BuildHasherDefault<KeyHasher>;

/// The Fx hash (rustc's), for step keys.
///
/// Step keys are names from the workflow definition and loop indices, not
/// attacker-chosen strings, so the journal's hot path can skip SipHash's
/// flooding resistance.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct KeyHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl KeyHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // hashbrown takes its control byte from the top bits and the bucket
        // from the bottom ones; the multiply mixes best into the top.
        self.hash.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    use super::*;
    use crate::StepKey;

    #[test]
    fn keys_differing_in_name_or_path_hash_differently() {
        let build = BuildKeyHasher::default();
        let mut hashes = HashSet::new();
        for name in ["a", "b", "step_with_a_long_name", "step_with_a_long_namf"] {
            for i in 0..1000 {
                for path in [&[i][..], &[i, 0], &[0, i]] {
                    hashes.insert(build.hash_one(StepKey::new(name, path)));
                }
            }
            hashes.insert(build.hash_one(StepKey::new(name, &[])));
        }
        // [0, 0] is produced twice per name.
        assert_eq!(hashes.len(), 4 * (3 * 1000 - 1 + 1));
    }

    #[test]
    fn the_same_key_hashes_the_same() {
        let build = BuildKeyHasher::default();
        let parsed: StepKey = "s[3][4]".parse().unwrap();
        assert_eq!(
            build.hash_one(&parsed),
            build.hash_one(StepKey::new("s", &[3, 4]))
        );
    }
}
