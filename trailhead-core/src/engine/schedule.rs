//! Registering schedules and acting on them: [`Engine::schedule`],
//! [`Engine::pause_schedule`], [`Engine::resume_schedule`],
//! [`Engine::remove_schedule`], [`Engine::schedules`]. The ticks themselves
//! are started by each schedule's ticker (`ticker`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::Engine;
use crate::schedule::{Schedule, ScheduleChange, ScheduleInfo, ScheduleRecord};
use crate::{EngineError, Workflow};

/// The schedules this engine ticks: one ticker task each.
#[derive(Debug, Default)]
pub(crate) struct Schedules {
    tickers: Mutex<HashMap<String, Arc<Ticker>>>,
    generations: AtomicU64,
    /// Cancelled at shutdown: every ticker stops.
    pub(super) stop: CancellationToken,
}

/// One schedule's ticker, as the registry knows it. A ticker whose entry
/// was replaced (registered again) or removed stops at its next wake-up.
#[derive(Debug)]
pub(crate) struct Ticker {
    generation: u64,
    /// Wakes the ticker to look at the store again now.
    pub(super) wake: Notify,
}

impl Schedules {
    /// A new ticker for `name`, replacing (and waking, to stop) any before.
    fn replace(&self, name: &str) -> Arc<Ticker> {
        let ticker = Arc::new(Ticker {
            generation: self.generations.fetch_add(1, Ordering::Relaxed),
            wake: Notify::new(),
        });
        let old = lock(&self.tickers).insert(name.to_owned(), Arc::clone(&ticker));
        if let Some(old) = old {
            old.wake.notify_one();
        }
        ticker
    }

    /// Whether `ticker` is still the one of `name`.
    pub(super) fn is_current(&self, name: &str, ticker: &Ticker) -> bool {
        lock(&self.tickers)
            .get(name)
            .is_some_and(|known| known.generation == ticker.generation)
    }

    fn wake(&self, name: &str) {
        if let Some(ticker) = lock(&self.tickers).get(name) {
            ticker.wake.notify_one();
        }
    }

