//! Percentiles of sorted durations.

use std::time::Duration;

/// The nearest-rank `p` quantile (`0.0 < p <= 1.0`) of `sorted`, ascending:
/// the smallest value that at least a share `p` of the values are no
/// greater than; zero for no values.
pub(super) fn nearest_rank(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // ceil(p · n), from 1; computed in integers for p in hundredths so that
    // 0.95 · 20 is 19, not 19.000000000000004 rounded up to 20.
    let hundredths = (p * 100.0).round() as usize;
    let rank = (hundredths * sorted.len()).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::nearest_rank;

    #[test]
    fn nearest_rank_picks_the_value_at_or_above_the_share() {
        let ms: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        assert_eq!(nearest_rank(&ms, 0.50), Duration::from_millis(10));
        assert_eq!(nearest_rank(&ms, 0.95), Duration::from_millis(19));
        assert_eq!(nearest_rank(&ms, 0.99), Duration::from_millis(20));
        assert_eq!(nearest_rank(&ms[..1], 0.50), Duration::from_millis(1));
        assert_eq!(nearest_rank(&[], 0.50), Duration::ZERO);
    }
}
