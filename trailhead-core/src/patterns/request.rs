//! Request/response: one workflow asks another and waits for its answer.
//!
//! Use it when a run must ask something of a long-lived run (an
//! [entity](super::entity) that owns a counter, a stock level, a session)
//! and go on with the answer. [`ask`] sends a [`Request`] carrying its own
//! run id to the responder's signal `"request"` (or the one your
//! [`Mailbox::REQUESTS`] names: `"message"` for an entity), then waits for
//! its signal `"response"`, a [`Response`]. The responder receives requests
//! like any signal (`let request: Request<Q> = signal "request";`, or as an
//! entity's messages) and answers with the step [`respond`], which signals the
//! requester's run. Each requester waits on its own run, so concurrent
//! requesters get their own answers; the [`Request::id`] tells them apart
//! on the responder's side (it is the same for every attempt of the
//! sending step, so a responder can recognise a request sent twice).
//!
//! # Reaching the engine from a step
//!
//! A step has no handle on the engine that runs it: sending a signal from
//! one goes through a [`Mailbox`], a value you implement and pass in (it is
//! journaled with the run's input, so it holds no engine itself, only how
//! to find one). The usual implementation keeps the engine in a
//! `static OnceLock<Engine>` set at start-up, as in the example below.
//!
//! # Policy knobs
//!
//! - `within` ([`ask`]'s last parameter): how long to wait for the answer,
//!   then [`RequestError::NoResponse`];
//! - your [`Mailbox`]: which engine, and anything else about delivery.
//!
//! # What is journaled, what a resumed run redoes
//!
//! The sending step `request` is journaled once the store took the request
//! (a signal is kept durably until received); the answer is journaled
//! under `response` when received. A requester stopped after sending and
//! resumed does not send again and receives the answer whenever it was
//! sent (the store keeps it); its wait starts again from the resume (a
//! signal's timeout counts from when the current process began waiting).
//! A requester stopped while sending sends again, with the same
//! [`Request::id`]. A request to a run that has finished, or does not
//! exist, fails at once with [`RequestError::ResponderGone`].
//!
//! The flowchart is [`ask::MERMAID`](ask::MERMAID), or per instance
//! `<ask<M, Q, A> as Workflow>::mermaid()`.
//!
//! # Examples
//!
//! ```
//! # extern crate trailhead_core as trailhead;
//! use std::sync::OnceLock;
//! use std::time::Duration;
//! use trailhead::patterns::request::{Mailbox, Request, ask, respond};
//! use trailhead::{Engine, EngineError, Error, RunId, workflow};
//!
//! static ENGINE: OnceLock<Engine> = OnceLock::new();
//!
//! /// Signals runs of the engine set at start-up.
//! #[derive(Clone, Copy, serde::Serialize, serde::Deserialize)]
//! struct Post;
//!
//! impl Mailbox for Post {
//!     async fn signal<T: serde::Serialize + Send + Sync>(
//!         &self, run: &RunId, name: &str, value: T,
//!     ) -> Result<(), EngineError> {
//!         let engine = ENGINE.get().expect("set at start-up");
//!         engine.signal(run, name, value).await
//!     }
//! }
//!
//! workflow! {
//!     /// Answers one question: the length of the word it is sent.
//!     workflow counter(post: Post) -> Result<(), Error> {
//!         let question: Request<String> = signal "request";
//!         step respond(&post, &question, question.body.len());
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let engine = ENGINE.get_or_init(Engine::new);
//! let responder = engine.start(counter, Post).await.unwrap();
//! let within = Duration::from_secs(10);
//! let length = ask::<Post, String, usize>::run(
//!     engine, Post, responder.id().to_string(), "hello".to_owned(), within,
//! ).await.unwrap();
//! assert_eq!(length, 5);
//! assert!(ask::<Post, String, usize>::MERMAID.contains("request"));
//! # }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Data, EngineError, RunId, StepError, StepFailure, StoreError, current_step};

/// Sends a signal to a run, from inside a step: your way to the engine.
pub trait Mailbox: Data {
    /// The responder's signal requests are sent on: `"request"`, or
    /// `"message"` to ask an [entity](super::entity) (its requests are its
    /// messages).
    const REQUESTS: &'static str = "request";

