//! Tracks for slices that may run at once: on one track, no two slices
//! overlap (trace viewers nest slices of one track by time, so an overlap
//! would draw one step inside another).

/// For slices `[start, end)` given as `spans`, the track of each (from 0):
/// the lowest track whose last slice ended by the slice's start, so that as
/// few tracks are used as ran at once. A slice of no length holds its track
/// for one unit.
pub(super) fn assign(spans: &[(u64, u64)]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..spans.len()).collect();
    order.sort_by_key(|&i| (spans[i].0, spans[i].1, i));
    let mut ends: Vec<u64> = Vec::new();
    let mut tracks = vec![0; spans.len()];
    for i in order {
        let (start, end) = spans[i];
        let track = match ends.iter().position(|&last| last <= start) {
            Some(track) => track,
            None => {
                ends.push(0);
                ends.len() - 1
            }
        };
        // An instant (a step that took under a microsecond) still holds its
        // place: a viewer would draw a slice starting at the same time on its
        // track as its parent.
        ends[track] = end.max(start + 1);
        tracks[i] = u32::try_from(track).unwrap_or(u32::MAX);
    }
    tracks
}

#[cfg(test)]
mod tests {
    use super::assign;

    #[test]
    fn slices_at_once_get_tracks_of_their_own_and_later_ones_reuse_them() {
        // a and b overlap; c starts as a ends; d overlaps c and b.
        let spans = [(0, 10), (5, 20), (10, 15), (12, 30)];
        assert_eq!(assign(&spans), [0, 1, 0, 2]);
    }

    #[test]
    fn slices_of_no_length_at_the_same_time_get_tracks_of_their_own() {
        let spans = [(5, 5), (5, 9), (5, 5), (9, 9)];
        assert_eq!(assign(&spans), [0, 2, 1, 0]);
    }

    #[test]
    fn no_two_slices_of_a_track_overlap() {
        let spans: Vec<(u64, u64)> = (0..50).map(|i| (i * 7 % 23, i * 7 % 23 + i % 5)).collect();
        let tracks = assign(&spans);
        for (i, a) in spans.iter().enumerate() {
            for (j, b) in spans.iter().enumerate().skip(i + 1) {
                if tracks[i] == tracks[j] {
                    assert!(a.1 <= b.0 || b.1 <= a.0, "{a:?} and {b:?} share a track");
                }
            }
        }
    }
}
