//! A run's record and its state: running, being undone, or ended, with how.
//!
//! [`RunState`] is the one place a run's standing is kept, so no impossible
//! pair can be written down: only an ended run has an outcome and a time it
//! ended, and a run being undone can only be on its way to the ends a
//! rollback leads to ([`AfterCompensation`]). [`RunStatus`] is its small
//! `Copy` discriminant, for filtering ([`Store::list_runs`](super::Store::list_runs)).

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::store::Value;
use crate::{RunId, StepKey};

/// Everything recorded about one run, apart from its journal.
///
/// Fields are public to read; a store outside this crate builds one with
/// [`RunRecord::new`] and the `with_*` methods.
///
/// # Examples
///
/// ```
/// use trailhead_core::RunId;
/// use trailhead_core::store::{RunRecord, RunState, RunStatus, Value};
///
/// # fn main() -> Result<(), trailhead_core::CodecError> {
/// let record = RunRecord::new(RunId::new("order-7"), "order", Value::encode(&7_u32)?)
///     .with_definition_hash(0x5eed);
/// assert_eq!(record.state, RunState::Running);
/// assert_eq!(record.status(), RunStatus::Running);
/// assert_eq!(record.finished_at(), None);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunRecord {
    /// The run's id.
    pub id: RunId,
    /// The workflow's name.
    pub workflow: String,
    /// The structural hash of the workflow definition the run started under.
    pub definition_hash: u64,
    /// The run that started this one with `call`, if any.
    pub parent: Option<RunId>,
    /// The input, serialized.
    pub input: Value,
    /// Where the run is, and how it ended once it has.
    pub state: RunState,
    /// The workflow's Mermaid flowchart.
    pub mermaid: String,
    /// When the run was created.
    pub created_at: SystemTime,
    /// Whether cancelling the run was asked ([`Store::request_cancel`](super::Store::request_cancel))
    /// while it was unfinished: the worker that drives it, or claims or
    /// opens it next, cancels it. Cleared when the run is reopened.
    #[serde(default)]
    pub cancel_requested: bool,
}

impl RunRecord {
    /// A running top-level run `id` of `workflow` with `input`, created now,
    /// with definition hash 0 and no flowchart.
    pub fn new(id: RunId, workflow: impl Into<String>, input: Value) -> Self {
        Self {
            id,
            workflow: workflow.into(),
            definition_hash: 0,
            parent: None,
            input,
            state: RunState::Running,
            mermaid: String::new(),
            created_at: SystemTime::now(),
            cancel_requested: false,
        }
    }

    /// This record, of a run started under definition `hash`.
    #[must_use]
    pub fn with_definition_hash(mut self, hash: u64) -> Self {
        self.definition_hash = hash;
        self
    }

    /// This record, of a child run started by `parent`.
    #[must_use]
    pub fn with_parent(mut self, parent: RunId) -> Self {
        self.parent = Some(parent);
        self
    }

    /// This record, with the workflow's Mermaid flowchart.
    #[must_use]
    pub fn with_mermaid(mut self, mermaid: impl Into<String>) -> Self {
        self.mermaid = mermaid.into();
        self
    }

    /// This record, of a run created at `at`.
    #[must_use]
    pub fn with_created_at(mut self, at: SystemTime) -> Self {
        self.created_at = at;
        self
    }

    /// This record, in `state`.
    #[must_use]
    pub fn with_state(mut self, state: RunState) -> Self {
        self.state = state;
        self
    }

    /// This record, of a run whose cancelling was asked (see
    /// [`cancel_requested`](RunRecord::cancel_requested)).
    #[must_use]
    pub fn with_cancel_requested(mut self) -> Self {
        self.cancel_requested = true;
        self
    }

    /// Where the run is, as the discriminant stores filter by.
    pub fn status(&self) -> RunStatus {
        self.state.status()
    }

    /// How the run ended, once it has.
    pub fn outcome(&self) -> Option<&RunOutcome> {
        self.state.outcome()
    }

    /// When the run ended, once it has.
    pub fn finished_at(&self) -> Option<SystemTime> {
        self.state.finished_at()
    }