    /// Sends signal `name` with `value` to run `run`
    /// ([`Engine::signal`](crate::Engine::signal) on your engine).
    fn signal<T: Serialize + Send + Sync>(
        &self,
        run: &RunId,
        name: &str,
        value: T,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;
}

/// A request, as the responder receives it on its signal `"request"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request<Q> {
    /// Which request this is: the sending step's `"{run}/{step}"`, the same
    /// for every attempt to send it.
    pub id: String,
    /// The run to answer: the requester's.
    pub reply_to: String,
    /// What is asked.
    pub body: Q,
}

/// An answer, as the requester receives it on its signal `"response"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response<A> {
    /// The [`Request::id`] it answers.
    pub id: String,
    /// The answer.
    pub body: A,
}

/// Why [`ask`] got no answer.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The responder has finished (or never existed): nobody will answer.
    #[error("run `{responder}` cannot answer: it has finished or does not exist")]
    ResponderGone {
        /// The responder's run.
        responder: String,
    },
    /// The request could not be sent for another reason.
    #[error(transparent)]
    Send(StepError<SendError>),
    /// No answer came in time.
    #[error("run `{responder}` did not answer within {within:?}")]
    NoResponse {
        /// The responder's run.
        responder: String,
        /// How long the requester waited.
        within: Duration,
    },
    /// The answer could not be journaled.
    #[error(transparent)]
    Journal(#[from] StepError<Infallible>),
}

/// Why [`send_request`] failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// It was called outside a step: there is no run to answer to.
    #[error("send_request was called outside a step: there is no run to answer to")]
    NotInStep,
    /// The mailbox failed to send.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StepError<SendError>> for RequestError {
    fn from(error: StepError<SendError>) -> Self {
        match &error.failure {
            StepFailure::Error(SendError::Engine(EngineError::Store(
                StoreError::RunFinished { run } | StoreError::UnknownRun { run },
            ))) => RequestError::ResponderGone {
                responder: run.to_string(),
            },
            _ => RequestError::Send(error),
        }
    }
}

/// A step: sends `body` to run `to`'s signal [`Mailbox::REQUESTS`], to be answered
/// to the run of the step that sends it; the request's id.
///
/// # Errors
///
/// What `mailbox` gives: for [`Engine::signal`](crate::Engine::signal), a
/// [`StoreError::RunFinished`] or [`StoreError::UnknownRun`] when `to`
/// cannot answer, as [`SendError::Engine`]; [`SendError::NotInStep`] when
/// called outside a step (there is no run to answer to).
pub async fn send_request<M: Mailbox, Q: Data + Clone>(
    mailbox: &M,
    to: &str,
    body: &Q,
) -> Result<String, SendError> {
    let step = current_step().ok_or(SendError::NotInStep)?;
    let request = Request {
        id: step.step_key(),
        reply_to: step.run.to_string(),
        body: body.clone(),
    };
    let id = request.id.clone();
    mailbox
        .signal(&RunId::new(to), M::REQUESTS, request)
        .await?;
    Ok(id)
}

/// A step for the responder: answers `request` with `body`, signalling the
/// requester's run.
///
/// # Errors
///
/// What `mailbox` gives: for [`Engine::signal`](crate::Engine::signal), a
/// [`StoreError::RunFinished`] when the requester stopped waiting and ended.
pub async fn respond<M: Mailbox, Q, A: Data>(
    mailbox: &M,
    request: &Request<Q>,
    body: A,
) -> Result<(), EngineError> {
    let response = Response {
        id: request.id.clone(),
        body,
    };
    mailbox
        .signal(&RunId::new(request.reply_to.as_str()), "response", response)
        .await
}

crate::workflow! {
    /// Asks run `responder` `question` through `mailbox` and waits at most
    /// `within` for its answer.
    pub workflow ask<M, Q, A>(mailbox: M, responder: String, question: Q, within: Duration) -> Result<A, RequestError>
    where
        M: Mailbox,
        Q: Data + Clone,
        A: Data,
    {
        let answer = sequential {
            step send_request(&mailbox, &responder, &question).name("request");
            let answer: Option<Response<A>> = signal "response".timeout(within);
            answer
        };
        match answer {
            Some(response) => Ok(response.body),
            None => Err(RequestError::NoResponse { responder, within }),
        }
    }
}
