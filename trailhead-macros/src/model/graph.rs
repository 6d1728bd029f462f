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

use super::exits::stmt_exits;
use super::scope::{Binding, pattern_bindings, stmt_used_names};
use super::walk::stmt_sites;
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
/// `mut` bindings visible from outside the block.
pub(crate) fn plan(
    block: &Block<'_>,
    outer_mut: &BTreeSet<String>,
    sequential: bool,
    sites: &[Site],
) -> Option<Plan> {
    if sequential {
        return None;
    }
    let last = block.stmts.len().checked_sub(1)?;
    let tail = match &block.stmts[last] {
        Stmt::Expr { semi: false, .. } => Some(last),
        _ => None,
    };
    let statements: Vec<usize> = (0..block.stmts.len())
        .filter(|&i| Some(i) != tail && !matches!(block.stmts[i], Stmt::Item(_)))
        .collect();
    if block
        .stmts
        .iter()
        .any(|stmt| matches!(stmt, Stmt::Let { init: None, .. }))
    {
        return None;
    }
    // `sleep 5s;` means "wait, then go on": it orders the whole block.
    if block.stmts.iter().any(|stmt| {
        matches!(
            stmt,
            Stmt::Expr {
                node: Node::Sleep(_),
                ..
            }
        )
    }) {
        return None;
    }
    let mut leaves = false;
    for &i in &statements {
        stmt_exits(&block.stmts[i], false, &mut |_, _| leaves = true);
    }
    if leaves {
        return None;
    }

    let used: BTreeMap<usize, BTreeSet<String>> = statements
        .iter()
        .chain(tail.iter())
        .map(|&i| (i, stmt_used_names(&block.stmts[i])))
        .collect();

    // Groups: statements that mention the same `mut` binding, joined.
    let mut group_of: Vec<usize> = (0..block.stmts.len()).collect();
    let mut mutable: BTreeSet<String> = outer_mut.clone();
    let mut last_user: BTreeMap<String, usize> = BTreeMap::new();
    let mut made_by: BTreeMap<String, (usize, Binding)> = BTreeMap::new();
    let mut reads: BTreeMap<usize, BTreeMap<usize, BTreeSet<String>>> = BTreeMap::new();
    let mut slots: BTreeMap<(usize, String), SlotPlan> = BTreeMap::new();
    let mut made_mut: BTreeMap<String, (usize, Binding)> = BTreeMap::new();
    // `.after(x)`: the statement that made binding `x` or holds step `x`.
    let mut site_stmt: BTreeMap<String, usize> = BTreeMap::new();
    let mut after: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for &i in statements.iter().chain(tail.iter()) {
        let mut own_sites = Vec::new();
        stmt_sites(&block.stmts[i], &mut |site, options| {
            own_sites.push(site);
            for name in options.after.iter().flatten() {
                let name = name.to_string();
                let target = made_by
                    .get(&name)
                    .or_else(|| made_mut.get(&name))
                    .map(|(j, _)| *j)
                    .or_else(|| site_stmt.get(&name).copied());
                if let Some(j) = target.filter(|&j| j != i) {
                    after.entry(i).or_default().insert(j);
                }
            }
        });
        for site in own_sites {
            site_stmt.insert(sites[site].name.clone(), i);
        }
        for name in &used[&i] {
            if Some(i) == tail
                && let Some((producer, binding)) = made_mut.get(name)
            {
                slots.insert(
                    (*producer, name.clone()),
                    SlotPlan {
                        binding: binding.clone(),
                        producer: *producer,
                        readers: Vec::new(),
                        tail: true,
                        at_group_end: true,
                    },
                );
                continue;
            }
            if mutable.contains(name) && Some(i) != tail {
                if let Some(&previous) = last_user.get(name) {
                    union(&mut group_of, previous, i);
                }
                last_user.insert(name.clone(), i);
            } else if let Some((producer, binding)) = made_by.get(name) {
                let slot = slots
                    .entry((*producer, name.clone()))
                    .or_insert_with(|| SlotPlan {
                        binding: binding.clone(),
                        producer: *producer,
                        readers: Vec::new(),
                        tail: false,
                        at_group_end: false,
                    });
                if Some(i) == tail {
                    slot.tail = true;
                } else {
                    slot.readers.push(i);
                    reads
                        .entry(i)
                        .or_default()
                        .entry(*producer)
                        .or_default()
                        .insert(name.clone());
                }
            }
        }
        if let Stmt::Let { syntax, .. } = &block.stmts[i] {
            let mut bindings = Vec::new();
            pattern_bindings(&syntax.pat, &mut bindings);
            for binding in bindings {
                let name = binding.ident.to_string();
                if binding.mutable {
                    mutable.insert(name.clone());
                    last_user.insert(name.clone(), i);
                    made_by.remove(&name);
                    made_mut.insert(name, (i, binding));
                } else {
                    mutable.remove(&name);
                    made_mut.remove(&name);
                    made_by.insert(name, (i, binding));
                }
            }
        }
    }

    // Groups in order of their first statement; statements in source order.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_index: BTreeMap<usize, usize> = BTreeMap::new();
    for &i in &statements {
        let root = find(&mut group_of, i);
        let index = *group_index.entry(root).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[index].push(i);
    }
    let with_sites = groups
        .iter()
        .filter(|group| group.iter().any(|&i| stmt_has_sites(&block.stmts[i])))
        .count();
    if with_sites < 2 {
        return None;
    }

    let mut stmts: BTreeMap<usize, StmtPlan> = BTreeMap::new();
    for (g, group) in groups.iter().enumerate() {
        for &i in group {
            stmts.entry(i).or_default().group = g;
        }
    }
    for (&i, targets) in &after {
        for &j in targets {
            if Some(i) != tail && stmts[&j].group != stmts[&i].group {
                stmts
                    .get_mut(&i)
                    .expect("planned")
                    .waits
                    .entry(j)
                    .or_default();
                stmts.get_mut(&j).expect("planned").awaited = true;
            }
        }
    }
    for (&reader, producers) in &reads {
        for (&producer, names) in producers {
            if stmts[&producer].group != stmts[&reader].group {
                stmts
                    .get_mut(&reader)
                    .expect("planned")
                    .waits
                    .insert(producer, names.clone());
                stmts.get_mut(&producer).expect("planned").awaited = true;
            }
        }
    }
    if is_chain(&statements, &stmts, &reads, &after, &groups, block) {
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
        slots: slots.into_values().collect(),
    })
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
