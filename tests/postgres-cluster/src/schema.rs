//! Schema names no two tests share.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// PostgreSQL's longest identifier, in bytes (`NAMEDATALEN - 1`).
const MAX_IDENTIFIER: usize = 63;

/// A fresh schema name starting with `prefix`: `<prefix>_<pid>_<n>_<random>`,
/// where `n` counts the calls of this process. The process id and counter
/// keep the threads and binaries running now apart; the random part keeps
/// apart a process and an earlier one that had the same id on a server that
/// outlived it (`DATABASE_URL`).
///
/// The name is a valid unquoted identifier (lowercase letters, digits and
/// `_`), so it needs no quoting in SQL.
///
/// # Panics
///
/// If `prefix` is empty, longer than 32 bytes, or not a lowercase identifier
/// (`[a-z_][a-z0-9_]*`): a mistake in the test that calls it.
///
/// # Examples
///
/// ```
/// let a = trailhead_test_postgres::unique_schema("leases");
/// let b = trailhead_test_postgres::unique_schema("leases");
/// assert_ne!(a, b);
/// assert!(a.starts_with("leases_") && a.len() <= 63);
/// ```
pub fn unique_schema(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let valid = prefix.len() <= 32
        && prefix
            .chars()
            .next()
            .is_some_and(|first| first.is_ascii_lowercase() || first == '_')
        && prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    assert!(
        valid,
        "schema prefix {prefix:?} must be 1 to 32 of [a-z0-9_], not starting with a digit"
    );
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!(
        "{prefix}_{}_{n}_{:06x}",
        std::process::id(),
        random() & 0xff_ffff
    );
    debug_assert!(name.len() <= MAX_IDENTIFIER, "{name}");
    name
}

/// A random number from std alone: each `RandomState` is seeded afresh from
/// the operating system's randomness (per thread, then stepped).
pub(crate) fn random() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos()),
    );
    hasher.finish()
}
