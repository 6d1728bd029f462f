//! Names of runs and steps.
//!
//! A [`RunId`] names one run of a workflow; a [`StepKey`] names one execution of
//! a step inside a run. Both are deterministic where they must be: a step's key
//! is its name in the definition plus the indices of the loops around it, so a
//! resumed run finds the journal entries of the steps it already executed.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod path;

use path::KeyPath;

/// The identifier of one run.
///
/// A run id is an opaque string, cheap to clone (it is reference counted).
/// [`RunId::generate`] makes a time-ordered UUID (version 7), so ids sort by
/// creation time; a child run started by `call` gets `"{parent}/{step}"`
/// ([`RunId::child`]). It serializes as a plain string.
///
/// # Examples
///
/// ```
/// use trailhead_core::{RunId, StepKey};
///
/// let parent = RunId::new("order-42");
/// let child = parent.child(&StepKey::new("ship", &[1]));
/// assert_eq!(child.as_str(), "order-42/ship[1]");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct RunId(Arc<str>);

impl RunId {
    /// Wraps a caller-chosen id.
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Self(id.into())
    }

    /// Makes a fresh, time-ordered id (a UUID version 7 in its hyphenated form).
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string().into())
    }

    /// The id of the child run that step `step` of this run starts:
    /// `"{self}/{step}"`.
    pub fn child(&self, step: &StepKey) -> Self {
        self.child_at(step)
    }

    /// [`RunId::child`] for a key in any form that displays like a [`StepKey`].
    pub(crate) fn child_at(&self, step: impl fmt::Display) -> Self {
        Self(format!("{self}/{step}").into())
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for RunId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RunId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// The name of the journal entry a new generation opens with.
const GENERATION: &str = "~generation";

/// The key of one step execution within a run.
///
/// It is the step's name in the workflow definition plus its `path`: the
/// iteration index of every loop (or fan-out) around the step, outermost first.
/// The journal, events, tracing spans and child run ids all use it.
///
/// Its text form is the name followed by one `[index]` per path entry, and
/// [`FromStr`] parses that form back.
///
/// # Examples
///
/// ```
/// use trailhead_core::StepKey;
///
/// let key = StepKey::new("charge", &[2, 0]);
/// assert_eq!(key.to_string(), "charge[2][0]");
/// assert_eq!("charge[2][0]".parse::<StepKey>().unwrap(), key);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct StepKey {
    name: Cow<'static, str>,
    path: KeyPath,
}

impl StepKey {
    /// Makes the key of step `name` at loop indices `path` (outermost first).
    ///
    /// Names come from the workflow definition and are identifiers; they must
    /// not contain `[` or `]`, or the text form would not parse back.
    pub fn new(name: &'static str, path: &[u32]) -> Self {
        Self {
            name: Cow::Borrowed(name),
            path: KeyPath::new(path),
        }
    }

    /// The step's name in the workflow definition.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The loop iteration indices around the step, outermost first.
    pub fn path(&self) -> &[u32] {
        &self.path
    }

    /// The key the compensation of this step is journaled under:
    /// `undo:` before the name, the same path.
    ///
    /// ```
    /// use trailhead_core::StepKey;
    ///
    /// let undo = StepKey::new("charge", &[2]).undo();
    /// assert_eq!(undo.to_string(), "undo:charge[2]");
    /// assert_eq!(undo.undone(), Some(StepKey::new("charge", &[2])));
    /// ```
    pub fn undo(&self) -> StepKey {
        Self {
            name: Cow::Owned(format!("{UNDO}{}", self.name)),
            path: self.path.clone(),
        }
    }

    /// The key of this step's fallback step (`.fallback(step f(x))`):
    /// `.fallback` after the name, the same path.
    ///
    /// ```
    /// use trailhead_core::StepKey;
    ///
    /// let fallback = StepKey::new("charge", &[2]).fallback();
    /// assert_eq!(fallback.to_string(), "charge.fallback[2]");
    /// ```
    pub fn fallback(&self) -> StepKey {
        Self {
            name: Cow::Owned(format!("{}.fallback", self.name)),
            path: self.path.clone(),
        }
    }

    /// The key of the entry that opens a run's journal after
    /// `continue_as_new`: `~generation`, which no step name can be. Its value
    /// is the run's [`Generation`](crate::store::Generation).
    pub fn generation() -> StepKey {
        Self::new(GENERATION, &[])
    }

    /// Whether this is the key of [`StepKey::generation`].
    pub fn is_generation(&self) -> bool {
        self.name == GENERATION && self.path.is_empty()
    }

