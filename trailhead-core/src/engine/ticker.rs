//! A schedule's ticker: the task that starts its runs.
//!
//! Each turn reads the schedule from the store (so a pause, a removal or
//! ticks handled by another engine are seen), starts a kept tick whose turn
//! came, handles the ticks due by the catch-up policy, then sleeps until
//! the next tick, a wake-up from this engine (pause, resume, removal), the
//! end of the run a kept tick waits for, or the poll interval while paused.
//! It holds the engine weakly: a dropped engine ticks no more.
//!
//! A tick's run is recorded first, under its deterministic id, and the last
//! tick handled advanced after, so a ticker stopped in between (a crash)
//! handles the tick again, finds its run (`RunExists`) and moves on.

use std::sync::{Arc, Weak};
use std::time::SystemTime;

use tokio::time::Instant;

use super::schedule::Ticker;
use super::{Engine, Inner};
use crate::schedule::{Overlap, ScheduleChange, ScheduleRecord, due};
use crate::{EngineError, EventReceiver, RunId, StoreError, Workflow};

/// What a ticker waits for before its next turn.
struct Wait {
    until: Instant,
    /// The run a kept tick waits on: its end wakes the ticker.
    run: Option<RunId>,
}

/// Ticks schedule `name` for as long as `ticker` is its ticker and the
/// engine lives.
pub(super) async fn tick<W: Workflow>(
    engine: Weak<Inner>,
    name: String,
    workflow: W,
    ticker: Arc<Ticker>,
) {
    loop {
        let Some(inner) = engine.upgrade() else {
            return;
        };
        let engine = Engine { inner };
        if engine.is_shutting_down() || !engine.inner.schedules.is_current(&name, &ticker) {
            return;
        }
        let mut events = engine.subscribe();
        let wait = match engine.turn(&name, workflow).await {
            Ok(Some(wait)) => wait,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(schedule = %name, %error, "a schedule's tick failed; trying again");
                Wait {
                    until: Instant::now() + engine.poll_interval(),
                    run: None,
                }
            }
        };
        let stop = engine.inner.schedules.stop.clone();
        drop(engine);
        tokio::select! {
            () = ticker.wake.notified() => {}
            () = stop.cancelled() => return,
            () = tokio::time::sleep_until(wait.until) => {}
            () = event_of(&mut events, wait.run.as_ref()) => {}
        }
    }
}

/// Waits for an event of run `run` (for ever without one).
async fn event_of(events: &mut EventReceiver, run: Option<&RunId>) {
    let Some(run) = run else {
        return std::future::pending().await;
    };
    while let Some(event) = events.recv().await {
        if event.run() == Some(run) {
            return;
        }
    }
    std::future::pending().await
}

impl Engine {
    /// One turn of schedule `name`'s ticker: `None` once the schedule is
    /// gone (or belongs to another workflow now).
    async fn turn<W: Workflow>(
        &self,
        name: &str,
        workflow: W,
    ) -> Result<Option<Wait>, EngineError> {
        let Some(mut record) = self.store().schedule(name).await? else {
            return Ok(None);
        };
        if record.workflow != W::name() {
            return Ok(None);
        }
        let now = self.clock().now();
        if record.paused {
            return Ok(Some(Wait {
                until: Instant::now() + self.poll_interval(),
                run: None,
            }));
        }
        if let Some(kept) = record.pending
            && !self.previous_running(&record).await?
        {
            self.start_tick(&record, kept, workflow).await?;
            let change = ScheduleChange::StartedPending { at: kept };
            record = self.change(name, change).await?;
        }
        let due = due(&record.schedule, record.last_tick, now);
        let mut skipped = due.skipped;
        for (at, tick) in due.run.into_iter().enumerate() {
            // Caught-up ticks run one after another, oldest first: each
            // waits for the run before it, so they meet no overlap policy
            // (under `Skip` a burst would start one and skip the rest).
            if at > 0 {
                self.until_previous_ended(&record).await?;
            }
            let change = self.handle_tick(&record, tick, skipped, workflow).await?;
            skipped = 0;
            record = self.change(name, change).await?;
        }
        if let Some(newest) = due.newest
            && newest > record.last_tick
        {
            let change = ScheduleChange::Tick {
                at: newest,
                run_exists: false,
                skipped,
                queue: false,
            };
            record = self.change(name, change).await?;
        }
        let next = record.next_tick(self.clock().now());
        let mut until =
            Instant::now() + self.poll_interval().max(std::time::Duration::from_secs(60));
        if let Some(next) = next {
            until = self.clock().instant_at(next);
        }
        let run = record
            .pending
            .and(record.last_started)
            .map(|tick| ScheduleRecord::run_id(name, tick));
        if run.is_some() {
            until = until.min(Instant::now() + self.poll_interval());
        }
        Ok(Some(Wait { until, run }))
    }

