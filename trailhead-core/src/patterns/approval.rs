//! Human approval: a person says yes or no before an action runs, with a
//! reminder, an escalation and a final timeout.
//!
//! Use it when a workflow must not go on without someone's consent (a
//! refund over a limit, a deployment to production, a contract). The action
//! is any workflow `W`; [`with_approval`] runs it as a child run only once
//! approved:
//!
//! 1. it notifies the approver (the step `request`, through your
//!    [`Notify`]) and waits for the signal `"approval"` (an [`Answer`]) at
//!    most [`ApprovalRequest::wait`];
//! 2. no answer: it sends a reminder (`reminder`) and waits
//!    [`ApprovalRequest::reminder_wait`];
//! 3. still none: it escalates to [`ApprovalRequest::escalate_to`]
//!    (`escalation`) and waits [`ApprovalRequest::escalation_wait`];
//! 4. still none: it ends with [`Decision::TimedOut`], without running `W`.
//!
//! An approval runs `call W(input)` and ends with [`Decision::Approved`]
//! holding `W`'s output; a rejection ends with [`Decision::Rejected`] and
//! its reason. Anyone may answer at any stage (the answer names who).
//! Answers are sent with the instance's typed sender:
//! `with_approval::<W, N>::signal_approval(&engine, &run, Answer::approve("ada"))`.
//!
//! # Policy knobs
//!
//! The three waits and the two people, in [`ApprovalRequest`] (built with
//! [`ApprovalRequest::new`], which waits a day, a day and a day), and the
//! notifier `N` itself: an email, a chat message, a ticket.
//!
//! # What is journaled, what a resumed run redoes
//!
//! Each notification is a step (`request`, `reminder`, `escalation`), each
//! wait a signal site (`approval`, `approval#2`, `approval#3`) whose answer
//! is journaled, and the action is a child run journaled under `W`'s call
//! key. A signal sent while no process runs the workflow is kept by the
//! store until the run receives it. A resumed run sends no notification
//! twice; the wait it was in starts again from the resume (a signal's
//! timeout counts from when the current process began waiting).
//!
//! The flowchart is [`with_approval::MERMAID`](with_approval::MERMAID), or
//! per instance `<with_approval<W, N> as Workflow>::mermaid()`.
//!
//! # Examples
//!
//! ```
//! # extern crate trailhead_core as trailhead;
//! use std::sync::Mutex;
//! use std::time::Duration;
//! use trailhead::patterns::approval::{Answer, ApprovalRequest, Decision, Notice, Notify, with_approval};
//! use trailhead::{Engine, Error, workflow};
//!
//! static SENT: Mutex<Vec<String>> = Mutex::new(Vec::new());
//!
//! /// Notifies by "email".
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Email;
//!
//! impl Notify for Email {
//!     async fn notify(&self, notice: Notice) -> Result<(), Error> {
//!         SENT.lock().unwrap().push(format!("{:?} to {}", notice.stage, notice.to));
//!         Ok(())
//!     }
//! }
//!
//! async fn pay(cents: u64) -> Result<u64, Error> { Ok(cents) }
//!
//! workflow! {
//!     /// The action that needs approval.
//!     workflow refund(cents: u64) -> Result<u64, Error> {
//!         Ok(step pay(cents))
//!     }
//! }
//!
//! type RefundWithApproval = with_approval<refund, Email>;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let engine = Engine::new();
//! let request = ApprovalRequest::new("refund 5,000", "ada", "grace", Email)
//!     .waits(Duration::from_secs(60), Duration::from_secs(60), Duration::from_secs(60));
//! let handle = engine.start(RefundWithApproval::default(), (request, 5_000)).await.unwrap();
//! RefundWithApproval::signal_approval(&engine, handle.id(), Answer::approve("ada")).await.unwrap();
//! let decision = handle.result().await.unwrap();
//! assert_eq!(decision, Decision::Approved { by: "ada".into(), output: 5_000 });
//! assert_eq!(*SENT.lock().unwrap(), ["Request to ada"]);
//! assert!(RefundWithApproval::MERMAID.contains("escalation"));
//! # }
//! ```

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Data, Error, Workflow};

/// Sends the approval's notifications: your email, chat or ticket step.
pub trait Notify: Data {
    /// Sends `notice` to `notice.to`.
    fn notify(&self, notice: Notice) -> impl Future<Output = Result<(), Error>> + Send;
}

/// Which notification a [`Notice`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// The first request, to the approver.
    Request,
    /// The reminder, to the approver, after no answer in
    /// [`ApprovalRequest::wait`].
    Reminder,
    /// The escalation, to [`ApprovalRequest::escalate_to`], after no answer
    /// in [`ApprovalRequest::reminder_wait`] either.
    Escalation,
}

