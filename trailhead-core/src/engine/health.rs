//! The health report: what is running, what is stuck, what is broken.

use std::time::Duration;

use tokio::time::Instant;

use super::Engine;
use crate::store::RunStatus;
use crate::{BreakerState, EngineError, RunId, StepKey};

/// A snapshot of an engine's health, from [`Engine::health`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Health {
    /// Runs this engine is driving now (not counting runs unloaded while
    /// they sleep).
    pub in_flight: usize,
    /// Runs unloaded while they sleep, waiting for their timer.
    pub unloaded: usize,
    /// Runs queued for admission: started beyond a
    /// [limit on runs in flight](crate::EngineBuilder::max_runs_in_flight)
    /// and waiting in the store for a place (queued by this engine or by
    /// any other on the store; counted from the store, so they are counted
    /// after a restart too).
    pub queued: usize,
    /// Runs in flight whose last step ended (or which began) at least
    /// [`EngineBuilder::stalled_after`](crate::EngineBuilder::stalled_after)
    /// ago, longest stalled first. A run waiting for a signal or a short
    /// sleep shows here too: the report says how long, the reader says
    /// whether that is too long.
    pub stalled: Vec<StalledRun>,
    /// Runs with a step paused by the [debugger](crate::debug) (not
    /// stalled: waiting for a person), in the order they paused.
    pub paused: Vec<PausedRun>,
    /// Every circuit breaker of the engine and its state.
    pub breakers: Vec<BreakerHealth>,
    /// Runs whose rollback stopped at a compensation that failed for good
    /// (recorded [`CompensationFailed`](RunStatus::CompensationFailed)): they
    /// need a person.
    pub failed_compensations: Vec<FailedCompensation>,
    /// Child runs that completed and were then undone by their parent's
    /// rollback (recorded [`Compensated`](RunStatus::Compensated)).
    pub compensated: usize,
    /// Runs suspended because the store kept failing their journal writes
    /// (full, locked, unreachable, damaged): not failed, not rolled back, left
    /// running in the store for [`Engine::resume`] once the store is well.
    pub suspended: Vec<SuspendedRun>,
    /// How long one read of the store took while the report was made.
    pub store_latency: Duration,
    /// The store's workers (this engine's among them) with the runs each
    /// holds and its oldest lease, and how many runs wait and are in flight
    /// in each queue: the fleet as the store sees it.
    pub fleet: crate::store::FleetStatus,
    /// The store's schedules (see [`schedule`](crate::schedule)), by name,
    /// each with its next tick, last tick, paused flag and counts.
    pub schedules: Vec<crate::ScheduleInfo>,
}

impl Health {
    /// The breakers that are open (failing fast) or half-open (trying).
    pub fn open_breakers(&self) -> impl Iterator<Item = &BreakerHealth> {
        self.breakers
            .iter()
            .filter(|breaker| breaker.state != BreakerState::Closed)
    }

    /// Whether nothing needs attention: no stalled run, no breaker open or
    /// half-open, no failed compensation.
    pub fn is_healthy(&self) -> bool {
        self.stalled.is_empty()
            && self.open_breakers().next().is_none()
            && self.failed_compensations.is_empty()
            && self.suspended.is_empty()
    }
}

/// A run in flight that has not made progress for a while.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StalledRun {
    /// The run.
    pub run: RunId,
    /// Its workflow's name.
    pub workflow: &'static str,
    /// How long since its last step ended (or it began).
    pub idle: Duration,
}

/// A run with a step paused by the debugger.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PausedRun {
    /// The run.
    pub run: RunId,
    /// Its workflow's name.
    pub workflow: &'static str,
    /// The step paused.
    pub step: StepKey,
    /// Where it is paused.
    pub when: crate::debug::When,
}

/// A run the engine stopped driving because the store kept failing.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SuspendedRun {
    /// The run.
    pub run: RunId,
    /// Its workflow's name.
    pub workflow: &'static str,
    /// The store's last error.
    pub error: String,
    /// When it was suspended.
    pub since: std::time::SystemTime,
}

/// A circuit breaker and its state.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BreakerHealth {
    /// The breaker's name.
    pub name: String,
    /// Its state.
    pub state: BreakerState,
}

/// A run whose compensation failed for good.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FailedCompensation {
    /// The run.
    pub run: RunId,
    /// Its workflow's name.
    pub workflow: String,
    /// The step whose compensation failed.
    pub step: StepKey,
    /// The compensation's last error.
    pub error: String,
}

impl Engine {
    /// Reports the engine's health: runs in flight, queued and stalled, breakers,
    /// failed compensations, the store's latency (timed on the store read
    /// this report makes anyway), and the fleet of workers and queues.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] if the store cannot be read.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), trailhead_core::EngineError> {
    /// let engine = trailhead_core::Engine::new();
    /// let health = engine.health().await?;
    /// assert!(health.is_healthy());
    /// assert_eq!(health.in_flight, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn health(&self) -> Result<Health, EngineError> {
        let now = Instant::now();
        let (in_flight, mut stalled) = self
            .inner
            .runs
            .stalled(now, self.inner.config.stalled_after);
        stalled.sort_by(|a, b| b.idle.cmp(&a.idle).then_with(|| a.run.cmp(&b.run)));
        let mut paused: Vec<PausedRun> = Vec::new();
        if let Some(debugger) = self.debugger() {
            for pause in debugger.paused() {
                if !paused.iter().any(|known| known.run == pause.run) {
                    paused.push(PausedRun {
                        run: pause.run,
                        workflow: pause.workflow,
                        step: pause.key,
                        when: pause.when,
                    });
                }
            }
            stalled.retain(|run| !debugger.is_paused(&run.run));
        }
        let mut breakers: Vec<BreakerHealth> = self
            .inner
            .config
            .breakers
            .values()
            .map(|breaker| BreakerHealth {
                name: breaker.name().to_owned(),
                state: breaker.state(),
            })
            .collect();
        breakers.sort_by(|a, b| a.name.cmp(&b.name));
        let began = std::time::Instant::now();
        let failed = self
            .store()
            .list_runs(Some(RunStatus::CompensationFailed))
            .await?;
        let store_latency = began.elapsed();
        let compensated = self
            .store()
            .list_runs(Some(RunStatus::Compensated))
            .await?
            .len();
        let fleet = self.store().fleet().await?;
        let schedules = self.schedules().await?;
        let failed_compensations = failed
            .into_iter()
            .filter_map(|record| match record.state {
                crate::store::RunState::Ended {
                    outcome: crate::RunOutcome::CompensationFailed { step, error, .. },
                    ..
                } => Some(FailedCompensation {
                    run: record.id,
                    workflow: record.workflow,
                    step,
                    error,
                }),
                _ => None,
            })
            .collect();
        let queued = fleet
            .queues
            .iter()
            .find(|queue| queue.queue.as_deref() == Some(crate::store::ADMISSION_QUEUE))
            .map_or(0, |queue| queue.waiting);
        Ok(Health {
            in_flight,
            unloaded: self.unloaded_runs(),
            queued,
            stalled,
            paused,
            breakers,
            failed_compensations,
            compensated,
            suspended: {
                let mut suspended: Vec<SuspendedRun> = self.inner.runs.halted();
                suspended.sort_by(|a, b| a.run.cmp(&b.run));
                suspended
            },
            store_latency,
            fleet,
            schedules,
        })
    }
}
