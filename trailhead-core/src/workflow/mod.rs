//! The [`Workflow`] trait: what `workflow!` generates and the engine runs.

use std::fmt::Display;
use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::RunContext;
use crate::step::Journaled;

pub(crate) mod instance;

/// A workflow definition: a typed async function from input to output whose
/// steps are journaled.
///
/// `workflow!` implements it for a unit struct named after the workflow (for
/// a generic workflow, a tuple struct around a marker, one instance per set
/// of type arguments); the struct is the value passed to
/// [`Engine::start`](crate::Engine::start) and to `call`. A workflow is a
/// stateless definition, so it is `Copy` and `Default`. The associated constants describe the definition: its name, its
/// Mermaid diagram and a structural hash used to refuse resuming a run under a
/// changed definition.
///
/// Writing an implementation by hand is possible (the engine's own tests do);
/// `execute` must then be deterministic outside of steps.
///
/// # Examples
///
/// ```
/// use std::future::Future;
/// use trailhead_core::{Engine, Error, RunContext, Workflow};
///
/// #[derive(Clone, Copy, Default)]
/// struct Double;
///
/// impl Workflow for Double {
///     type Input = u32;
///     type Output = u32;
///     type Error = Error;
///     const NAME: &'static str = "double";
///     const MERMAID: &'static str = "flowchart TD\n  start --> done";
///     const DEFINITION_HASH: u64 = 1;
///
///     fn execute<'a>(
///         self,
///         _ctx: &'a RunContext,
///         input: u32,
///     ) -> impl Future<Output = Result<u32, Error>> + Send + 'a {
///         async move { input.checked_mul(2).ok_or_else(|| Error::msg("overflow")) }
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let engine = Engine::new();
/// assert_eq!(engine.run(Double, 21).await.unwrap(), 42);
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a workflow",
    label = "`call` needs a workflow defined with `workflow!`"
)]
pub trait Workflow: Copy + Default + Send + Sync + 'static {
    /// The workflow's input, recorded with the run.
    type Input: Journaled;
    /// The workflow's output, recorded when the run completes.
    type Output: Journaled;
    /// The workflow's error; its text is recorded when the run fails.
    type Error: Display + Send + 'static;

    /// The workflow's name.
    const NAME: &'static str;
    /// The workflow's Mermaid flowchart.
    const MERMAID: &'static str;
    /// A structural hash of the definition.
    const DEFINITION_HASH: u64;
    /// Hashes of earlier definitions whose unfinished runs this one may resume
    /// (`#[compatible_with(0x…)]` on the workflow): a change declared safe for
    /// runs in flight.
    const COMPATIBLE_WITH: &'static [u64] = &[];
    /// Whether anything in the definition can be undone (a step with
    /// `.compensate(..)`, or a `call`): a run that fails is then rolled back.
    const COMPENSATES: bool = false;
    /// How long a run may take, from when it was started, before it is
    /// stopped and rolled back (`#[deadline(30s)]` on the workflow).
    const DEADLINE: Option<std::time::Duration> = None;
    /// The signals the definition waits for, one entry per name, with the
    /// type each is declared as: [`Engine::signal`](crate::Engine::signal)
    /// refuses other names and values of other types for runs of a
    /// definition it knows.
    const SIGNALS: &'static [SignalSpec] = &[];
    /// Not public API: the nodes of [`MERMAID`](Self::MERMAID) as JSON, for
    /// a run's [picture](crate::picture) and [replay](crate::replay): each
    /// node's id, kind, step key name, target function or workflow,
    /// enclosing loop or fan-out and branch arm. `workflow!` generates
    /// it; empty (no nodes known) for a hand-written implementation.
    #[doc(hidden)]
    const GRAPH: &'static str = "";

    /// Not public API: how the site named `site` (a step key's
    /// [`name`](crate::StepKey::name)) is undone, if it is. `workflow!`
    /// generates it from the definition's `.compensate(..)`s and `call`s.
    #[doc(hidden)]
    fn compensation(site: &str) -> Option<crate::compensation::Compensation> {
        let _ = site;
        None
    }

    /// The name runs of this workflow record: [`NAME`](Self::NAME), or for
    /// an instance of a generic workflow its name with the type arguments,
    /// `each<app::Order>`. An instance's runs resume only under the same
    /// instance.
    #[must_use]
    fn name() -> &'static str {
        Self::NAME
    }

    /// The structural hash runs of this workflow record:
    /// [`DEFINITION_HASH`](Self::DEFINITION_HASH), or for an instance of a
    /// generic workflow that hash mixed with the instance's
    /// [`name`](Self::name).
    #[must_use]
    fn definition_hash() -> u64 {
        Self::DEFINITION_HASH
    }

    /// The flowchart runs of this workflow record:
    /// [`MERMAID`](Self::MERMAID), or for an instance of a generic workflow
    /// that chart titled with the instance's [`name`](Self::name).
    #[must_use]
    fn mermaid() -> &'static str {
        Self::MERMAID
    }

    /// Runs the workflow body with `input`, calling into `ctx` for its steps.
    fn execute<'a>(
        self,
        ctx: &'a RunContext,
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::Output, Self::Error>> + Send + 'a;
}