    /// What tick `tick` does, by the overlap policy.
    async fn handle_tick<W: Workflow>(
        &self,
        record: &ScheduleRecord,
        tick: SystemTime,
        skipped: u64,
        workflow: W,
    ) -> Result<ScheduleChange, EngineError> {
        let (mut skipped, mut queue) = (skipped, false);
        let mut run = true;
        if self.previous_running(record).await? {
            match record.schedule.overlap() {
                Overlap::QueueOne => (queue, run) = (true, false),
                Overlap::CancelPrevious => self.cancel_previous(record).await?,
                // `Skip`, and any policy added later: start nothing.
                _ => (skipped, run) = (skipped + 1, false),
            }
        }
        if run {
            self.start_tick(record, tick, workflow).await?;
        }
        Ok(ScheduleChange::Tick {
            at: tick,
            run_exists: run,
            skipped,
            queue,
        })
    }

    /// Whether the run of the schedule's newest started tick is still going.
    async fn previous_running(&self, record: &ScheduleRecord) -> Result<bool, EngineError> {
        let Some(tick) = record.last_started else {
            return Ok(false);
        };
        let run = ScheduleRecord::run_id(&record.name, tick);
        Ok(self
            .store()
            .run(&run)
            .await?
            .is_some_and(|run| !run.state.is_ended()))
    }

    /// Cancels the run of the newest started tick and waits until it ended.
    async fn cancel_previous(&self, record: &ScheduleRecord) -> Result<(), EngineError> {
        let Some(tick) = record.last_started else {
            return Ok(());
        };
        match self
            .cancel(&ScheduleRecord::run_id(&record.name, tick))
            .await
        {
            Ok(()) | Err(EngineError::Store(StoreError::RunFinished { .. })) => {}
            Err(error) => return Err(error),
        }
        self.until_previous_ended(record).await
    }

    /// Waits until the run of the newest started tick ended: woken by its
    /// events here, or after the poll interval (a run another process
    /// drives).
    async fn until_previous_ended(&self, record: &ScheduleRecord) -> Result<(), EngineError> {
        let Some(tick) = record.last_started else {
            return Ok(());
        };
        let run = ScheduleRecord::run_id(&record.name, tick);
        let mut events = self.subscribe();
        while self.previous_running(record).await? {
            let poll = tokio::time::sleep(self.poll_interval());
            tokio::select! {
                () = poll => {}
                () = event_of(&mut events, Some(&run)) => {}
            }
        }
        Ok(())
    }

    /// Starts the run of tick `tick`: whether this engine recorded it (not
    /// if another engine, or this one before a restart, did).
    async fn start_tick<W: Workflow>(
        &self,
        record: &ScheduleRecord,
        tick: SystemTime,
        workflow: W,
    ) -> Result<(), EngineError> {
        let run = ScheduleRecord::run_id(&record.name, tick);
        let input = <W::Input as crate::step::Journaled>::from_journal(&record.input).map_err(
            |source| StoreError::Decode {
                run: run.clone(),
                step: None,
                what: "input",
                source: Box::new(source),
            },
        )?;
        match self.start_with_id(run, workflow, input).await {
            // Started by another engine, or by this one before a restart.
            Ok(_) | Err(EngineError::Store(StoreError::RunExists { .. })) => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn change(
        &self,
        name: &str,
        change: ScheduleChange,
    ) -> Result<ScheduleRecord, EngineError> {
        self.store()
            .change_schedule(name, change)
            .await?
            .ok_or_else(|| EngineError::UnknownSchedule {
                name: name.to_owned(),
            })
    }
}
