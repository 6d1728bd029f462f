//! Durable timers: `sleep 5s` in a workflow.
//!
//! The wake-up time is journaled under the sleep's key *before* the run waits,
//! so a run that stops while asleep and is resumed later wakes at the time it
//! was meant to (at once, if that time has passed), not a full sleep later.

use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::key::KeyRef;
use crate::store::{StepOutcome, StepRecord, Value};
use crate::{Event, RunContext, StepError, StoreError};

impl RunContext {
    /// Sleeps `duration` as step `name` at loop indices `path`, durably.
    ///
    /// While it waits the run keeps its task (small); a run stopped meanwhile
    /// is resumed with the journaled wake-up time.
    #[doc(hidden)]
    pub async fn sleep(
        &self,
        name: &'static str,
        path: &[u32],
        duration: Duration,
    ) -> Result<(), StepError<Infallible>> {
        let key = KeyRef { name, path };
        let now = Instant::now();
        let wake_at = match self.replay.get(&key.to_key()) {
            Some(value) => {
                let wake_at = value
                    .decode::<WakeAt>()
                    .map(WakeAt::time)
                    .map_err(|source| {
                        self.journal_failure(
                            key,
                            StoreError::decode(
                                self.run.clone(),
                                Some(key.to_key()),
                                "wake-up time",
                                source,
                            ),
                        )
                    });
                if let Some(check) = &self.check {
                    // A replay does not wait: the sleep was journaled.
                    match wake_at {
                        Ok(_) => {
                            check.replayed(key).await;
                            return Ok(());
                        }
                        Err(error) => check.undecodable(key, error.to_string()).await,
                    }
                }
                wake_at?
            }
            None => {
                if let Some(check) = &self.check {
                    check.missing(key).await;
                }
                let wake_at = self.clock.wall_time(now) + duration;
                let record = StepRecord {
                    key: key.to_key(),
                    outcome: StepOutcome::Completed(
                        Value::encode(&WakeAt::at(wake_at)).expect("a number encodes"),
                    ),
                    attempts: 1,
                    started_at: self.clock.wall_time(now),
                    finished_at: self.clock.wall_time(now),
                    retries: Vec::new(),
                };
                self.write_journal(|| self.journal.record_step(record.clone()))
                    .await
                    .map_err(|error| self.journal_failure(key, error))?;
                wake_at
            }
        };
        let remaining = wake_at
            .duration_since(self.clock.wall_time(now))
            .unwrap_or(Duration::ZERO);
        if remaining >= self.engine.unload_after() {
            // Long: let the run give up its task until then (if nothing else
            // is running); the engine resumes it at the journaled time.
            self.request_unload(now + remaining);
        }
        // Live before the event: a watcher told of it sees it sleeping.
        let _watch = self
            .engine
            .pictures_live()
            .then(|| self.live.steps.watch(key));
        self.engine.events().emit(|| Event::StepStarted {
            run: self.run.clone(),
            step: key.to_key(),
            attempt: 1,
        });
        tokio::time::sleep(remaining).await;
        self.engine.events().emit(|| Event::StepCompleted {
            run: self.run.clone(),
            step: key.to_key(),
            attempt: 1,
            duration: now.elapsed(),
        });
        Ok(())
    }
}

/// When the sleep journaled as `entry` under key name `name` wakes; `None`
/// if the entry is not a sleep's (for readers of a journal, such as
/// [`trace`](crate::trace), that have no workflow type to ask).
///
/// Sleeps are named `sleep`, `sleep#2`, … by the macro and journal a
/// [`WakeAt`]: both must hold.
pub(crate) fn journaled_wake_at(name: &str, entry: &Value) -> Option<SystemTime> {
    let base = name.split('#').next().unwrap_or(name);
    if base != "sleep" {
        return None;
    }
    entry.decode::<WakeAt>().ok().map(WakeAt::time)
}

/// A sleep's journal entry: when it wakes, in nanoseconds since the epoch.
#[derive(serde::Serialize, serde::Deserialize)]
struct WakeAt {
    wake_at_ns: u64,
}

impl WakeAt {
    fn at(time: SystemTime) -> Self {
        let nanos = time
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        Self {
            wake_at_ns: u64::try_from(nanos).unwrap_or(u64::MAX),
        }
    }

    fn time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.wake_at_ns)
    }
}
