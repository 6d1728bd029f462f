//! The dependency graph of a block's statements.
//!
//! Statements are nodes. A statement depends on the statement that made each
//! binding it reads (read after write). A `mut` binding may be written by any
//! statement that mentions it, so all the statements that mention one run in
//! order, as one *group* (write after read, write after write). Everything else
//! is free to run at the same time: each group starts a statement as soon as
//! the statements it depends on are done.
//!
//! A block runs as a graph only when that can help and is safe: at least two
//! groups hold steps or calls, no statement can leave the block early
//! (`return`, or `break`/`continue` to a loop outside it), every `let` has a
//! value, no statement is a `sleep` (which means "wait, then go on"), and the
//! block is not marked `sequential`. Otherwise it runs in order, as written.

use std::collections::{BTreeMap, BTreeSet};

mod scan;

use scan::Scan;

use super::exits::stmt_exits;
use super::scope::Binding;
use super::{Block, Node, Site, Stmt};

/// How a block's statements run together.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Per statement (tail and items excluded): its group and what it waits for.
    pub(crate) stmts: BTreeMap<usize, StmtPlan>,
    /// Statements per group, in source order.
    pub(crate) groups: Vec<Vec<usize>>,
    /// The block's tail (value), if any: runs after every group is done.
    pub(crate) tail: Option<usize>,
    /// Bindings handed from the statement that makes them to other statements
    /// or to the tail.
    pub(crate) slots: Vec<SlotPlan>,
}

#[derive(Debug, Default)]
pub(crate) struct StmtPlan {
    pub(crate) group: usize,
    /// Statements of other groups this one waits for, with the bindings it
    /// reads from each (empty for a pure ordering edge).
    pub(crate) waits: BTreeMap<usize, BTreeSet<String>>,
    /// Whether a statement of another group waits for this one.
    pub(crate) awaited: bool,
}

#[derive(Debug)]
pub(crate) struct SlotPlan {
    pub(crate) binding: Binding,
    /// The statement whose `let` makes the binding.
    pub(crate) producer: usize,
    /// The statements other than the producer that read it.
    pub(crate) readers: Vec<usize>,
    /// Whether the tail reads it.
    pub(crate) tail: bool,
    /// A `mut` binding the tail reads: handed over when its group is done
    /// rather than after the producer.
    pub(crate) at_group_end: bool,
}

impl SlotPlan {
    /// One reader and no tail: the reader takes the value itself.
    pub(crate) fn handed_over(&self) -> bool {
        self.readers.len() == 1 && !self.tail
    }
}

/// The plan for `block`, or `None` when it runs in order. `outer_mut` are the
/// `mut` bindings visible from outside the block. The phases: which statements
/// may run as a graph at all ([`eligible`]), what each reads and makes
/// ([`Scan`]), which must run in order as one group ([`grouping`]), and what
/// each waits for ([`waits`]).
pub(crate) fn plan(
    block: &Block<'_>,
    outer_mut: &BTreeSet<String>,
    sequential: bool,
    sites: &[Site],
) -> Option<Plan> {
    if sequential {
        return None;
    }
    let Eligible { statements, tail } = eligible(block)?;
    let mut scan = Scan::new(block.stmts.len(), outer_mut, tail);
    for &i in statements.iter().chain(tail.iter()) {
        scan.stmt(block, i, sites);
    }
    let groups = grouping(&statements, &mut scan.group_of);
    let with_sites = groups
        .iter()
        .filter(|group| group.iter().any(|&i| stmt_has_sites(&block.stmts[i])))
        .count();
    if with_sites < 2 {
        return None;
    }
    let mut stmts = waits(&groups, &scan, tail);
    if is_chain(
        &statements,
        &stmts,
        &scan.reads,
        &scan.after,
        &groups,
        block,
    ) {
        return None;
    }
    let groups = emission_order(groups, &stmts)?;
    for (g, group) in groups.iter().enumerate() {
        for &i in group {
            stmts.get_mut(&i).expect("planned").group = g;
        }
    }
    Some(Plan {
        stmts,
        groups,
        tail,
        slots: scan.slots.into_values().collect(),
    })
}

/// The statements a graph would run (tail and items excluded) and the tail.
struct Eligible {
    statements: Vec<usize>,
    tail: Option<usize>,
}

/// Phase 1: whether the block may run as a graph at all: it has statements,
/// every `let` has a value, no statement is a `sleep` (which means "wait, then
/// go on": it orders the whole block) and none can leave the block early.
fn eligible(block: &Block<'_>) -> Option<Eligible> {
    let last = block.stmts.len().checked_sub(1)?;
    let tail = match &block.stmts[last] {
        Stmt::Expr { semi: false, .. } => Some(last),
        _ => None,
    };
    let statements: Vec<usize> = (0..block.stmts.len())
        .filter(|&i| Some(i) != tail && !matches!(block.stmts[i], Stmt::Item(_)))
        .collect();
    let ordered = block.stmts.iter().any(|stmt| {
        matches!(
            stmt,
            Stmt::Let { init: None, .. }
                | Stmt::Expr {
                    node: Node::Sleep(_),
                    ..
                }
        )
    });
    if ordered {
        return None;
    }
    let mut leaves = false;
    for &i in &statements {
        stmt_exits(&block.stmts[i], false, &mut |_, _| leaves = true);
    }
    (!leaves).then_some(Eligible { statements, tail })
}