/// Data a run records: a workflow's input and output, a step's output, a
/// signal's value. Every `Serialize + DeserializeOwned` type that is
/// `Send + Sync + 'static` is `Data`; a generic workflow bounds its type
/// parameters with it.
///
/// # Examples
///
/// ```
/// use trailhead_core::Data;
///
/// /// What a batch workflow can process: it records the items and what
/// /// processing gives back.
/// pub trait Item: Data + Clone {
///     type Done: Data;
/// }
///
/// fn records<T: Data>() {}
/// records::<Vec<(String, u64)>>();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded with a run",
    label = "it must implement `serde::Serialize` and `serde::de::DeserializeOwned`",
    note = "derive them, `#[derive(serde::Serialize, serde::Deserialize)]`; for a type parameter `T`, add the bound `T: trailhead::Data`"
)]
pub trait Data: Serialize + DeserializeOwned + Send + Sync + 'static {}

// Not recommended: rustc then reports `Data` missing, once, instead of each
// of its parts.
#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> Data for T {}

/// A signal a workflow waits for: its name and the type its sites declare
/// (`let approval: Approval = signal "approval";`).
///
/// `workflow!` lists them in [`Workflow::SIGNALS`]. With it, the engine
/// checks a value sent with [`Engine::signal`](crate::Engine::signal) before
/// storing it: a name the workflow does not wait for, or a value that does
/// not decode as the declared type, is refused at the sender instead of
/// failing the run when it receives the signal.
///
/// # Examples
///
/// ```
/// use trailhead_core::SignalSpec;
///
/// const APPROVAL: SignalSpec = SignalSpec::of::<bool>("approval", "bool");
/// assert_eq!(APPROVAL.name(), "approval");
/// assert_eq!(APPROVAL.type_name(), "bool");
/// ```
#[derive(Clone, Copy)]
pub struct SignalSpec {
    name: &'static str,
    type_name: &'static str,
    accepts: SignalCheck,
}

impl SignalSpec {
    /// Signal `name` of type `T`, whose name for messages is `type_name`
    /// (the type as the workflow writes it).
    pub const fn of<T: Serialize + DeserializeOwned + Send + Sync + 'static>(
        name: &'static str,
        type_name: &'static str,
    ) -> Self {
        Self::new(name, type_name, signal_accepts::<T>)
    }

    /// Not public API: what `workflow!` writes, with the check from
    /// `__private::SignalValue`.
    #[doc(hidden)]
    pub const fn new(name: &'static str, type_name: &'static str, accepts: SignalCheck) -> Self {
        Self {
            name,
            type_name,
            accepts,
        }
    }

    /// The signal's name, as `signal "name"` writes it.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The declared type, as the workflow writes it.
    pub const fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// Whether `payload`, a value as the store keeps it, decodes as the
    /// declared type.
    pub(crate) fn accepts(&self, payload: &crate::store::Value) -> Result<(), BoxError> {
        (self.accepts)(payload)
    }
}

impl std::fmt::Debug for SignalSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalSpec")
            .field("name", &self.name)
            .field("type_name", &self.type_name)
            .finish_non_exhaustive()
    }
}

/// Checks a signal's encoded payload against the signal's declared type.
pub type SignalCheck = fn(&crate::store::Value) -> Result<(), BoxError>;

/// A decoding error, whatever the codec.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Whether `payload`, a signal's value as the store keeps it, decodes as `T`:
/// the one place that knows how signal payloads are encoded.
///
/// # Errors
///
/// The decoder's, when it does not.
pub fn signal_accepts<T: crate::step::Journaled>(
    payload: &crate::store::Value,
) -> Result<(), BoxError> {
    T::from_journal(payload).map(drop).map_err(Into::into)
}
