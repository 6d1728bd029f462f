//! Phase 2 of a block's plan: what each statement reads, writes and makes, in
//! source order, and the `mut` bindings that join statements into groups.

use std::collections::{BTreeMap, BTreeSet};

use super::SlotPlan;
use super::union;
use crate::model::scope::{Binding, pattern_bindings, stmt_used_names};
use crate::model::walk::stmt_sites;
use crate::model::{Block, Site, Stmt};

/// Phase 2: what each statement reads, writes and makes, in source order.
pub(super) struct Scan {
    tail: Option<usize>,
    /// Union-find parents: statements that mention one `mut` binding are joined.
    pub(super) group_of: Vec<usize>,
    /// The `mut` bindings visible at the statement being scanned.
    mutable: BTreeSet<String>,
    /// The last statement that mentioned each `mut` binding.
    last_user: BTreeMap<String, usize>,
    /// The statement whose `let` made each immutable binding, and the binding.
    made_by: BTreeMap<String, (usize, Binding)>,
    /// The same for `mut` bindings.
    made_mut: BTreeMap<String, (usize, Binding)>,
    /// The statement holding each step or call, by its name.
    site_stmt: BTreeMap<String, usize>,
    /// Per reader: the producers it reads from, with the bindings read.
    pub(super) reads: BTreeMap<usize, BTreeMap<usize, BTreeSet<String>>>,
    /// `.after(x)`: per statement, the statements it waits for without reading.
    pub(super) after: BTreeMap<usize, BTreeSet<usize>>,
    /// Bindings handed from producer to readers, by producer and name.
    pub(super) slots: BTreeMap<(usize, String), SlotPlan>,
}

impl Scan {
    pub(super) fn new(len: usize, outer_mut: &BTreeSet<String>, tail: Option<usize>) -> Self {
        Scan {
            tail,
            group_of: (0..len).collect(),
            mutable: outer_mut.clone(),
            last_user: BTreeMap::new(),
            made_by: BTreeMap::new(),
            made_mut: BTreeMap::new(),
            site_stmt: BTreeMap::new(),
            reads: BTreeMap::new(),
            after: BTreeMap::new(),
            slots: BTreeMap::new(),
        }
    }

    pub(super) fn stmt(&mut self, block: &Block<'_>, i: usize, sites: &[Site]) {
        let stmt = &block.stmts[i];
        self.after_edges(stmt, i, sites);
        for name in stmt_used_names(stmt) {
            self.uses(i, &name);
        }
        if let Stmt::Let { syntax, .. } = stmt {
            let mut bindings = Vec::new();
            pattern_bindings(&syntax.pat, &mut bindings);
            for binding in bindings {
                self.binds(i, binding);
            }
        }
    }

    /// `.after(x)` on a site of statement `i`: an edge from the statement that
    /// made binding `x` or holds step `x`.
    fn after_edges(&mut self, stmt: &Stmt<'_>, i: usize, sites: &[Site]) {
        let mut own_sites = Vec::new();
        stmt_sites(stmt, &mut |site, options| {
            own_sites.push(site);
            for name in options.after.iter().flatten() {
                let name = name.to_string();
                let target = self
                    .made_by
                    .get(&name)
                    .or_else(|| self.made_mut.get(&name))
                    .map(|(j, _)| *j)
                    .or_else(|| self.site_stmt.get(&name).copied());
                if let Some(j) = target.filter(|&j| j != i) {
                    self.after.entry(i).or_default().insert(j);
                }
            }
        });
        for site in own_sites {
            self.site_stmt.insert(sites[site].name.clone(), i);
        }
    }

    /// Statement `i` mentions `name`: it joins the group of a `mut` binding's
    /// other users, or reads from the statement that made it.
    fn uses(&mut self, i: usize, name: &str) {
        let is_tail = Some(i) == self.tail;
        if is_tail && let Some((producer, binding)) = self.made_mut.get(name) {
            // A `mut` binding the tail reads: handed over when its group is done.
            self.slots.insert(
                (*producer, name.to_owned()),
                SlotPlan {
                    binding: binding.clone(),
                    producer: *producer,
                    readers: Vec::new(),
                    tail: true,
                    at_group_end: true,
                },
            );
            return;
        }
        if self.mutable.contains(name) && !is_tail {
            if let Some(&previous) = self.last_user.get(name) {
                union(&mut self.group_of, previous, i);
            }
            self.last_user.insert(name.to_owned(), i);
        } else if let Some((producer, binding)) = self.made_by.get(name) {
            let slot = self
                .slots
                .entry((*producer, name.to_owned()))
                .or_insert_with(|| SlotPlan {
                    binding: binding.clone(),
                    producer: *producer,
                    readers: Vec::new(),
                    tail: false,
                    at_group_end: false,
                });
            if is_tail {
                slot.tail = true;
            } else {
                slot.readers.push(i);
                self.reads
                    .entry(i)
                    .or_default()
                    .entry(*producer)
                    .or_default()
                    .insert(name.to_owned());
            }
        }
    }

    /// Statement `i` binds `binding` (shadowing any earlier one of the name).
    fn binds(&mut self, i: usize, binding: Binding) {
        let name = binding.ident.to_string();
        if binding.mutable {
            self.mutable.insert(name.clone());
            self.last_user.insert(name.clone(), i);
            self.made_by.remove(&name);
            self.made_mut.insert(name, (i, binding));
        } else {
            self.mutable.remove(&name);
            self.made_mut.remove(&name);
            self.made_by.insert(name, (i, binding));
        }
    }
}
