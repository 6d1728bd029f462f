//! A journal entry: what one finished step gave, and what is kept of a
//! step that failed for good.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::store::Value;
use crate::{ErrorClass, StepKey};

/// The journal entry of one finished step.
///
/// Fields are public to read; a store outside this crate builds one with
/// [`StepRecord::new`].
///
/// # Examples
///
/// ```
/// use std::time::SystemTime;
/// use trailhead_core::StepKey;
/// use trailhead_core::store::{StepOutcome, StepRecord, Value};
///
/// # fn main() -> Result<(), trailhead_core::CodecError> {
/// let now = SystemTime::now();
/// let receipt = StepOutcome::Completed(Value::encode(&"receipt-1".to_owned())?);
/// let record = StepRecord::new(StepKey::new("charge", &[]), receipt, 2, now, now);
/// assert_eq!(record.attempts, 2);
/// assert!(record.outcome.value().is_some());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StepRecord {
    /// The step's key.
    pub key: StepKey,
    /// What the step gave.
    pub outcome: StepOutcome,
    /// Attempts made.
    pub attempts: u32,
    /// When the first attempt started.
    pub started_at: SystemTime,
    /// When the last attempt ended.
    pub finished_at: SystemTime,
    /// The attempts that failed and were retried, in order: attempt `i + 1`
    /// is `retries[i]`, and the last attempt (`attempts`) is the entry's own
    /// outcome. Empty for a step that succeeded or failed at its first
    /// attempt (and for entries written before retries were journaled).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retries: Vec<Retry>,
}

/// One failed attempt of a step that was retried: when it ran, why it
/// failed, and when the next attempt began (the time between is the
/// backoff wait, with any wait for a resource's place).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Retry {
    /// When the attempt began.
    pub started_at: SystemTime,
    /// When it failed.
    pub failed_at: SystemTime,
    /// When the next attempt began.
    pub retried_at: SystemTime,
    /// The failure's text.
    pub error: String,
}

impl Retry {
    /// An attempt that ran from `started_at` to `failed_at` with `error`,
    /// followed by the next attempt at `retried_at`.
    pub fn new(
        started_at: SystemTime,
        failed_at: SystemTime,
        retried_at: SystemTime,
        error: impl Into<String>,
    ) -> Self {
        Self {
            started_at,
            failed_at,
            retried_at,
            error: error.into(),
        }
    }
}

impl StepRecord {
    /// The entry of step `key`, which gave `outcome` after `attempts`
    /// attempts, the first started at `started_at`, the last ended at
    /// `finished_at`.
    pub fn new(
        key: StepKey,
        outcome: StepOutcome,
        attempts: u32,
        started_at: SystemTime,
        finished_at: SystemTime,
    ) -> Self {
        Self {
            key,
            outcome,
            attempts,
            started_at,
            finished_at,
            retries: Vec::new(),
        }
    }

    /// This entry with the failed attempts `retries` before its last.
    #[must_use]
    pub fn with_retries(mut self, retries: Vec<Retry>) -> Self {
        self.retries = retries;
        self
    }
}

/// What a finished step gave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StepOutcome {
    /// The output, serialized.
    Completed(Value),
    /// The step failed for good: its last failure, as the journal keeps it.
    /// A resumed run gets this failure back without running the step again.
    Failed(FailedStep),
    /// The step failed for good and its `.fallback(..)` gave this value
    /// instead. It replays like an output, but nothing is compensated for it:
    /// the step's own effect did not happen.
    FellBack(Value),
}

/// What the journal keeps of a step that failed for good: enough to give a
/// resumed run the same failure without running the step again.
///
/// Rows written by older builds held the failure's text alone; they read
/// back as a [permanent](ErrorClass::Permanent) failure of
/// [`FailureCause::Other`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FailedStep {
    /// The failure's text.
    pub message: String,
    /// Whether it was transient or permanent when it failed the step.
    pub class: ErrorClass,
    /// What failed.
    pub cause: FailureCause,
}

/// What made a step fail for good, as journaled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FailureCause {
    /// The step's own error: encoded when its type implements serde's
    /// `Serialize` and `DeserializeOwned` (a resumed run gets the very value
    /// back as [`StepFailure::Error`](crate::StepFailure::Error)), else
    /// `None` (it gets
    /// [`StepFailure::FailedBefore`](crate::StepFailure::FailedBefore) with
    /// the message and class).
    Error(Option<Value>),
    /// The last attempt timed out after this long.
    TimedOut(std::time::Duration),
    /// The last attempt panicked with this message.
    Panicked(String),
    /// Anything else: an open breaker, a child run, an unknown resource.
    Other,
}

impl FailedStep {
    /// A failure with text `message`, of `class`, caused by `cause`.
    pub fn new(message: impl Into<String>, class: ErrorClass, cause: FailureCause) -> Self {
        Self {
            message: message.into(),
            class,
            cause,
        }
    }

    /// A failure known only by its text (as older builds journaled it).
    pub fn from_message(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            class: ErrorClass::Permanent,
            cause: FailureCause::Other,
        }
    }
}

impl std::fmt::Display for FailedStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A failed step's entry: the record, or the bare text older builds wrote.
/// Read field by field (not through an untagged enum, whose buffering the
/// journal's values do not survive).
impl<'de> Deserialize<'de> for FailedStep {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FailedStepVisitor)
    }
}

struct FailedStepVisitor;

impl<'de> serde::de::Visitor<'de> for FailedStepVisitor {
    type Value = FailedStep;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a failed step's record or its text")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<FailedStep, E> {
        Ok(FailedStep::from_message(text))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<FailedStep, A::Error> {
        use serde::de::Error as _;
        let (mut message, mut class, mut cause) = (None, None, None);
        while let Some(field) = map.next_key::<String>()? {
            match field.as_str() {
                "message" => message = Some(map.next_value()?),
                "class" => class = Some(map.next_value()?),
                "cause" => cause = Some(map.next_value()?),
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(FailedStep {
            message: message.ok_or_else(|| A::Error::missing_field("message"))?,
            class: class.ok_or_else(|| A::Error::missing_field("class"))?,
            cause: cause.ok_or_else(|| A::Error::missing_field("cause"))?,
        })
    }
}

impl StepOutcome {
    /// The failure's text, if the step failed.
    pub fn failure(&self) -> Option<&str> {
        match self {
            Self::Failed(failed) => Some(&failed.message),
            Self::Completed(_) | Self::FellBack(_) => None,
        }
    }

    /// The value the step gave its workflow, if it gave one.
    pub fn value(&self) -> Option<&Value> {
        match self {
            Self::Completed(value) | Self::FellBack(value) => Some(value),
            Self::Failed(_) => None,
        }
    }

    /// What the entry holds, as text: its value, or its failure's message.
    pub fn text(&self) -> String {
        match self {
            Self::Completed(value) | Self::FellBack(value) => value.to_string(),
            Self::Failed(failed) => failed.message.clone(),
        }
    }
}
