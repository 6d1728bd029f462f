//! Signals: `signal "approval"` waits for a typed value sent to the run from
//! outside with [`Engine::signal`](crate::Engine::signal).
//!
//! The store keeps every signal sent until a `signal` of the run receives it,
//! so a signal may arrive before the run waits, or while the process is down.
//! The value received is journaled under the step's key: a resumed run gets
//! the same value back.

use std::convert::Infallible;
use std::time::Duration;

use tokio::time::Instant;

use super::Journaled;
use crate::key::KeyRef;
use crate::store::Value;
use crate::{Event, RunContext, StepError, StoreError};

impl RunContext {
    /// Waits for signal `signal` as step `name` at loop indices `path`.
    #[doc(hidden)]
    pub async fn signal<T: Journaled>(
        &self,
        name: &'static str,
        path: &[u32],
        signal: &'static str,
    ) -> Result<T, StepError<Infallible>> {
        let key = KeyRef { name, path };
        let value = self.wait_signal(key, signal, None).await?;
        let value = value.expect("no deadline: waits until a signal comes");
        self.decode_signal(key, &value).await
    }

    /// Waits at most `within` for signal `signal`: `None` if none came.
    ///
    /// The deadline counts from when this process started waiting: a run
    /// resumed while waiting waits `within` again.
    #[doc(hidden)]
    pub async fn signal_within<T: Journaled>(
        &self,
        name: &'static str,
        path: &[u32],
        signal: &'static str,
        within: Duration,
    ) -> Result<Option<T>, StepError<Infallible>> {
        let key = KeyRef { name, path };
        match self
            .wait_signal(key, signal, Some(Instant::now() + within))
            .await?
        {
            Some(value) => self.decode_signal(key, &value).await.map(Some),
            None => Ok(None),
        }
    }

    /// The signal's value: from the journal when replaying, else from the
    /// store (waiting for one to be sent), journaled before it is returned.
    /// `None` when `deadline` passed first (journaled as such too).
    async fn wait_signal(
        &self,
        key: KeyRef<'_>,
        signal: &str,
        deadline: Option<Instant>,
    ) -> Result<Option<Value>, StepError<Infallible>> {
        if let Some(value) = self.replay.get(&key.to_key()) {
            if let Some(check) = &self.check {
                check.replayed(key).await;
            }
            return Ok(from_entry(value));
        }
        if let Some(check) = &self.check {
            check.missing(key).await;
        }
        let began = Instant::now();
        let _watch = self
            .engine
            .pictures_live()
            .then(|| self.live.steps.watch(key));
        self.engine.events().emit(|| Event::StepStarted {
            run: self.run.clone(),
            step: key.to_key(),
            attempt: 1,
        });
        let waiter = self.engine.signal_waiter(&self.run);
        let notifies = self.engine.listen_to_store();
        let received = loop {
            let notified = waiter.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let stored = self
                .write_journal(|| {
                    self.engine
                        .store()
                        .receive_signal(&self.run, signal, &key.to_key())
                })
                .await;
            match stored.map_err(|error| self.journal_failure(key, error))? {
                Some(value) => break Some(value),
                None => {
                    // A store that does not notify is asked again now and then:
                    // the signal may come from another process.
                    let look_again =
                        (!notifies).then(|| Instant::now() + self.engine.poll_interval());
                    let wake = match (deadline, look_again) {
                        (Some(deadline), Some(again)) => Some(deadline.min(again)),
                        (deadline, again) => deadline.or(again),
                    };
                    match wake {
                        None => notified.await,
                        Some(wake) => {
                            if tokio::time::timeout_at(wake, notified).await.is_err()
                                && deadline.is_some_and(|deadline| Instant::now() >= deadline)
                            {
                                break None;
                            }
                        }
                    }
                }
            }
        };
        let entry = match &received {
            // The payload's own bytes: the resumed run decodes exactly them.
            Some(value) => Value::entry(RECEIVED, value),
            None => Value::encode(&TimedOut { timed_out: true }).expect("a flag encodes"),
        };
        let record = crate::store::StepRecord {
            key: key.to_key(),
            outcome: crate::store::StepOutcome::Completed(entry),
            attempts: 1,
            started_at: self.clock.wall_time(began),
            finished_at: self.clock.wall_time(Instant::now()),
            retries: Vec::new(),
        };
        self.write_journal(|| self.journal.record_step(record.clone()))
            .await
            .map_err(|error| self.journal_failure(key, error))?;
        self.engine.events().emit(|| Event::StepCompleted {
            run: self.run.clone(),
            step: key.to_key(),
            attempt: 1,
            duration: began.elapsed(),
        });
        Ok(received)
    }

    // The error is the shape every step returns; this path is cold.
    #[allow(clippy::result_large_err)]
    async fn decode_signal<T: Journaled>(
        &self,
        key: KeyRef<'_>,
        value: &Value,
    ) -> Result<T, StepError<Infallible>> {
        let decoded = T::from_journal(value).map_err(|source| {
            let error = StoreError::decode(self.run.clone(), Some(key.to_key()), "signal", source);
            self.journal_failure(key, error)
        });
        if let (Some(check), Err(error)) = (&self.check, &decoded) {
            check.undecodable(key, error.to_string()).await;
        }
        decoded
    }
}

/// The key of a journaled signal entry that holds the value received.
const RECEIVED: &str = "received";

/// The journal entry of a signal that did not come in time.
#[derive(serde::Serialize, serde::Deserialize)]
struct TimedOut {
    timed_out: bool,
}

/// Whether journal entry `entry`, of a run whose flowchart is `mermaid`,
/// under key name `name`, is a signal's: `Some(true)` if a value was
/// received, `Some(false)` if the wait timed out, `None` if it is not a
/// signal's entry (for readers of a journal that have no workflow type).
///
/// A signal site is named after its signal (`approval`, `approval#2`, …) and
/// drawn as `signal approval` in the flowchart; its entry is
/// `{"received": …}` or `{"timed_out": true}`: all must hold.
pub(crate) fn journaled_signal(mermaid: &str, name: &str, entry: &Value) -> Option<bool> {
    let base = name.split('#').next().unwrap_or(name);
    if !mermaid.contains(&format!("\"signal {base}\"")) {
        return None;
    }
    if from_entry(entry).is_some() {
        return Some(true);
    }
    entry
        .decode::<TimedOut>()
        .ok()
        .filter(|timed_out| timed_out.timed_out)
        .map(|_| false)
}

/// A journaled signal entry: the value received, or `None` for a timeout.
fn from_entry(entry: &Value) -> Option<Value> {
    match Value::split_entry(entry.codec(), entry.bytes())? {
        (key, value) if key == RECEIVED => Some(value),
        _ => None,
    }
}
