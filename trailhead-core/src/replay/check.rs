//! What a replay saw: the keys the code reached, in waves, and where it
//! could go no further.
//!
//! A run being replayed has a check on its context
//! ([`RunContext::check`](crate::RunContext)). Its step sites tell the check
//! what they found instead of running anything: a journaled entry (the site
//! returns it in the next *wave*), no entry (the site goes no further), or
//! an entry that no longer decodes (nor that). The replay polls the body
//! until nothing can move, then lets the waiting sites go on: every site the
//! code can reach at once is reached in the same wave, and one that waits
//! for another's value in a later one. The waves are the code's order,
//! which the replay compares with the journal's.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use crate::StepKey;
use crate::key::KeyRef;

/// A replay's record of what the code reached.
#[derive(Debug)]
pub(crate) struct ReplayCheck {
    ledger: Mutex<Ledger>,
}

/// What the code reached, in the order it did.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// Journaled keys reached, with the wave each was reached in.
    pub(crate) replayed: Vec<(StepKey, u64)>,
    /// Keys reached that the journal lacks.
    pub(crate) missing: Vec<StepKey>,
    /// Journaled keys whose entry no longer decodes, with why.
    pub(crate) undecodable: Vec<(StepKey, String)>,
    /// The wave now.
    wave: u64,
    /// The sites waiting for the next wave.
    waiting: Vec<Waker>,
}

impl ReplayCheck {
    pub(crate) fn new() -> Self {
        Self {
            ledger: Mutex::new(Ledger::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets the sites waiting go on, in a new wave; `false` if none waits
    /// (the replay has gone as far as the journal takes it).
    pub(crate) fn next_wave(&self) -> bool {
        let mut ledger = self.lock();
        if ledger.waiting.is_empty() {
            return false;
        }
        ledger.wave += 1;
        let waiting = std::mem::take(&mut ledger.waiting);
        drop(ledger);
        waiting.into_iter().for_each(Waker::wake);
        true
    }

    /// What was reached.
    pub(crate) fn into_ledger(self) -> Ledger {
        self.ledger
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The code reached `key`, which the journal holds: it goes on after one
    /// wave.
    pub(crate) async fn replayed(&self, key: KeyRef<'_>) {
        let wave = self.record(key);
        NextWave { check: self, wave }.await;
    }

    /// Records journaled `key` reached in the wave now, which it gives.
    fn record(&self, key: KeyRef<'_>) -> u64 {
        let mut ledger = self.lock();
        let wave = ledger.wave;
        ledger.replayed.push((key.to_key(), wave));
        wave
    }

    /// The code reached `key`, which the journal lacks: a resumed run would
    /// run it; the replay goes no further here.
    pub(crate) async fn missing(&self, key: KeyRef<'_>) -> ! {
        self.lock().missing.push(key.to_key());
        std::future::pending().await
    }

    /// The journaled entry at `key` no longer decodes as the code's type.
    pub(crate) async fn undecodable(&self, key: KeyRef<'_>, error: String) -> ! {
        self.lock().undecodable.push((key.to_key(), error));
        std::future::pending().await
    }
}

/// Resolves once the check's wave is past `wave`.
struct NextWave<'a> {
    check: &'a ReplayCheck,
    wave: u64,
}

impl Future for NextWave<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut ledger = self.check.lock();
        if ledger.wave > self.wave {
            return Poll::Ready(());
        }
        ledger.waiting.push(cx.waker().clone());
        Poll::Pending
    }
}
