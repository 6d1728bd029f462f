//! Step key patterns: which steps a stub (and a breakpoint) applies to.

use std::fmt;
use std::str::FromStr;

use crate::StepKey;
use crate::key::KeyRef;

/// A pattern over step keys: `charge` (every key of site `charge`, at any
/// loop index), `reserve[2]` (one key), `reserve[*]` or `pack[*][0]` (`*`
/// for any index at that depth), or `*` (every step).
///
/// # Examples
///
/// ```
/// use trailhead_core::{StepKey, StepPattern};
///
/// let any_seat: StepPattern = "seat[*]".parse()?;
/// assert!(any_seat.matches(&StepKey::new("seat", &[3])));
/// assert!(!any_seat.matches(&StepKey::new("seat", &[])));
/// let seat: StepPattern = "seat".parse()?;
/// assert!(seat.matches(&StepKey::new("seat", &[3])));
/// assert!("*".parse::<StepPattern>()?.matches(&StepKey::new("charge", &[])));
/// assert!("seat[x]".parse::<StepPattern>().is_err());
/// # Ok::<(), trailhead_core::PatternError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepPattern {
    /// `None` for `*`.
    name: Option<String>,
    /// `None` for a bare name (any indices).
    path: Option<Vec<Option<u32>>>,
}

/// Why a text is not a [`StepPattern`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not a step pattern: write a step key name (`charge`), a key (`reserve[2]`), indices or `*` in brackets (`reserve[*]`), or `*`"
)]
pub struct PatternError {
    text: String,
}

impl StepPattern {
    /// Whether step `key` matches.
    pub fn matches(&self, key: &StepKey) -> bool {
        self.matches_parts(key.name(), key.path())
    }

    /// Whether some key of site `name` may match (its name does, or `*`).
    pub(crate) fn may_match_name(&self, name: &str) -> bool {
        self.name.as_deref().is_none_or(|want| want == name)
    }

    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn matches_ref(&self, key: KeyRef<'_>) -> bool {
        self.matches_parts(key.name, key.path)
    }

    fn matches_parts(&self, name: &str, indices: &[u32]) -> bool {
        if self.name.as_deref().is_some_and(|want| want != name) {
            return false;
        }
        match &self.path {
            None => true,
            Some(path) => {
                path.len() == indices.len()
                    && path
                        .iter()
                        .zip(indices)
                        .all(|(want, index)| want.is_none_or(|want| want == *index))
            }
        }
    }
}

impl FromStr for StepPattern {
    type Err = PatternError;

    fn from_str(text: &str) -> Result<Self, PatternError> {
        let error = || PatternError {
            text: text.to_owned(),
        };
        let text = text.trim();
        if text == "*" {
            return Ok(Self {
                name: None,
                path: None,
            });
        }
        let (name, rest) = text.split_at(text.find('[').unwrap_or(text.len()));
        let is_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '#' | '-' | ':'));
        if !is_name {
            return Err(error());
        }
        if rest.is_empty() {
            return Ok(Self {
                name: Some(name.to_owned()),
                path: None,
            });
        }
        let inner = rest
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .ok_or_else(error)?;
        let path = inner
            .split("][")
            .map(|index| match index {
                "*" => Ok(None),
                index => index.parse().map(Some).map_err(|_| error()),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            name: Some(name.to_owned()),
            path: Some(path),
        })
    }
}

impl fmt::Display for StepPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name.as_deref().unwrap_or("*"))?;
        for index in self.path.iter().flatten() {
            match index {
                Some(index) => write!(f, "[{index}]")?,
                None => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_read_back_as_written_and_match_their_keys() {
        for text in ["charge", "reserve[2]", "pack[*][0]", "*", "undo:charge"] {
            let pattern: StepPattern = text.parse().unwrap();
            assert_eq!(pattern.to_string(), text);
        }
        let pattern: StepPattern = "pack[*][0]".parse().unwrap();
        assert!(pattern.matches(&StepKey::new("pack", &[4, 0])));
        assert!(!pattern.matches(&StepKey::new("pack", &[4, 1])));
        assert!(!pattern.matches(&StepKey::new("pack", &[4])));
        assert!(!pattern.matches(&StepKey::new("pick", &[4, 0])));
        for bad in ["", "[1]", "a[", "a[1", "a[-1]", "a b", "a[1]x"] {
            assert!(bad.parse::<StepPattern>().is_err(), "{bad}");
        }
    }
}
