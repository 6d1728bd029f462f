//! Removing finished runs from the memory store.
//!
//! Both operations hold the run table's lock from the first look to the last
//! removal, and so do the only changes that take a run out of its ended state
//! (`reopen_run`, `begin_compensation`): a run seen ended here stays ended
//! until it is gone. (Journals only move runs towards ended.)

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use super::MemoryStore;
use super::run::MemoryRun;
use crate::store::{Retention, RunStatus};
use crate::{RunId, StoreError};

/// What retention needs to know of every run in the table.
struct Standing {
    runs: HashMap<RunId, (Option<RunId>, RunStatus, Option<SystemTime>)>,
    children: HashMap<RunId, Vec<RunId>>,
}

impl Standing {
    fn of(table: &HashMap<RunId, Arc<MemoryRun>>) -> Self {
        let mut runs = HashMap::with_capacity(table.len());
        let mut children: HashMap<RunId, Vec<RunId>> = HashMap::new();
        for (id, run) in table {
            let standing = run.standing();
            if let Some(parent) = &standing.0 {
                children.entry(parent.clone()).or_default().push(id.clone());
            }
            runs.insert(id.clone(), standing);
        }
        Self { runs, children }
    }

    /// `run` and its descendants, if all of them and its parent have ended.
    fn removable(&self, run: &RunId) -> Result<Vec<RunId>, StoreError> {
        let Some((parent, _, _)) = self.runs.get(run) else {
            return Err(StoreError::UnknownRun { run: run.clone() });
        };
        let refuse = |unended: &RunId| StoreError::NotRemovable {
            run: run.clone(),
            unended: unended.clone(),
        };
        if let Some(parent) = parent
            && self
                .runs
                .get(parent)
                .is_some_and(|(_, status, _)| !status.is_ended())
        {
            return Err(refuse(parent));
        }
        let mut tree = vec![run.clone()];
        let mut next = 0;
        while let Some(id) = tree.get(next).cloned() {
            next += 1;
            if self
                .runs
                .get(&id)
                .is_some_and(|(_, status, _)| !status.is_ended())
            {
                return Err(refuse(&id));
            }
            tree.extend(self.children.get(&id).into_iter().flatten().cloned());
        }
        Ok(tree)
    }
}

impl MemoryStore {
    /// Removes `run` with its descendants, if they and its parent have ended.
    pub(super) fn remove(&self, run: &RunId) -> Result<(), StoreError> {
        let mut table = self.runs();
        let tree = Standing::of(&table).removable(run)?;
        for id in &tree {
            table.remove(id);
        }
        Ok(())
    }

    /// Removes the ended top-level runs `retention` does not keep at `now`;
    /// how many.
    pub(super) fn sweep(&self, retention: &Retention, now: SystemTime) -> usize {
        if retention.keeps_all() {
            return 0;
        }
        let mut table = self.runs();
        let standing = Standing::of(&table);
        let ended = standing
            .runs
            .iter()
            .filter(|(_, (parent, status, _))| parent.is_none() && status.is_ended())
            .map(|(id, (_, status, finished_at))| (id.clone(), *status, finished_at.unwrap_or(now)))
            .collect();
        let mut removed = 0;
        for run in retention.expired(ended, now) {
            // One with a child still going stays, to be swept once it ended.
            if let Ok(tree) = standing.removable(&run) {
                for id in &tree {
                    table.remove(id);
                }
                removed += 1;
            }
        }
        removed
    }
}
