//! Step stubs: a test's value or error in place of a step's attempt.

use std::collections::HashMap;
use std::fmt::{self, Display};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde::Serialize;

use crate::key::KeyRef;
use crate::picture::Graph;
use crate::step::Journaled;
use crate::store::Value;
use crate::{ErrorClass, StepFailure, StepKey, StepPattern};

/// What a stubbed step gives instead of running: a value, an error, or one
/// of several by call.
///
/// A stub replaces each attempt of the steps it is put on
/// ([`TestEngine::stub`](super::TestEngine::stub)): the attempt is not
/// made, and the stub's outcome goes through the engine as the step's
/// would (journaled, retried by the step's policy, fallen back from, shown
/// in events and diagrams). A stubbed attempt holds no resource place and
/// is not counted by the step's breaker.
///
/// # Examples
///
/// ```
/// use trailhead_core::testing::Stub;
///
/// // Down twice, then a payment id: the step's retries are exercised.
/// let flaky = Stub::sequence([
///     Stub::fails_transiently("the provider is down"),
///     Stub::fails_transiently("the provider is down"),
///     Stub::returns("pay-1"),
/// ]);
/// # let _ = flaky;
/// ```
#[derive(Clone)]
pub struct Stub(Arc<Kind>);

enum Kind {
    Returns(Value),
    Fails {
        /// The step's own error, encoded, if the stub was given one.
        error: Option<Value>,
        message: String,
        class: ErrorClass,
    },
    Sequence(Vec<Stub>),
    With(Box<dyn Fn(&StubCall) -> Stub + Send + Sync>),
}

/// One call of a stub: which step and attempt it stands in for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StubCall {
    /// The step's key.
    pub key: StepKey,
    /// The step's attempt, from 1.
    pub attempt: u32,
    /// Which call of this stub it is, from 1, over every step it is on.
    pub call: u32,
}

impl Stub {
    /// The step gives `value` (which must decode as the step's output; if
    /// it does not, the attempt fails for good saying so).
    ///
    /// # Panics
    ///
    /// If `value` cannot be encoded (a map with non-string keys, say).
    pub fn returns(value: impl Serialize) -> Self {
        let value = Value::encode_unread(&value)
            .unwrap_or_else(|error| panic!("a stub's value must encode: {error}"));
        Self(Arc::new(Kind::Returns(value)))
    }

    /// The step fails with `error`, of the step's own error type: a step
    /// whose error type is serde's gets it back as
    /// [`StepFailure::Error`] (retried if the step's `retry_if` says so);
    /// another step gets [`StepFailure::Stubbed`] with its text, permanent.
    pub fn error<E: Serialize + Display>(error: E) -> Self {
        Self(Arc::new(Kind::Fails {
            error: Value::encode_unread(&error).ok(),
            message: error.to_string(),
            class: ErrorClass::Permanent,
        }))
    }

    /// The step fails for good with [`StepFailure::Stubbed`] and `message`.
    pub fn fails(message: impl Into<String>) -> Self {
        Self::failing(message, ErrorClass::Permanent)
    }

    /// The attempt fails with a transient [`StepFailure::Stubbed`]: the
    /// step's retry policy tries again.
    pub fn fails_transiently(message: impl Into<String>) -> Self {
        Self::failing(message, ErrorClass::Transient)
    }

    fn failing(message: impl Into<String>, class: ErrorClass) -> Self {
        Self(Arc::new(Kind::Fails {
            error: None,
            message: message.into(),
            class,
        }))
    }

    /// The first call gets the first stub, the second the second, …; the
    /// last one answers every call after.
    ///
    /// # Panics
    ///
    /// If `stubs` is empty.
    pub fn sequence(stubs: impl IntoIterator<Item = Stub>) -> Self {
        let stubs: Vec<Stub> = stubs.into_iter().collect();
        assert!(!stubs.is_empty(), "a stub sequence needs at least one stub");
        Self(Arc::new(Kind::Sequence(stubs)))
    }

    /// Each call gets the stub `answer` gives for it (by key, attempt or
    /// call number).
    pub fn with(answer: impl Fn(&StubCall) -> Stub + Send + Sync + 'static) -> Self {
        Self(Arc::new(Kind::With(Box::new(answer))))
    }

    /// What this stub gives for `call`: a value or a failure.
    fn resolve(&self, call: &StubCall) -> Resolved {
        match &*self.0 {
            Kind::Returns(value) => Resolved::Returns(value.clone()),
            Kind::Fails {
                error,
                message,
                class,
            } => Resolved::Fails {
                error: error.clone(),
                message: message.clone(),
                class: *class,
            },
            Kind::Sequence(stubs) => {
                let at = usize::try_from(call.call.saturating_sub(1)).unwrap_or(usize::MAX);
                stubs[at.min(stubs.len() - 1)].resolve(call)
            }
            Kind::With(answer) => answer(call).resolve(call),
        }
    }
}

