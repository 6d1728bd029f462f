//! The code's order against the recorded definition's: no step reached
//! before one the recorded graph has it coming after.
//!
//! The journal's times cannot say which steps waited for which (steps that
//! finish at once run one after the other in a single poll, dependent or
//! not); the recorded flowchart can: its arrows are the data flow.

use std::collections::{HashMap, HashSet};

use super::Divergence;
use crate::picture::{Graph, arrows};
use crate::{RunId, StepKey};

/// For each step site of the recorded graph, the sites it came after.
fn ancestry(graph: &Graph, mermaid: &str) -> HashMap<String, HashSet<String>> {
    // Solid arrows are the data flow (dotted ones go to a compensation or a
    // fallback, or back to a loop's head); a node inside a loop or fan-out
    // also comes after what its loop comes after.
    let mut parents: HashMap<String, Vec<String>> = HashMap::new();
    for edge in arrows(mermaid).filter(|edge| !edge.dotted) {
        parents.entry(edge.to).or_default().push(edge.from);
    }
    for node in graph.nodes() {
        if let Some(scope) = &node.scope {
            parents
                .entry(node.id.clone())
                .or_default()
                .push(scope.clone());
        }
    }
    let site_of: HashMap<&str, &str> = graph
        .nodes()
        .iter()
        .filter_map(|node| Some((node.id.as_str(), node.site.as_deref()?)))
        .collect();
    let mut ancestry = HashMap::new();
    for node in graph.nodes() {
        let Some(site) = node.site.as_deref() else {
            continue;
        };
        let mut seen: HashSet<&str> = HashSet::new();
        let mut todo = vec![node.id.as_str()];
        while let Some(id) = todo.pop() {
            for parent in parents.get(id).into_iter().flatten() {
                if seen.insert(parent) {
                    todo.push(parent);
                }
            }
        }
        let before: HashSet<String> = seen
            .into_iter()
            .filter_map(|id| site_of.get(id))
            .filter(|&&earlier| earlier != site)
            .map(|&earlier| earlier.to_owned())
            .collect();
        ancestry
            .entry(site.to_owned())
            .or_insert_with(HashSet::new)
            .extend(before);
    }
    ancestry
}

/// Where one site's keys were reached: each key (and its wave) by its
/// path, and the key reached latest under each path prefix.
#[derive(Default)]
struct Waves<'k> {
    at: HashMap<&'k [u32], (u64, &'k StepKey)>,
    under: HashMap<&'k [u32], (u64, &'k StepKey)>,
}

/// No key reached in an earlier wave than a key of a site the recorded
/// graph has before it, in the same loop iteration (or outside the loop).
pub(super) fn check(
    run: &RunId,
    graph: &Graph,
    mermaid: &str,
    replayed: &[(StepKey, u64)],
) -> Result<(), Divergence> {
    let ancestry = ancestry(graph, mermaid);
    let mut waves: HashMap<&str, Waves<'_>> = HashMap::new();
    for (key, wave) in replayed {
        let site = waves.entry(key.name()).or_default();
        let path = key.path();
        site.at.insert(path, (*wave, key));
        for len in 0..=path.len() {
            let latest = site.under.entry(&path[..len]).or_insert((*wave, key));
            if *wave > latest.0 {
                *latest = (*wave, key);
            }
        }
    }
    for (key, wave) in replayed {
        let path = key.path();
        for earlier in ancestry.get(key.name()).into_iter().flatten() {
            let Some(site) = waves.get(earlier.as_str()) else {
                continue;
            };
            // Its keys at this key's iteration or around it, and inside it.
            let around = (0..=path.len()).filter_map(|len| site.at.get(&path[..len]));
            let latest = around.chain(site.under.get(path)).max_by_key(|(at, _)| *at);
            if let Some(&(latest, before)) = latest
                && latest > *wave
            {
                return Err(Divergence::Reordered {
                    run: run.clone(),
                    key: key.clone(),
                    before: before.clone(),
                });
            }
        }
    }
    Ok(())
}
