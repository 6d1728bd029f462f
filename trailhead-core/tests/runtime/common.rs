//! Helpers shared by the integration tests: hand-written workflows (what
//! `workflow!` would generate), a step error, and readable event logs.

use trailhead_core::store::Value;
use trailhead_core::{Event, EventReceiver};

/// `value` as the journal keeps it.
pub(crate) fn value<T: serde::Serialize + serde::de::DeserializeOwned>(value: T) -> Value {
    Value::encode(&value).expect("the value encodes")
}

/// The retry predicate that retries every error.
pub(crate) fn retry_any<E>(_: &E) -> bool {
    true
}

/// Implements `Workflow` for a unit struct with the given body.
macro_rules! impl_workflow {
    (
        $ty:ident($name:literal): $input:ty => $output:ty, $error:ty,
        |$ctx:ident, $in:pat_param| $body:block
    ) => {
        #[derive(Clone, Copy, Debug, Default)]
        struct $ty;

        impl ::trailhead_core::Workflow for $ty {
            type Input = $input;
            type Output = $output;
            type Error = $error;
            const NAME: &'static str = $name;
            const MERMAID: &'static str = concat!("flowchart TD\n  ", $name);
            const DEFINITION_HASH: u64 = 0x5eed;

            fn execute<'a>(
                self,
                $ctx: &'a ::trailhead_core::RunContext,
                $in: $input,
            ) -> impl ::std::future::Future<Output = ::std::result::Result<$output, $error>>
            + Send
            + 'a {
                async move $body
            }
        }
    };
}

/// A step's own error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("boom {0}")]
pub(crate) struct Boom(pub(crate) u32);

/// Every event received so far, one line each.
pub(crate) fn drain(events: &mut EventReceiver) -> Vec<String> {
    std::iter::from_fn(|| events.try_recv())
        .map(|event| describe(&event))
        .collect()
}

/// One line saying what the event is.
pub(crate) fn describe(event: &Event) -> String {
    match event {
        Event::RunStarted {
            run,
            workflow,
            parent: None,
        } => format!("{run} started ({workflow})"),
        Event::RunStarted {
            run,
            workflow,
            parent: Some(parent),
        } => format!("{run} started ({workflow}) by {parent}"),
        Event::RunCompleted { run, .. } => format!("{run} completed"),
        Event::RunFailed { run, error, .. } => format!("{run} failed: {error}"),
        Event::RunCancelled { run, .. } => format!("{run} cancelled"),
        Event::StepStarted { run, step, attempt } => format!("{run} {step}#{attempt} started"),
        Event::StepCancelled { run, step, attempt } => {
            format!("{run} {step}#{attempt} cancelled")
        }
        Event::StepCompleted {
            run, step, attempt, ..
        } => format!("{run} {step}#{attempt} completed"),
        Event::StepFailed {
            run,
            step,
            attempt,
            error,
            ..
        } => format!("{run} {step}#{attempt} failed: {error}"),
        Event::StepRetrying {
            run,
            step,
            attempt,
            delay,
            error,
        } => format!("{run} {step}#{attempt} retrying in {delay:?}: {error}"),
        Event::StepReplayed { run, step } => format!("{run} {step} replayed"),
        other => format!("{other:?}"),
    }
}