/// Phase 3: the groups, in order of their first statement; statements in
/// source order.
fn grouping(statements: &[usize], group_of: &mut [usize]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_index: BTreeMap<usize, usize> = BTreeMap::new();
    for &i in statements {
        let root = find(group_of, i);
        let index = *group_index.entry(root).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[index].push(i);
    }
    groups
}

/// Phase 4: per statement, its group and the statements of other groups it
/// waits for, for an `.after(..)` or for the bindings it reads.
fn waits(groups: &[Vec<usize>], scan: &Scan, tail: Option<usize>) -> BTreeMap<usize, StmtPlan> {
    let mut stmts: BTreeMap<usize, StmtPlan> = BTreeMap::new();
    for (g, group) in groups.iter().enumerate() {
        for &i in group {
            stmts.entry(i).or_default().group = g;
        }
    }
    fn wait(
        stmts: &mut BTreeMap<usize, StmtPlan>,
        reader: usize,
        producer: usize,
        names: BTreeSet<String>,
    ) {
        if stmts[&producer].group != stmts[&reader].group {
            let waits = &mut stmts.get_mut(&reader).expect("planned").waits;
            waits.insert(producer, names);
            stmts.get_mut(&producer).expect("planned").awaited = true;
        }
    }
    for (&i, targets) in &scan.after {
        if Some(i) == tail {
            continue;
        }
        for &j in targets {
            wait(&mut stmts, i, j, BTreeSet::new());
        }
    }
    for (&reader, producers) in &scan.reads {
        for (&producer, names) in producers {
            wait(&mut stmts, reader, producer, names.clone());
        }
    }
    stmts
}

/// Whether the statements holding steps can only run one after another anyway
/// (each depends, directly or not, on the one before): then running them as a
/// graph would only cost memory and time, so the block runs in order.
fn is_chain(
    statements: &[usize],
    stmts: &BTreeMap<usize, StmtPlan>,
    reads: &BTreeMap<usize, BTreeMap<usize, BTreeSet<String>>>,
    after: &BTreeMap<usize, BTreeSet<usize>>,
    groups: &[Vec<usize>],
    block: &Block<'_>,
) -> bool {
    // Everything each statement depends on, transitively (statements are in
    // source order and depend only on earlier ones).
    let mut needs: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for &i in statements {
        let mut direct: BTreeSet<usize> = reads
            .get(&i)
            .map(|r| r.keys().copied().collect())
            .unwrap_or_default();
        direct.extend(after.get(&i).into_iter().flatten().copied());
        let group = &groups[stmts[&i].group];
        if let Some(position) = group.iter().position(|&k| k == i)
            && position > 0
        {
            direct.insert(group[position - 1]);
        }
        let mut all = direct.clone();
        for j in direct {
            all.extend(needs.get(&j).into_iter().flatten().copied());
        }
        needs.insert(i, all);
    }
    let with_sites: Vec<usize> = statements
        .iter()
        .copied()
        .filter(|&i| stmt_has_sites(&block.stmts[i]))
        .collect();
    with_sites
        .windows(2)
        .all(|pair| needs[&pair[1]].contains(&pair[0]))
}

/// The groups ordered so that a group comes after every group it waits for
/// (the compiler infers a binding's type from its producer, which must come
/// first); `None` when groups wait for each other both ways, which `mut`
/// bindings shared across interleaved statements can cause: such a block runs
/// in order.
fn emission_order(
    groups: Vec<Vec<usize>>,
    stmts: &BTreeMap<usize, StmtPlan>,
) -> Option<Vec<Vec<usize>>> {
    let count = groups.len();
    let mut after: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); count];
    for (g, group) in groups.iter().enumerate() {
        for i in group {
            for producer in stmts[i].waits.keys() {
                after[g].insert(stmts[producer].group);
            }
        }
    }
    let mut placed = vec![false; count];
    let mut order = Vec::with_capacity(count);
    while order.len() < count {
        let next = (0..count).find(|&g| !placed[g] && after[g].iter().all(|&d| placed[d]))?;
        placed[next] = true;
        order.push(next);
    }
    let mut groups: Vec<Option<Vec<usize>>> = groups.into_iter().map(Some).collect();
    Some(
        order
            .into_iter()
            .map(|g| groups[g].take().expect("placed once"))
            .collect(),
    )
}

fn stmt_has_sites(stmt: &Stmt<'_>) -> bool {
    match stmt {
        Stmt::Let {
            init: Some(node), ..
        }
        | Stmt::Expr { node, .. } => Node::has_sites(node),
        Stmt::Let { init: None, .. } | Stmt::Item(_) => false,
    }
}

fn find(parent: &mut [usize], i: usize) -> usize {
    let mut root = i;
    while parent[root] != root {
        root = parent[root];
    }
    parent[i] = root;
    root
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (a, b) = (find(parent, a), find(parent, b));
    if a != b {
        parent[a.max(b)] = a.min(b);
    }
}

#[cfg(test)]
mod tests;
