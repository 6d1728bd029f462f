//! Where a workflow's time goes: per-step-site statistics across its runs.
//!
//! [`of_workflow`] reads the journals of a workflow's recorded runs from any
//! [`Store`] and gives, for each step site (a step key without its loop
//! indices: `charge[3]` and `charge[7]` are both `charge`), how many times it
//! finished, its duration's percentiles, and how often it was retried or
//! failed. The result serializes (serde) for tools: `--json`.
//!
//! Durations are the journal's: from a step's first attempt's start to its
//! last attempt's end (retries and their backoff waits included), a sleep's
//! until its wake-up time, a signal's the wait. Steps still running are not
//! journaled yet and are not counted.
//!
//! # Examples
//!
//! ```
//! # extern crate trailhead_core as trailhead;
//! use trailhead::{Engine, Error, workflow};
//! use trailhead::stats::{self, StatsOptions};
//!
//! async fn price(item: u32) -> Result<u32, Error> {
//!     Ok(item * 10)
//! }
//!
//! workflow! {
//!     workflow quote(items: Vec<u32>) -> Result<u32, Error> {
//!         let prices = parallel for item in &items {
//!             step price(*item)
//!         };
//!         Ok(prices.into_iter().sum())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::new();
//! engine.run(quote, vec![1, 2, 3]).await?;
//! engine.run(quote, vec![4]).await?;
//!
//! let stats = stats::of_workflow(&**engine.store(), "quote", &StatsOptions::new()).await?;
//! assert_eq!(stats.runs, 2);
//! let price = stats.site("price").expect("price ran");
//! assert_eq!(price.count, 4);
//! assert_eq!(price.retry_rate, 0.0);
//! assert!(price.p50 <= price.p99);
//! # Ok(())
//! # }
//! ```

mod percentile;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::store::{StepOutcome, Store};
use crate::{RunId, StoreError};

/// Which runs [`of_workflow`] reads: the newest `limit` (1,000 unless told
/// otherwise) created at or after `since`, if given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatsOptions {
    /// At most this many runs, the newest.
    pub limit: usize,
    /// Only runs created at or after this time.
    pub since: Option<SystemTime>,
}

impl StatsOptions {
    /// The newest 1,000 runs, however old.
    pub const fn new() -> Self {
        Self {
            limit: 1_000,
            since: None,
        }
    }

    /// At most the newest `limit` runs.
    #[must_use]
    pub const fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Only runs created at or after `since`.
    #[must_use]
    pub const fn with_since(mut self, since: SystemTime) -> Self {
        self.since = Some(since);
        self
    }
}

impl Default for StatsOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// Per-step-site statistics of one workflow's runs: what [`of_workflow`]
/// gives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WorkflowStats {
    /// The workflow's name.
    pub workflow: String,
    /// How many runs were read (their finished steps counted).
    pub runs: usize,
    /// Each step site, the one with the most time in total first.
    pub sites: Vec<SiteStats>,
}

impl WorkflowStats {
    /// The statistics of step site `name` (`charge`, `undo:charge`,
    /// `sleep#2`), if it finished in any run read.
    pub fn site(&self, name: &str) -> Option<&SiteStats> {
        self.sites.iter().find(|site| site.site == name)
    }
}

/// One step site's statistics across runs.
///
/// Percentiles are nearest-rank: the smallest duration that at least that
/// share of the site's executions took no longer than. Durations serialize
/// as whole microseconds (`p50_us`, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SiteStats {
    /// The site: a step key's name (no loop indices).
    pub site: String,
    /// What kind of site: `step`, `call`, `sleep`, `signal` or
    /// `compensation`.
    pub kind: String,
    /// How many times it finished (completed, failed or fell back).
    pub count: u64,
    /// Attempts made, over all its executions.
    pub attempts: u64,
    /// Executions that took more than one attempt.
    pub retried: u64,
    /// Executions that failed for good (a step that fell back counts: its
    /// own work failed).
    pub failed: u64,
    /// `retried / count`.
    pub retry_rate: f64,
    /// `failed / count`.
    pub failure_rate: f64,
    /// The median duration.
    #[serde(rename = "p50_us", with = "micros")]
    pub p50: Duration,
    /// The 95th percentile duration.
    #[serde(rename = "p95_us", with = "micros")]
    pub p95: Duration,
    /// The 99th percentile duration.
    #[serde(rename = "p99_us", with = "micros")]
    pub p99: Duration,
    /// The longest.
    #[serde(rename = "max_us", with = "micros")]
    pub max: Duration,
    /// All its executions together.
    #[serde(rename = "total_us", with = "micros")]
    pub total: Duration,
}

