//! A stream loop as it runs: pulling items, counting them, journaling
//! checkpoints, and resuming from the last one.

use std::pin::Pin;

use futures::StreamExt as _;
use tokio::time::Instant;

use super::Source;
use super::checkpoint::{Accumulator, Checkpoint, CheckpointPolicy};
use crate::key::KeyRef;
use crate::store::{StepOutcome, StepRecord, Value};
use crate::{CodecError, Event, RunContext, StepError, StepFailure, StepKey, StoreError};

/// A stream loop site: its key name, the indices of the loops around it, and
/// when it checkpoints.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct StreamSpec<'a> {
    /// The loop's key name.
    pub name: &'static str,
    /// The indices of the loops around it, outermost first.
    pub path: &'a [u32],
    /// When it checkpoints.
    pub policy: CheckpointPolicy,
}

impl<'a> StreamSpec<'a> {
    /// Stream loop `name` at loop indices `path`, checkpointing every
    /// `every` items and (if given) every `interval`.
    #[must_use]
    pub const fn new(
        name: &'static str,
        path: &'a [u32],
        every: u64,
        interval: Option<std::time::Duration>,
    ) -> Self {
        Self {
            name,
            path,
            policy: CheckpointPolicy { every, interval },
        }
    }
}

/// The encoded accumulators of a loop, made when a checkpoint is due.
pub type State = Vec<Result<Value, CodecError>>;

/// One stream loop of one run, from its last checkpoint on.
#[doc(hidden)]
pub struct StreamLoop<'a, S: Source> {
    ctx: &'a RunContext,
    key: StepKey,
    policy: CheckpointPolicy,
    source: Option<S>,
    items: Option<Pin<Box<S::Items>>>,
    /// The position of the next item.
    pub(super) position: u64,
    /// Items finished since the last checkpoint.
    pub(super) since: u64,
    /// When the last checkpoint was journaled (or the loop began).
    last: Instant,
    /// The cursor after the last item handed out.
    pub(super) cursor: Option<S::Cursor>,
    /// An item was handed out and its body has not finished.
    in_item: bool,
    /// The source ended or the loop was left: nothing more is read.
    pub(super) done: bool,
    /// The accumulators of the checkpoint resumed from.
    restored: Option<Vec<Value>>,
    /// Resumed from the checkpoint that ended the loop: it runs no item.
    pub(super) finished: bool,
}

impl RunContext {
    /// Starts stream loop `spec` over `source`: from its last checkpoint
    /// when the run resumes, with the accumulators it journaled there.
    #[doc(hidden)]
    #[allow(clippy::result_large_err)]
    pub async fn stream<'a, S: Source>(
        &'a self,
        spec: StreamSpec<'_>,
        source: S,
    ) -> Result<StreamLoop<'a, S>, StepError<S::Error>> {
        let key_ref = KeyRef {
            name: spec.name,
            path: spec.path,
        };
        let key = key_ref.to_key();
        let mut stream = StreamLoop {
            ctx: self,
            key,
            policy: spec.policy,
            source: Some(source),
            items: None,
            position: 0,
            since: 0,
            last: Instant::now(),
            cursor: None,
            in_item: false,
            done: false,
            restored: None,
            finished: false,
        };
        let journaled = self.replay.get(&stream.key);
        if journaled.is_none() {
            if let Some(check) = &self.check {
                check.missing(key_ref).await;
            }
            return Ok(stream);
        }
        let checkpoint = journaled
            .map(Value::decode::<Checkpoint>)
            .transpose()
            .and_then(|checkpoint| {
                let checkpoint = checkpoint.expect("journaled");
                let cursor = checkpoint.cursor.as_ref().map(Value::decode).transpose()?;
                Ok((checkpoint, cursor))
            });
        let (checkpoint, cursor) = match checkpoint {
            Ok(found) => found,
            Err(source) => {
                if let Some(check) = &self.check {
                    check.undecodable(key_ref, source.to_string()).await;
                }
                let error = StoreError::decode(
                    self.run.clone(),
                    Some(stream.key.clone()),
                    "checkpoint",
                    source,
                );
                return Err(stream.failure(StepFailure::Journal(error)));
            }
        };
        if let Some(check) = &self.check {
            check.replayed(key_ref).await;
            if !checkpoint.done {
                // A run in flight in this loop: a resumed run reads on here.
                check.missing(key_ref).await;
            }
        }
        self.engine.events().emit(|| Event::StreamResumed {
            run: self.run.clone(),
            stream: stream.key.clone(),
            items: checkpoint.items,
        });
        stream.position = checkpoint.items;
        stream.cursor = cursor;
        stream.done = checkpoint.done;
        stream.finished = checkpoint.done;
        stream.restored = Some(checkpoint.state);
        Ok(stream)
    }
}

