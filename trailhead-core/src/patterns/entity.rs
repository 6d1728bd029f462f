//! Entity: a long-lived workflow that owns a piece of state (an account, a
//! cart, a device) and handles the messages sent to it one at a time.
//!
//! Use it when many changes to one thing must be applied in order, each
//! exactly once, and the thing lives for months. Your state implements
//! [`Entity`]: how a message changes it ([`Entity::apply`]) and which
//! message ends it ([`Entity::is_stop`]). [`entity`] waits for the signal
//! `"message"`, applies each in a step, and after every
//! [`Entity::HISTORY`] messages continues as new with the state it reached
//! (see [Continuing as new](crate::workflow!#continuing-as-new)), so its
//! journal holds one generation's entries, however many messages pass. A
//! stop message ends the run with the final state.
//!
//! Messages are sent with the instance's typed sender,
//! `entity::<E>::signal_message(&engine, &run, message)`, or
//! `engine.signal(&run, "message", message)`. The store keeps them in the
//! order sent until the run receives them: a message sent while the run is
//! between two generations, or while no process runs it, is received by
//! the next generation.
//!
//! # Policy knobs
//!
//! - [`Entity::HISTORY`]: messages per generation (default 1,000): the
//!   journal's bound, against the cost of one more store write per
//!   generation;
//! - [`Entity::RETRY`]: how often applying one message is attempted before
//!   the entity fails (default: once).
//!
//! # What is journaled, what a resumed run redoes
//!
//! Message `i` of a generation is journaled when received (`message[i]`)
//! and the state it gave when applied (`apply[i]`); a new generation's
//! journal starts with one entry, `~generation`, its input the state and
//! the count of messages handled so far. A resumed run replays its
//! generation's messages from the journal (applying none twice) and goes on
//! with the next one sent; a run stopped while applying a message applies
//! that one again (the message itself is journaled, so it is not lost).
//!
//! The flowchart is [`entity::MERMAID`](entity::MERMAID), or per instance
//! `<entity<E> as Workflow>::mermaid()`.
//!
//! # Examples
//!
//! ```
//! # extern crate trailhead_core as trailhead;
//! use trailhead::patterns::entity::{Entity, entity};
//! use trailhead::{Engine, Error};
//!
//! /// A bank account: deposits, until it is closed (`None`).
//! #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
//! struct Account { balance: u64 }
//!
//! impl Entity for Account {
//!     type Message = Option<u64>;
//!     const HISTORY: u64 = 2;
//!     fn is_stop(message: &Option<u64>) -> bool { message.is_none() }
//!     async fn apply(&self, deposit: Option<u64>) -> Result<Account, Error> {
//!         Ok(Account { balance: self.balance + deposit.unwrap_or(0) })
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let engine = Engine::new();
//! let handle = engine.start(entity::<Account>::default(), (Account { balance: 0 }, 0)).await.unwrap();
//! for deposit in [Some(5), Some(10), Some(20), None] {
//!     entity::<Account>::signal_message(&engine, handle.id(), deposit).await.unwrap();
//! }
//! assert_eq!(handle.result().await.unwrap(), Account { balance: 35 });
//! assert!(entity::<Account>::MERMAID.contains("apply"));
//! # }
//! ```

use std::future::Future;

use crate::{Data, Error, RetryPolicy};

/// The state of an entity and how messages change it.
pub trait Entity: Data + Sized {
    /// What is sent to the entity (cloned for each attempt to apply it).
    type Message: Data + Clone;

    /// Messages handled per generation before the run continues as new
    /// (0 is read as 1: a generation handles at least one message).
    const HISTORY: u64 = 1_000;

    /// How often applying one message is attempted when it fails.
    const RETRY: RetryPolicy = RetryPolicy::attempts(1);

    /// Whether `message` ends the entity (it is not applied).
    fn is_stop(message: &Self::Message) -> bool;

    /// The state after `message`.
    fn apply(&self, message: Self::Message) -> impl Future<Output = Result<Self, Error>> + Send;
}

crate::workflow! {
    /// Handles the messages sent to `state` until a stop message, `handled`
    /// of them so far (across generations); gives the final state.
    pub workflow entity<E: Entity>(state: E, handled: u64) -> Result<E, Error> {
        let mut state = state;
        let mut handled = handled;
        for _ in 0..E::HISTORY.max(1) {
            let message: E::Message = signal "message";
            if E::is_stop(&message) {
                return Ok(state);
            }
            state = step state.apply(message.clone()).retry(E::RETRY);
            handled += 1;
        }
        continue_as_new(state, handled)
    }
}