    /// For the key of a compensation, the key of the step it undid.
    pub fn undone(&self) -> Option<StepKey> {
        let name = self.name.strip_prefix(UNDO)?;
        Some(Self {
            name: Cow::Owned(name.to_owned()),
            path: self.path.clone(),
        })
    }

    /// Whether this is the key of a compensation.
    pub(crate) fn is_undo(&self) -> bool {
        self.name.starts_with(UNDO)
    }
}

/// What a compensation's key starts with (no step name can: names are
/// identifiers, or `.name(..)` strings the macro refuses with a `:`).
const UNDO: &str = "undo:";

impl fmt::Display for StepKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_key(f, &self.name, &self.path)
    }
}

/// A step key not yet built: formats like [`StepKey`] without allocating.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyRef<'a> {
    pub(crate) name: &'static str,
    pub(crate) path: &'a [u32],
}

impl KeyRef<'_> {
    /// Builds the owned key.
    pub(crate) fn to_key(self) -> StepKey {
        StepKey::new(self.name, self.path)
    }
}

impl fmt::Display for KeyRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_key(f, self.name, self.path)
    }
}

fn write_key(f: &mut fmt::Formatter<'_>, name: &str, path: &[u32]) -> fmt::Result {
    f.write_str(name)?;
    for index in path {
        write!(f, "[{index}]")?;
    }
    Ok(())
}

/// The error returned when a string is not a step key's text form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid step key `{input}`: {reason}")]
pub struct ParseStepKeyError {
    input: String,
    reason: &'static str,
}

impl FromStr for StepKey {
    type Err = ParseStepKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = |reason| ParseStepKeyError {
            input: s.to_owned(),
            reason,
        };
        let (name, mut rest) = s.split_at(s.find('[').unwrap_or(s.len()));
        if name.is_empty() {
            return Err(error("the step name is empty"));
        }
        if name.contains(']') {
            return Err(error("the step name contains `]`"));
        }
        let mut path = Vec::new();
        while let Some(after_open) = rest.strip_prefix('[') {
            let (index, after_close) = after_open
                .split_once(']')
                .ok_or_else(|| error("a `[` is not closed"))?;
            let index = index
                .parse()
                .map_err(|_| error("a loop index is not a number in 0..=4294967295"))?;
            path.push(index);
            rest = after_close;
        }
        if !rest.is_empty() {
            return Err(error("expected `[index]` after the step name"));
        }
        Ok(Self {
            name: Cow::Owned(name.to_owned()),
            path: path.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_appends_one_bracket_per_index() {
        assert_eq!(StepKey::new("fetch", &[]).to_string(), "fetch");
        assert_eq!(StepKey::new("fetch", &[1, 0]).to_string(), "fetch[1][0]");
        let key_ref = KeyRef {
            name: "fetch",
            path: &[3],
        };
        assert_eq!(key_ref.to_string(), "fetch[3]");
        assert_eq!(key_ref.to_key(), StepKey::new("fetch", &[3]));
    }

    #[test]
    fn parse_round_trips_the_display_form() {
        for key in [
            StepKey::new("a", &[]),
            StepKey::new("step_two", &[0]),
            StepKey::new("x", &[4_294_967_295, 7, 0]),
        ] {
            assert_eq!(key.to_string().parse::<StepKey>(), Ok(key));
        }
    }

    #[test]
    fn parse_rejects_malformed_keys() {
        for bad in [
            "",
            "[1]",
            "a[",
            "a[1",
            "a[x]",
            "a[-1]",
            "a[1]b",
            "a]",
            "a[4294967296]",
            "a[]",
        ] {
            let error = bad.parse::<StepKey>().unwrap_err();
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("invalid step key `{bad}`")),
                "{error}"
            );
        }
    }

    #[test]
    fn child_run_id_joins_parent_and_step() {
        let parent = RunId::new("p");
        assert_eq!(parent.child(&StepKey::new("s", &[2])).as_str(), "p/s[2]");
    }

    #[test]
    fn generated_run_ids_are_unique_and_time_ordered() {
        let first = RunId::generate();
        let second = RunId::generate();
        assert_ne!(first, second);
        assert!(first < second, "{first} should sort before {second}");
        assert_eq!(first.as_str().len(), 36);
    }

    #[test]
    fn run_id_serializes_as_a_plain_string() {
        let id = RunId::new("r-1");
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"r-1\"");
        assert_eq!(serde_json::from_str::<RunId>(&json).unwrap(), id);
    }
}
