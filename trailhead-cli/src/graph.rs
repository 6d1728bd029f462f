//! What the CLI reads from a run's recorded Mermaid flowchart until the live
//! picture lands: how many step sites the graph has, and which signals the
//! workflow waits for.
//!
//! The macro declares each site (step, sleep, signal, call) as a node with
//! an id `s<number>`, one per line: `s0["price"]`, `s3[/"signal approval"\]`.

/// The number of sites (steps, sleeps, signals, calls) in `mermaid`.
pub(crate) fn sites(mermaid: &str) -> usize {
    let mut ids: Vec<&str> = mermaid.lines().filter_map(site_id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}

/// The names of the signals `mermaid` waits for, in the order drawn.
pub(crate) fn signals(mermaid: &str) -> Vec<String> {
    mermaid
        .lines()
        .filter(|line| site_id(line).is_some())
        .filter_map(|line| {
            let (_, label) = line.split_once("[/\"signal ")?;
            let (name, _) = label.split_once('"')?;
            Some(name.to_owned())
        })
        .collect()
}

/// The id of the site node `line` declares, if it declares one.
fn site_id(line: &str) -> Option<&str> {
    let line = line.trim_start();
    let rest = line.strip_prefix('s')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let after = rest.as_bytes().get(digits)?;
    (digits > 0 && b"[(>{".contains(after)).then(|| &line[..=digits])
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHART: &str = "flowchart TD
    start([start])
    s0[\"price\"]
    start --> s0
    s1[/\"signal approval\"\\]
    s0 --> s1
    s2[[\"call ship\"]]
    s1 --> s2
    s3>\"sleep 1s\"]
    s2 --> s3
    f0([\"fallback: 0\"])
    s0 -.->|\"fails\"| f0
    done([end])";

    #[test]
    fn counts_each_declared_site_once() {
        assert_eq!(sites(CHART), 4);
        assert_eq!(sites(""), 0);
    }

    #[test]
    fn finds_the_signals_waited_for() {
        assert_eq!(signals(CHART), vec!["approval".to_owned()]);
    }
}