impl<S: Source> StreamLoop<'_, S> {
    /// Whether the loop resumes from a checkpoint, whose accumulators
    /// [`restore`](Self::restore) gives.
    pub fn resumed(&self) -> bool {
        self.restored.is_some()
    }

    /// Accumulator `index` of the checkpoint resumed from, read by `decode`.
    #[allow(clippy::result_large_err)]
    fn restore_with<T>(
        &self,
        index: usize,
        decode: fn(&Value) -> Result<T, CodecError>,
    ) -> Result<T, StepError<S::Error>> {
        let value = self
            .restored
            .as_ref()
            .and_then(|state| state.get(index))
            .ok_or_else(|| CodecError::Decode {
                ty: std::any::type_name::<T>(),
                codec: crate::store::Codec::Cbor,
                message: format!(
                    "the checkpoint holds no accumulator {index}: the loop changes other bindings than when it was journaled"
                ),
            });
        value.and_then(decode).map_err(|source| {
            let error = StoreError::decode(
                self.ctx.run.clone(),
                Some(self.key.clone()),
                "checkpoint",
                source,
            );
            self.failure(StepFailure::Journal(error))
        })
    }

    /// The next item and its position, after the body finished the one
    /// before (whose accumulators `state` encodes if a checkpoint is due);
    /// `None` once the source ended.
    ///
    /// A source that fails fails the loop with its error, after journaling
    /// a checkpoint of the items finished before it.
    #[allow(clippy::result_large_err)]
    pub async fn next(
        &mut self,
        state: impl FnOnce() -> State,
    ) -> Result<Option<(u32, S::Item)>, StepError<S::Error>> {
        let mut state = Some(state);
        if std::mem::take(&mut self.in_item) {
            self.since += 1;
            if self.checkpoint_due() {
                let state = state.take().map(|state| state()).unwrap_or_default();
                self.checkpoint(state, false).await?;
            }
        }
        if self.done {
            return Ok(None);
        }
        match self.pull().await {
            Some(Ok((cursor, item))) => {
                let position = self.position_of(self.position)?;
                self.position += 1;
                self.cursor = Some(cursor);
                self.in_item = true;
                Ok(Some((position, item)))
            }
            Some(Err(error)) => {
                if self.since > 0
                    && let Some(state) = state.take()
                {
                    // The state is the last finished item's: the failed read
                    // came after it.
                    self.checkpoint(state(), false).await?;
                }
                self.done = true;
                Err(self.failure(StepFailure::Error(error)))
            }
            None => {
                self.done = true;
                Ok(None)
            }
        }
    }

    /// The loop ended (the source did, or the body broke off): journals the
    /// last checkpoint, marked done, with the accumulators `state` encodes.
    #[allow(clippy::result_large_err)]
    pub async fn finish(
        &mut self,
        state: impl FnOnce() -> State,
    ) -> Result<(), StepError<S::Error>> {
        if self.finished {
            // Resumed from its last checkpoint: nothing ran since.
            return Ok(());
        }
        if std::mem::take(&mut self.in_item) {
            self.since += 1;
        }
        self.done = true;
        self.checkpoint(state(), true).await
    }

    /// The next item from the source, opened after the checkpoint's cursor
    /// the first time.
    pub(super) async fn pull(&mut self) -> Option<Result<(S::Cursor, S::Item), S::Error>> {
        let items = match &mut self.items {
            Some(items) => items,
            None => {
                let source = self.source.take().expect("opened once");
                self.items
                    .insert(Box::pin(source.open(self.cursor.clone())))
            }
        };
        items.next().await
    }

    /// Item `position` as the index its steps are keyed by.
    #[allow(clippy::result_large_err)]
    pub(super) fn position_of(&self, position: u64) -> Result<u32, StepError<S::Error>> {
        u32::try_from(position).map_err(|_| {
            self.failure(StepFailure::Journal(StoreError::encode(
                self.ctx.run.clone(),
                Some(self.key.clone()),
                "item position",
                CodecError::Serialize {
                    ty: "u32",
                    message: "a stream loop takes at most 4,294,967,296 items".to_owned(),
                },
            )))
        })
    }

    pub(super) fn checkpoint_due(&self) -> bool {
        self.since >= self.policy.every
            || self
                .policy
                .interval
                .is_some_and(|interval| self.last.elapsed() >= interval)
    }

    /// Journals a checkpoint after the last finished item, replacing the
    /// loop's last one.
    #[allow(clippy::result_large_err)]
    pub(super) async fn checkpoint(
        &mut self,
        state: State,
        done: bool,
    ) -> Result<(), StepError<S::Error>> {
        let ctx = self.ctx;
        let encode = |what: &'static str, source: CodecError| {
            StepFailure::Journal(StoreError::encode(
                ctx.run.clone(),
                Some(self.key.clone()),
                what,
                source,
            ))
        };
        let cursor = match self.cursor.as_ref().map(Value::encode).transpose() {
            Ok(cursor) => cursor,
            Err(source) => return Err(self.failure(encode("cursor", source))),
        };
        let state: Result<Vec<Value>, CodecError> = state.into_iter().collect();
        let state = match state {
            Ok(state) => state,
            Err(source) => return Err(self.failure(encode("accumulator", source))),
        };
        let checkpoint = Checkpoint {
            items: self.position,
            cursor,
            state,
            done,
        };
        let value = match Value::encode(&checkpoint) {
            Ok(value) => value,
            Err(source) => return Err(self.failure(encode("checkpoint", source))),
        };
        let now = Instant::now();
        let at = ctx.clock.wall_time(now);
        let record = StepRecord {
            key: self.key.clone(),
            outcome: StepOutcome::Completed(value),
            attempts: 1,
            started_at: at,
            finished_at: at,
            retries: Vec::new(),
        };
        let written = ctx
            .write_journal(|| ctx.journal.record_checkpoint(record.clone()))
            .await;
        if let Err(error) = written {
            return Err(self.failure(StepFailure::Journal(error)));
        }
        self.since = 0;
        self.last = now;
        ctx.live.progressed(now);
        ctx.engine.events().emit(|| Event::StreamCheckpointed {
            run: ctx.run.clone(),
            stream: self.key.clone(),
            items: self.position,
            done,
        });
        Ok(())
    }

    /// The loop's failure, at the item it was at.
    pub(super) fn failure(&self, failure: StepFailure<S::Error>) -> StepError<S::Error> {
        StepError {
            run: self.ctx.run.clone(),
            step: self.key.clone(),
            attempts: 1,
            failure,
            began: None,
        }
    }
}

