//! Instances of generic workflows: `each::<Order>` is a workflow of its own,
//! with a name, a hash and a chart that name its type arguments.
//!
//! A generic workflow's struct cannot be a unit struct (it has type
//! parameters), so `workflow!` makes it a tuple struct around an
//! [`Instance`] marker. Its constructor is then a value, `each::<Order>` or
//! just `each`, which `call` takes like a plain workflow's unit struct.

use std::any::TypeId;
use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{OnceLock, RwLock};

use crate::Workflow;

/// The one field of a generic workflow's struct,
/// `each<T>(Instance<fn() -> (T,)>)`. It holds nothing: it uses the type
/// parameters, and makes the struct's constructor (a function from an
/// `Instance` to the workflow) recognizable as a workflow to `call`.
pub struct Instance<P>(PhantomData<P>);

impl<P> Instance<P> {
    /// The marker.
    #[must_use]
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<P> Default for Instance<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P> Clone for Instance<P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for Instance<P> {}

impl<P> fmt::Debug for Instance<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Instance")
    }
}

/// A `call`'s target on its way to [`CallableWorkflow`]: written
/// `(&&&Target::new(target)).resolve()` with [`ResolvePlain`],
/// [`ResolveGeneric`] and [`ResolveOther`] in scope, it gives a plain
/// workflow as itself, a generic workflow's constructor (`each::<Order>`) as
/// the workflow it makes, and anything else as itself, for
/// `CallableWorkflow` to refuse with its message ("… is not a workflow").
/// Autoref tries the three in that order; the first that applies wins. The
/// target is taken out of a cell so that every level works by reference,
/// whatever the target's type.
///
/// [`CallableWorkflow`]: crate::__private::CallableWorkflow
pub struct Target<T>(Cell<Option<T>>);

impl<T> fmt::Debug for Target<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Target")
    }
}

impl<T> Target<T> {
    /// The target, to resolve once.
    pub fn new(target: T) -> Self {
        Self(Cell::new(Some(target)))
    }

    fn take(&self) -> T {
        self.0.take().expect("a call's target is resolved once")
    }
}

/// [`Target`] a plain workflow: itself.
pub trait ResolvePlain {
    /// What the target resolves to.
    type Resolved;
    /// Resolves.
    fn resolve(self) -> Self::Resolved;
}

impl<C: crate::__private::CallableWorkflow> ResolvePlain for &&&Target<C> {
    type Resolved = C;
    fn resolve(self) -> C {
        self.take()
    }
}

/// [`Target`] a generic workflow's constructor: the workflow it makes.
/// (`P`, the marker's parameters, is the trait's so that the impl may name
/// it.)
pub trait ResolveGeneric<P> {
    /// What the target resolves to.
    type Resolved;
    /// Resolves.
    fn resolve(self) -> Self::Resolved;
}

impl<F, P, W> ResolveGeneric<P> for &&Target<F>
where
    F: FnOnce(Instance<P>) -> W,
    W: Workflow,
{
    type Resolved = W;
    fn resolve(self) -> W {
        (self.take())(Instance::new())
    }
}

/// [`Target`] anything else: itself, refused after.
pub trait ResolveOther {
    /// What the target resolves to.
    type Resolved;
    /// Resolves.
    fn resolve(self) -> Self::Resolved;
}

impl<T> ResolveOther for &Target<T> {
    type Resolved = T;
    fn resolve(self) -> T {
        self.take()
    }
}

/// A type parameter a `call` names, `call W(input)`: a workflow when it is
/// bounded by `Workflow`. Anything else is refused here, once: the workflow
/// is then unknown, which silences the rest of the call.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a workflow",
    label = "`call` of a type parameter needs the bound `{Self}: trailhead::Workflow`"
)]
pub trait WorkflowParameter {
    /// The workflow.
    type Workflow: Workflow;
}

#[diagnostic::do_not_recommend]
impl<W: Workflow> WorkflowParameter for W {
    type Workflow = W;
}

/// The workflow type parameter `W` stands for: a workflow is a stateless
/// definition, so its default value is the workflow.
#[must_use]
pub fn workflow_of<W: WorkflowParameter>() -> W::Workflow {
    W::Workflow::default()
}

/// The name of the instance `W` of generic workflow `name` with type
/// arguments `args`: `each<app::Order>`, made once per instance and kept for
/// the life of the process (a name is a `&'static str` everywhere a run is
/// recorded).
pub fn instance_name<W: 'static>(name: &str, args: &[&dyn fmt::Display]) -> &'static str {
    interned::<W>(Kind::Name, || {
        let args: Vec<String> = args.iter().map(ToString::to_string).collect();
        format!("{name}<{}>", args.join(", "))
    })
}

/// The hash of instance `W`: the generic definition's hash mixed with the
/// instance's name, so that a run of `each<A>` is refused by `each<B>`.
#[must_use]
pub fn instance_hash<W: Workflow>(definition: u64) -> u64 {
    // FNV-1a over the name, seeded with the definition's hash: stable across
    // releases, like the definition hash itself.
    W::name().bytes().fold(definition, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The chart of instance `W`: the generic definition's chart titled with the
/// instance's name.
pub fn instance_mermaid<W: Workflow>(mermaid: &str) -> &'static str {
    interned::<W>(Kind::Mermaid, || {
        // A YAML string: a const argument may be a `'"'`.
        let title = W::name().replace('\\', "\\\\").replace('"', "\\\"");
        format!("---\ntitle: \"{title}\"\n---\n{mermaid}")
    })
}

/// A type argument as an instance's name shows it: a workflow by its own
/// name, anything else by its type name.
pub fn type_argument<T: ?Sized>() -> &'static str {
    std::any::type_name::<T>()
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Name,
    Mermaid,
}

/// `make()`'s text for instance `W`, leaked once: instances are types, so
/// there are as many as the program names, not one per run. (Two threads
/// asking first at once may both make it; one text is kept.)
fn interned<W: 'static>(kind: Kind, make: impl FnOnce() -> String) -> &'static str {
    static TABLE: OnceLock<RwLock<HashMap<(TypeId, Kind), &'static str>>> = OnceLock::new();
    let table = TABLE.get_or_init(RwLock::default);
    let key = (TypeId::of::<W>(), kind);
    if let Some(text) = table.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return text;
    }
    // Made outside the lock: a chart's text asks for the instance's name.
    let text = make();
    let mut table = table.write().unwrap_or_else(|e| e.into_inner());
    table
        .entry(key)
        .or_insert_with(|| Box::leak(text.into_boxed_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct A;
    struct B;

    #[test]
    fn each_instance_has_its_own_name_made_once() {
        let a = instance_name::<A>("each", &[&"app::Order"]);
        assert_eq!(a, "each<app::Order>");
        // The first text made for an instance is its name for good.
        assert!(std::ptr::eq(a, instance_name::<A>("each", &[&"other"])));
        assert_eq!(instance_name::<B>("pair", &[&"u32", &7]), "pair<u32, 7>");
    }
}