    fn forget(&self, name: &str) {
        if let Some(ticker) = lock(&self.tickers).remove(name) {
            ticker.wake.notify_one();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Engine {
    /// Registers schedule `name`: from now on, each tick of `schedule`
    /// starts a run of `workflow` with `input`, under the id
    /// `{name}@{tick in RFC 3339, UTC}` (see [`schedule`](crate::schedule)).
    /// Returns the schedule as listed.
    ///
    /// The store keeps the schedule, so a process registers its schedules
    /// at every start: registering again with the same workflow, ticks,
    /// policies and input changes nothing (the schedule goes on from the
    /// last tick it handled, catching up by its [`CatchUp`](crate::CatchUp)
    /// policy); with another definition, the definition is replaced and
    /// the state (last tick, counts, paused) kept. The engine ticks the
    /// schedule until it is removed or the engine is dropped or shut down.
    /// Several engines on one store may all register it: each tick still
    /// starts one run.
    ///
    /// # Errors
    ///
    /// [`EngineError::ScheduleInput`] if `input` cannot be encoded,
    /// [`EngineError::ShuttingDown`] after [`shutdown`](Engine::shutdown),
    /// and [`EngineError::Store`] if the store fails (or keeps no schedules:
    /// [`StoreError::Unsupported`](crate::StoreError::Unsupported)).
    ///
    /// # Cancel safety
    ///
    /// Dropped before it completes, the schedule may be recorded but not
    /// ticked by this engine; registering it again ticks it.
    ///
    /// # Panics
    ///
    /// If called outside a tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # use std::future::Future;
    /// # use trailhead_core::{Error, RunContext, Workflow};
    /// # #[derive(Clone, Copy, Default)]
    /// # struct Backup;
    /// # impl Workflow for Backup {
    /// #     type Input = String;
    /// #     type Output = ();
    /// #     type Error = Error;
    /// #     const NAME: &'static str = "backup";
    /// #     const MERMAID: &'static str = "";
    /// #     const DEFINITION_HASH: u64 = 0;
    /// #     fn execute<'a>(self, _: &'a RunContext, _: String)
    /// #         -> impl Future<Output = Result<(), Error>> + Send + 'a {
    /// #         async move { Ok(()) }
    /// #     }
    /// # }
    /// use trailhead_core::{Engine, Schedule};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let engine = Engine::new();
    /// let hourly = Schedule::cron("0 * * * *")?;
    /// let info = engine.schedule("backup", hourly.clone(), Backup, "db".to_owned()).await?;
    /// assert_eq!(info.spec, "cron `0 * * * *`");
    /// // A restarted process registers it again: nothing changes.
    /// let again = engine.schedule("backup", hourly, Backup, "db".to_owned()).await?;
    /// assert_eq!(again.next_tick, info.next_tick);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn schedule<W: Workflow>(
        &self,
        name: impl Into<String>,
        schedule: Schedule,
        workflow: W,
        input: W::Input,
    ) -> Result<ScheduleInfo, EngineError> {
        let name = name.into();
        self.refuse_if_shutting_down(W::name(), None)?;
        let input = crate::step::Journaled::to_journal(&input).map_err(|source| {
            EngineError::ScheduleInput {
                name: name.clone(),
                source: Box::new(source),
            }
        })?;
        let now = self.clock().now();
        let record = ScheduleRecord::new(&name, W::name(), schedule, input, now);
        let change = ScheduleChange::Register(Box::new(record));
        let stored = self
            .store()
            .change_schedule(&name, change)
            .await?
            .ok_or_else(|| EngineError::UnknownSchedule { name: name.clone() })?;
        let ticker = self.inner.schedules.replace(&name);
        tokio::spawn(super::ticker::tick(
            Arc::downgrade(&self.inner),
            name,
            workflow,
            ticker,
        ));
        Ok(ScheduleInfo::of(&stored, now))
    }

    /// Pauses schedule `name`: its ticks start nothing until
    /// [`resume_schedule`](Engine::resume_schedule). Kept in the store, so
    /// every engine ticking it pauses (within its poll interval) and a
    /// restart keeps it paused.
    ///
    /// # Errors
    ///
    /// [`EngineError::UnknownSchedule`] if there is no such schedule, and
    /// [`EngineError::Store`] if the store fails.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not have paused it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::future::Future;
    /// # use trailhead_core::{Error, RunContext, Workflow};
    /// # #[derive(Clone, Copy, Default)]
    /// # struct Backup;
    /// # impl Workflow for Backup {
    /// #     type Input = ();
    /// #     type Output = ();
    /// #     type Error = Error;
    /// #     const NAME: &'static str = "backup";
    /// #     const MERMAID: &'static str = "";
    /// #     const DEFINITION_HASH: u64 = 0;
    /// #     fn execute<'a>(self, _: &'a RunContext, _: ())
    /// #         -> impl Future<Output = Result<(), Error>> + Send + 'a {
    /// #         async move { Ok(()) }
    /// #     }
    /// # }
    /// use trailhead_core::{Engine, cron};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let engine = Engine::new();
    /// engine.schedule("backup", cron!("0 * * * *"), Backup, ()).await?;
    /// engine.pause_schedule("backup").await?;
    /// assert!(engine.schedules().await?[0].paused);
    /// engine.resume_schedule("backup").await?;
    /// assert!(!engine.schedules().await?[0].paused);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn pause_schedule(&self, name: &str) -> Result<(), EngineError> {
        self.set_paused(name, true).await
    }

    /// Resumes schedule `name` after
    /// [`pause_schedule`](Engine::pause_schedule): the ticks that came due
    /// while it was paused are treated by its [`CatchUp`](crate::CatchUp)
    /// policy, as after downtime.
    ///
    /// # Errors
    ///
    /// As [`pause_schedule`](Engine::pause_schedule).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not have resumed it.
    ///
    /// # Examples
    ///
    /// See [`pause_schedule`](Engine::pause_schedule).
    pub async fn resume_schedule(&self, name: &str) -> Result<(), EngineError> {
        self.set_paused(name, false).await
    }

    async fn set_paused(&self, name: &str, paused: bool) -> Result<(), EngineError> {
        self.store()
            .change_schedule(name, ScheduleChange::Pause(paused))
            .await?
            .ok_or_else(|| EngineError::UnknownSchedule {
                name: name.to_owned(),
            })?;
        self.inner.schedules.wake(name);
        Ok(())
    }

    /// Removes schedule `name` from the store: no tick of it starts a run
    /// any more, here or in any engine (within its poll interval). Runs it
    /// started are left as they are.
    ///
    /// # Errors
    ///
    /// As [`pause_schedule`](Engine::pause_schedule).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not have removed it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::future::Future;
    /// # use trailhead_core::{Error, RunContext, Workflow};
    /// # #[derive(Clone, Copy, Default)]
    /// # struct Backup;
    /// # impl Workflow for Backup {
    /// #     type Input = ();
    /// #     type Output = ();
    /// #     type Error = Error;
    /// #     const NAME: &'static str = "backup";
    /// #     const MERMAID: &'static str = "";
    /// #     const DEFINITION_HASH: u64 = 0;
    /// #     fn execute<'a>(self, _: &'a RunContext, _: ())
    /// #         -> impl Future<Output = Result<(), Error>> + Send + 'a {
    /// #         async move { Ok(()) }
    /// #     }
    /// # }
    /// use trailhead_core::{Engine, EngineError, cron};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let engine = Engine::new();
    /// engine.schedule("backup", cron!("0 * * * *"), Backup, ()).await?;
    /// engine.remove_schedule("backup").await?;
    /// assert!(engine.schedules().await?.is_empty());
    /// assert!(matches!(
    ///     engine.remove_schedule("backup").await,
    ///     Err(EngineError::UnknownSchedule { .. })
    /// ));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn remove_schedule(&self, name: &str) -> Result<(), EngineError> {
        if self.store().schedule(name).await?.is_none() {
            return Err(EngineError::UnknownSchedule {
                name: name.to_owned(),
            });
        }
        self.store()
            .change_schedule(name, ScheduleChange::Remove)
            .await?;
        self.inner.schedules.forget(name);
        Ok(())
    }

    /// The schedules in the store (registered by this engine or any other
    /// on it), by name, with their next tick on this engine's clock.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] if the store fails.
    ///
    /// # Examples
    ///
    /// See [`pause_schedule`](Engine::pause_schedule).
    pub async fn schedules(&self) -> Result<Vec<ScheduleInfo>, EngineError> {
        let now = self.clock().now();
        let records = self.store().list_schedules().await?;
        Ok(records
            .iter()
            .map(|record| ScheduleInfo::of(record, now))
            .collect())
    }

    /// Stops every ticker (at shutdown).
    pub(super) fn stop_schedules(&self) {
        self.inner.schedules.stop.cancel();
    }
}
