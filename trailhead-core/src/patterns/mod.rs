//! The patterns most production workflows are made of, written once as
//! generic workflows and helpers: plug in your steps, compose, and get the
//! journal, the retries and the diagram of any workflow.
//!
//! | Pattern | Item | When to use it |
//! |---|---|---|
//! | Saga over reversible actions | [`saga`] | a list of actions that must all happen or all be undone |
//! | Scatter-gather / map-reduce | [`scatter_gather`] | ask many, combine, with a policy for the ones that fail |
//! | Poll until done | [`poll`] | wait for something outside to finish, with backoff and a deadline |
//! | Human approval | [`approval`] | a person approves, with a reminder, an escalation and a timeout |
//! | Batches | [`batch`] | process many items in chunks, one child run per chunk |
//! | Rate-limited fan-out | [`rate_limit`] | at most n items per second into an API |
//! | Race | [`race`] | the first success wins; the rest are cancelled and undone |
//! | Dead letters | [`dead_letter`] | park what fails for good, with its error, to retry later |
//! | Entity | [`entity`] | a long-lived workflow that handles messages one at a time |
//! | Request/response | [`request`] | one workflow asks another and waits for its answer |

pub mod approval;
pub mod batch;
pub mod dead_letter;
pub mod entity;
pub mod poll;
pub mod race;
pub mod rate_limit;
pub mod request;
pub mod saga;
pub mod scatter_gather;