/// Statistics of each step site of workflow `workflow`'s runs recorded in
/// `store` (child runs of that workflow too), over the runs `options`
/// selects.
///
/// # Errors
///
/// The store's error if it fails.
///
/// # Cancel safety
///
/// Cancel safe: it only reads.
pub async fn of_workflow(
    store: &dyn Store,
    workflow: &str,
    options: &StatsOptions,
) -> Result<WorkflowStats, StoreError> {
    let all = store.list_runs(None).await?;
    let children: HashSet<RunId> = all
        .iter()
        .filter(|run| run.parent.is_some())
        .map(|run| run.id.clone())
        .collect();
    let mut runs: Vec<_> = all
        .into_iter()
        .filter(|run| run.workflow == workflow)
        .filter(|run| options.since.is_none_or(|since| run.created_at >= since))
        .collect();
    // Newest first, then the limit.
    runs.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    runs.truncate(options.limit);
    let mut sites: BTreeMap<String, Site> = BTreeMap::new();
    for run in &runs {
        let journal = match store.journal(&run.id).await {
            Ok(journal) => journal,
            // Removed (retention) since it was listed.
            Err(StoreError::UnknownRun { .. }) => continue,
            Err(error) => return Err(error),
        };
        let slices = crate::trace::slices::of_journal(run, &journal, &children);
        for (entry, slice) in journal.iter().zip(slices) {
            let site = sites
                .entry(entry.key.name().to_owned())
                .or_insert_with(|| Site {
                    kind: slice.cat,
                    ..Site::default()
                });
            site.durations
                .push(slice.end.duration_since(slice.start).unwrap_or_default());
            site.attempts += u64::from(entry.attempts);
            site.retried += u64::from(entry.attempts > 1);
            site.failed += u64::from(!matches!(entry.outcome, StepOutcome::Completed(_)));
        }
    }
    let mut sites: Vec<SiteStats> = sites
        .into_iter()
        .map(|(name, site)| site.stats(name))
        .collect();
    sites.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.site.cmp(&b.site)));
    Ok(WorkflowStats {
        workflow: workflow.to_owned(),
        runs: runs.len(),
        sites,
    })
}

/// What is gathered of one site while journals are read.
#[derive(Debug, Default)]
struct Site {
    kind: &'static str,
    durations: Vec<Duration>,
    attempts: u64,
    retried: u64,
    failed: u64,
}

impl Site {
    fn stats(mut self, site: String) -> SiteStats {
        self.durations.sort_unstable();
        let count = self.durations.len() as u64;
        let rate = |n: u64| {
            if count == 0 {
                0.0
            } else {
                n as f64 / count as f64
            }
        };
        let at = |p: f64| percentile::nearest_rank(&self.durations, p);
        SiteStats {
            site,
            kind: self.kind.to_owned(),
            count,
            attempts: self.attempts,
            retried: self.retried,
            failed: self.failed,
            retry_rate: rate(self.retried),
            failure_rate: rate(self.failed),
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: self.durations.last().copied().unwrap_or_default(),
            total: self.durations.iter().sum(),
        }
    }
}

/// A [`Duration`] as whole microseconds, for JSON readers.
mod micros {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(duration: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(duration.as_micros()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_micros)
    }
}
