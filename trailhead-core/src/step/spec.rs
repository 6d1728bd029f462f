//! The fixed part of one step site: which step it is and how it runs.

use crate::StepPolicy;
use crate::key::KeyRef;

/// Step `name` at loop indices `path`, run under `policy`: what a step site
/// passes to every step entry point ([`RunContext::step`](crate::RunContext),
/// `step_once`, `step_blocking`) besides its function and error closures.
///
/// Generated code builds it once per site; it is a few words passed by value.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct StepSpec<'a> {
    /// The step's name, unique in its workflow.
    pub name: &'static str,
    /// The indices of the loops around the step, outermost first.
    pub path: &'a [u32],
    /// Its retries, timeout, resource, breaker and fallback.
    pub policy: StepPolicy,
    /// Its arguments described for the debugger (`Debug` text, or the type's
    /// name), when the engine debugs.
    pub arguments: Option<&'a [String]>,
    /// The step runs in a stream loop's body: its output is not journaled
    /// (the loop's checkpoint is), and a resumed run runs it again.
    pub streamed: bool,
}

impl<'a> StepSpec<'a> {
    /// Step `name` at loop indices `path`, run under `policy`.
    #[must_use]
    pub const fn new(name: &'static str, path: &'a [u32], policy: StepPolicy) -> Self {
        Self {
            name,
            path,
            policy,
            arguments: None,
            streamed: false,
        }
    }

    /// The same step in a stream loop's body (see
    /// [`stream`](crate::stream)): not journaled, never replayed.
    #[must_use]
    pub const fn streamed(mut self) -> Self {
        self.streamed = true;
        self
    }

    /// The same step with its arguments described (see
    /// [`RunContext::debugging`](crate::RunContext)).
    #[must_use]
    pub const fn described(mut self, arguments: Option<&'a [String]>) -> Self {
        self.arguments = arguments;
        self
    }

    /// The step's journal key.
    pub(crate) fn key(&self) -> KeyRef<'a> {
        KeyRef {
            name: self.name,
            path: self.path,
        }
    }
}