    /// Why the run failed, if it did: its error, or which compensation
    /// failed and how (the full text, with its causes).
    pub fn error(&self) -> Option<String> {
        match self.outcome()? {
            RunOutcome::Failed(error) => Some(error.clone()),
            RunOutcome::CompensationFailed { step, error, .. } => {
                Some(format!("the compensation of step `{step}` failed: {error}"))
            }
            _ => None,
        }
    }

    /// Why the run is (or was) undone, if it is: the failure or cancel that
    /// began its rollback.
    pub fn undone_for(&self) -> Option<&str> {
        match &self.state {
            RunState::Compensating(then) => Some(then.cause()),
            RunState::Ended {
                outcome:
                    RunOutcome::CompensationFailed { cause, .. } | RunOutcome::Compensated { cause, .. },
                ..
            } => Some(cause),
            _ => None,
        }
    }
}

/// Where a run is: running, being undone, or ended (and then how and when).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RunState {
    /// Started and not ended.
    Running,
    /// Failed or was cancelled (or, a child run, is undone with its parent)
    /// and is running the compensations of its completed steps; it ends as
    /// this says once they ran. Unfinished: a resumed engine finishes the
    /// rollback.
    Compensating(AfterCompensation),
    /// Ended: nothing more is recorded for it.
    Ended {
        /// How it ended.
        outcome: RunOutcome,
        /// When it ended.
        at: SystemTime,
    },
}

impl RunState {
    /// The state of a run that ended with `outcome` at `at`.
    pub fn ended(outcome: RunOutcome, at: SystemTime) -> Self {
        Self::Ended { outcome, at }
    }

    /// This state's discriminant.
    pub fn status(&self) -> RunStatus {
        match self {
            Self::Running => RunStatus::Running,
            Self::Compensating(_) => RunStatus::Compensating,
            Self::Ended { outcome, .. } => outcome.status(),
        }
    }

    /// Whether the run has ended (nothing more will be recorded for it).
    pub fn is_ended(&self) -> bool {
        matches!(self, Self::Ended { .. })
    }

    /// How the run ended, once it has.
    pub fn outcome(&self) -> Option<&RunOutcome> {
        match self {
            Self::Ended { outcome, .. } => Some(outcome),
            Self::Running | Self::Compensating(_) => None,
        }
    }

    /// When the run ended, once it has.
    pub fn finished_at(&self) -> Option<SystemTime> {
        match self {
            Self::Ended { at, .. } => Some(*at),
            Self::Running | Self::Compensating(_) => None,
        }
    }
}

/// How a run that is being undone ends once its compensations all ran.
///
/// What [`Store::begin_compensation`](super::Store::begin_compensation) is
/// given; if a compensation fails for good the run ends as
/// [`RunOutcome::CompensationFailed`] instead.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AfterCompensation {
    /// It failed, with the error's text.
    Failed(String),
    /// It was cancelled.
    Cancelled,
    /// It had completed with `output`, and is undone because of `cause`
    /// (its parent run is rolled back).
    Compensated {
        /// The output it had completed with, serialized.
        output: Value,
        /// Why it is undone.
        cause: String,
    },
}

impl AfterCompensation {
    /// Why the run is undone, as text.
    pub fn cause(&self) -> &str {
        match self {
            Self::Failed(error) => error,
            Self::Cancelled => "cancelled",
            Self::Compensated { cause, .. } => cause,
        }
    }
}

impl From<AfterCompensation> for RunOutcome {
    fn from(then: AfterCompensation) -> Self {
        match then {
            AfterCompensation::Failed(error) => Self::Failed(error),
            AfterCompensation::Cancelled => Self::Cancelled,
            AfterCompensation::Compensated { output, cause } => Self::Compensated { output, cause },
        }
    }
}

impl TryFrom<RunOutcome> for AfterCompensation {
    /// An outcome a rollback does not lead to, given back.
    type Error = RunOutcome;

    fn try_from(outcome: RunOutcome) -> Result<Self, RunOutcome> {
        match outcome {
            RunOutcome::Failed(error) => Ok(Self::Failed(error)),
            RunOutcome::Cancelled => Ok(Self::Cancelled),
            RunOutcome::Compensated { output, cause } => Ok(Self::Compensated { output, cause }),
            other @ (RunOutcome::Completed(_) | RunOutcome::CompensationFailed { .. }) => {
                Err(other)
            }
        }
    }
}