/// One notification: who is asked, about what, at which stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The stage.
    pub stage: Stage,
    /// Who is notified.
    pub to: String,
    /// What is to be approved.
    pub subject: String,
    /// How long this stage waits for an answer.
    pub answer_within: Duration,
}

/// What needs approval, by whom, how to tell them and how long to wait.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest<N> {
    /// What is to be approved, for the notifications.
    pub subject: String,
    /// Who is asked first, and reminded.
    pub approver: String,
    /// Who is asked when the approver does not answer.
    pub escalate_to: String,
    /// How notifications are sent.
    pub notifier: N,
    /// How long the first request waits for an answer.
    pub wait: Duration,
    /// How long the reminder waits.
    pub reminder_wait: Duration,
    /// How long the escalation waits, before [`Decision::TimedOut`].
    pub escalation_wait: Duration,
}

const DAY: Duration = Duration::from_secs(24 * 3_600);

impl<N> ApprovalRequest<N> {
    /// Asks `approver` about `subject` through `notifier`, escalating to
    /// `escalate_to`; a day for each wait.
    pub fn new(
        subject: impl Into<String>,
        approver: impl Into<String>,
        escalate_to: impl Into<String>,
        notifier: N,
    ) -> Self {
        Self {
            subject: subject.into(),
            approver: approver.into(),
            escalate_to: escalate_to.into(),
            notifier,
            wait: DAY,
            reminder_wait: DAY,
            escalation_wait: DAY,
        }
    }

    /// The same with these waits: for the request, after the reminder and
    /// after the escalation.
    #[must_use]
    pub fn waits(self, wait: Duration, reminder_wait: Duration, escalation_wait: Duration) -> Self {
        Self {
            wait,
            reminder_wait,
            escalation_wait,
            ..self
        }
    }

    /// The notification of `stage`.
    #[must_use]
    pub fn notice(&self, stage: Stage) -> Notice {
        let (to, answer_within) = match stage {
            Stage::Request => (&self.approver, self.wait),
            Stage::Reminder => (&self.approver, self.reminder_wait),
            Stage::Escalation => (&self.escalate_to, self.escalation_wait),
        };
        Notice {
            stage,
            to: to.clone(),
            subject: self.subject.clone(),
            answer_within,
        }
    }
}

/// An answer, sent as the signal `"approval"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    /// Yes: the action runs.
    Approve {
        /// Who approved.
        by: String,
    },
    /// No: the action does not run.
    Reject {
        /// Who rejected.
        by: String,
        /// Why.
        reason: String,
    },
}

impl Answer {
    /// `by` approves.
    pub fn approve(by: impl Into<String>) -> Self {
        Self::Approve { by: by.into() }
    }

    /// `by` rejects, because of `reason`.
    pub fn reject(by: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Reject {
            by: by.into(),
            reason: reason.into(),
        }
    }
}

/// How an approval ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision<T> {
    /// Approved: the action ran and gave `output`.
    Approved {
        /// Who approved.
        by: String,
        /// The action's output.
        output: T,
    },
    /// Rejected: the action did not run.
    Rejected {
        /// Who rejected.
        by: String,
        /// Why.
        reason: String,
    },
    /// Nobody answered, after the request, the reminder and the
    /// escalation: the action did not run.
    TimedOut,
}

crate::workflow! {
    /// Asks for approval of `request`, then runs `W` on `input` if given.
    pub workflow with_approval<W, N>(request: ApprovalRequest<N>, input: W::Input) -> Result<Decision<W::Output>, Error>
    where
        W: Workflow<Error = Error>,
        W::Input: Data,
        W::Output: Data,
        N: Notify,
    {
        let answer = sequential {
            step request.notifier.notify(request.notice(Stage::Request)).name("request");
            let first: Option<Answer> = signal "approval".timeout(request.wait);
            match first {
                Some(answer) => Some(answer),
                None => sequential {
                    step request.notifier.notify(request.notice(Stage::Reminder)).name("reminder");
                    let second: Option<Answer> = signal "approval".timeout(request.reminder_wait);
                    match second {
                        Some(answer) => Some(answer),
                        None => sequential {
                            step request.notifier.notify(request.notice(Stage::Escalation)).name("escalation");
                            let third: Option<Answer> = signal "approval".timeout(request.escalation_wait);
                            third
                        },
                    }
                },
            }
        };
        match answer {
            Some(Answer::Approve { by }) => {
                let output = call W(input);
                Ok(Decision::Approved { by, output })
            }
            Some(Answer::Reject { by, reason }) => Ok(Decision::Rejected { by, reason }),
            None => Ok(Decision::TimedOut),
        }
    }
}