impl<S: Source> std::fmt::Debug for StreamLoop<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamLoop")
            .field("key", &self.key)
            .field("position", &self.position)
            .field("since", &self.since)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// A stream loop's accumulator, borrowed to be encoded at a checkpoint or
/// restored from one. Every use of an accumulator goes through here, said at
/// its binding: a type that cannot be journaled is one error there (the
/// slot's methods have no bounds of their own to fail again).
#[doc(hidden)]
pub fn accumulator<T: Accumulator>(value: &mut T) -> AccumulatorSlot<'_, T> {
    AccumulatorSlot {
        value,
        encode: T::to_checkpoint,
        decode: T::from_checkpoint,
    }
}

/// An accumulator borrowed by [`accumulator`], with its codec.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct AccumulatorSlot<'a, T> {
    value: &'a mut T,
    encode: fn(&T) -> Result<Value, CodecError>,
    decode: fn(&Value) -> Result<T, CodecError>,
}

impl<T> AccumulatorSlot<'_, T> {
    /// The value, encoded for a checkpoint.
    ///
    /// # Errors
    ///
    /// When it cannot be journaled.
    pub fn encode(&self) -> Result<Value, CodecError> {
        (self.encode)(self.value)
    }

    /// Sets the value from accumulator `index` of the checkpoint `stream`
    /// resumed from.
    ///
    /// # Errors
    ///
    /// When the checkpoint has no such accumulator or it does not decode.
    #[allow(clippy::result_large_err)]
    pub fn restore<S: Source>(
        self,
        stream: &StreamLoop<'_, S>,
        index: usize,
    ) -> Result<(), StepError<S::Error>> {
        *self.value = stream.restore_with(index, self.decode)?;
        Ok(())
    }
}