impl fmt::Debug for Stub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            Kind::Returns(value) => f.debug_tuple("Stub::returns").field(value).finish(),
            Kind::Fails { message, class, .. } => f
                .debug_struct("Stub::fails")
                .field("message", message)
                .field("class", class)
                .finish(),
            Kind::Sequence(stubs) => f.debug_tuple("Stub::sequence").field(stubs).finish(),
            Kind::With(_) => f.write_str("Stub::with(..)"),
        }
    }
}

enum Resolved {
    Returns(Value),
    Fails {
        error: Option<Value>,
        message: String,
        class: ErrorClass,
    },
}

/// How many times a stub stood in for a step.
#[derive(Clone, Debug)]
pub struct StubCalls(Arc<AtomicU32>);

impl StubCalls {
    /// The calls so far: one per attempt it replaced.
    pub fn count(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Which steps a stub is on.
#[derive(Debug)]
enum On {
    Key(StepPattern),
    /// Steps calling the function at this path, as the workflow writes it.
    Function(String),
}

#[derive(Debug)]
struct Entry {
    on: On,
    stub: Stub,
    calls: Arc<AtomicU32>,
}

/// The stubs of a test engine, looked up at each step's first attempt.
#[derive(Debug, Default)]
pub(crate) struct Stubs {
    entries: RwLock<Vec<Entry>>,
    /// Each workflow's step sites with their target functions, from its
    /// graph, for stubs by function.
    targets: Mutex<HashMap<&'static str, HashMap<String, String>>>,
}

impl Stubs {
    pub(super) fn add_key(&self, pattern: StepPattern, stub: Stub) -> StubCalls {
        self.add(On::Key(pattern), stub)
    }

    pub(super) fn add_function(&self, path: &str, stub: Stub) -> StubCalls {
        let path: String = path.chars().filter(|c| !c.is_whitespace()).collect();
        self.add(On::Function(path), stub)
    }

    fn add(&self, on: On, stub: Stub) -> StubCalls {
        let calls = Arc::new(AtomicU32::new(0));
        let entry = Entry {
            on,
            stub,
            calls: Arc::clone(&calls),
        };
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry);
        StubCalls(calls)
    }

    /// The stub on step `key` of a run of `workflow` (whose graph is
    /// `graph`), the latest put if several match.
    pub(crate) fn find(
        &self,
        workflow: &'static str,
        key: KeyRef<'_>,
        graph: impl FnOnce() -> &'static str,
    ) -> Option<ActiveStub> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let mut graph = Some(graph);
        let mut target = None;
        let found = entries.iter().rev().find(|entry| match &entry.on {
            On::Key(pattern) => pattern.matches_ref(key),
            On::Function(path) => {
                let target = target.get_or_insert_with(|| {
                    let graph = graph.take().map_or("", |graph| graph());
                    self.target(workflow, key.name, graph)
                });
                target.as_deref() == Some(path.as_str())
            }
        })?;
        Some(ActiveStub {
            stub: found.stub.clone(),
            calls: Arc::clone(&found.calls),
        })
    }

    /// The function the step at site `site` of `workflow` calls.
    fn target(&self, workflow: &'static str, site: &str, graph: &str) -> Option<String> {
        let mut targets = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
        let sites = targets.entry(workflow).or_insert_with(|| {
            let Ok(graph) = Graph::from_json(graph) else {
                return HashMap::new();
            };
            graph
                .step_nodes()
                .filter_map(|(site, node)| Some((site.to_owned(), node.target.clone()?)))
                .collect()
        });
        sites.get(site).cloned()
    }
}

/// A stub found for one step: it answers each of its attempts.
pub(crate) struct ActiveStub {
    stub: Stub,
    calls: Arc<AtomicU32>,
}

impl ActiveStub {
    /// Attempt `attempt` of step `key`, answered by the stub.
    pub(crate) fn attempt<T: Journaled, E>(
        &self,
        key: KeyRef<'_>,
        attempt: u32,
        decode_error: impl Fn(&Value, &std::cell::Cell<Option<E>>),
    ) -> Result<T, StepFailure<E>> {
        let call = StubCall {
            key: key.to_key(),
            attempt,
            call: self.calls.fetch_add(1, Ordering::SeqCst) + 1,
        };
        match self.stub.resolve(&call) {
            Resolved::Returns(value) => {
                T::from_journal(&value).map_err(|error| StepFailure::Stubbed {
                    message: format!(
                        "the stub's value does not decode as the output of `{}`: {error}",
                        call.key
                    ),
                    class: ErrorClass::Permanent,
                })
            }
            Resolved::Fails {
                error,
                message,
                class,
            } => {
                let typed = error.and_then(|value| {
                    let slot = std::cell::Cell::new(None);
                    decode_error(&value, &slot);
                    slot.into_inner()
                });
                Err(typed.map_or(StepFailure::Stubbed { message, class }, StepFailure::Error))
            }
        }
    }
}