/// Where a run is, without the details: what runs are filtered by.
///
/// Derived from a [`RunState`] ([`RunState::status`], [`RunRecord::status`]),
/// never kept beside one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RunStatus {
    /// Started and not finished.
    Running,
    /// Returned its output.
    Completed,
    /// Returned an error (or could not finish).
    Failed,
    /// Was cancelled.
    Cancelled,
    /// Failed or was cancelled, and is running the compensations of its
    /// completed steps ([`RunState::Compensating`] says how it will end).
    /// Unfinished: a resumed engine finishes the rollback.
    Compensating,
    /// A compensation failed for good: the rollback stopped at that step, and
    /// what it would have undone is still done. Needs a person.
    CompensationFailed,
    /// Completed, then undone: a child run whose parent's rollback ran the
    /// compensations of its completed steps. Its output stays in its outcome
    /// ([`RunOutcome::Compensated`]), but none of its effects do.
    Compensated,
}

impl RunStatus {
    /// Every status, in the order tools list them.
    pub const ALL: [Self; 7] = [
        Self::Running,
        Self::Compensating,
        Self::Completed,
        Self::Failed,
        Self::Cancelled,
        Self::Compensated,
        Self::CompensationFailed,
    ];

    /// The status [`name`](Self::name) names, if one does.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.name() == name)
    }

    /// The status's name as stores keep it and tools print it:
    /// `running`, `completed`, `failed`, `cancelled`, `compensating`,
    /// `compensation_failed`, `compensated`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Compensating => "compensating",
            Self::CompensationFailed => "compensation_failed",
            Self::Compensated => "compensated",
        }
    }
}

impl RunStatus {
    /// Whether the run has ended (nothing more will be recorded for it).
    pub fn is_ended(self) -> bool {
        !matches!(self, Self::Running | Self::Compensating)
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RunOutcome {
    /// The output, serialized.
    Completed(Value),
    /// The error's text.
    Failed(String),
    /// The run was cancelled.
    Cancelled,
    /// The run failed or was cancelled (`cause`), and the compensation of
    /// step `step` then failed for good with `error`.
    CompensationFailed {
        /// The step whose compensation failed.
        step: StepKey,
        /// The compensation's last error.
        error: String,
        /// Why the run was being undone.
        cause: String,
    },
    /// The run completed with `output`, and was then undone (`cause`): its
    /// completed steps were compensated because its parent run was rolled
    /// back.
    Compensated {
        /// The output it had completed with, serialized.
        output: Value,
        /// Why it was undone.
        cause: String,
    },
}

impl RunOutcome {
    /// The status a run with this outcome has.
    pub fn status(&self) -> RunStatus {
        match self {
            Self::Completed(_) => RunStatus::Completed,
            Self::Failed(_) => RunStatus::Failed,
            Self::Cancelled => RunStatus::Cancelled,
            Self::CompensationFailed { .. } => RunStatus::CompensationFailed,
            Self::Compensated { .. } => RunStatus::Compensated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_ends_a_rollback_leads_to_are_compensating_ends() {
        let output = Value::encode(&1_u8).unwrap();
        let ends = [
            RunOutcome::Failed("boom".into()),
            RunOutcome::Cancelled,
            RunOutcome::Compensated {
                output: output.clone(),
                cause: "parent undone".into(),
            },
        ];
        for end in ends {
            let then = AfterCompensation::try_from(end.clone()).unwrap();
            assert_eq!(RunOutcome::from(then), end);
        }
        let completed = RunOutcome::Completed(output);
        assert_eq!(
            AfterCompensation::try_from(completed.clone()),
            Err(completed)
        );
    }

    #[test]
    fn the_status_and_end_time_come_from_the_state() {
        let at = SystemTime::UNIX_EPOCH;
        let compensating = RunState::Compensating(AfterCompensation::Cancelled);
        assert_eq!(compensating.status(), RunStatus::Compensating);
        assert!(!compensating.is_ended() && !compensating.status().is_ended());
        assert_eq!(compensating.outcome(), None);
        assert_eq!(compensating.finished_at(), None);
        let ended = RunState::ended(RunOutcome::Failed("boom".into()), at);
        assert_eq!(ended.status(), RunStatus::Failed);
        assert!(ended.is_ended() && ended.status().is_ended());
        assert_eq!(ended.finished_at(), Some(at));
        assert_eq!(AfterCompensation::Cancelled.cause(), "cancelled");
    }
}
