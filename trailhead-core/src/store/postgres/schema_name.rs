//! The schema a store's tables live in: a name checked once, quoted once,
//! and spliced into every statement at connect.

use crate::store::DatabaseProblem;

/// The schema a store uses unless told otherwise.
pub(super) const DEFAULT: &str = "trailhead";

/// A schema name trailhead accepts: 1 to 63 bytes (PostgreSQL's limit) of
/// lowercase ASCII letters, digits and `_`, not starting with a digit nor
/// with `pg_` (PostgreSQL's own). So it never needs escaping, and reads the
/// same quoted or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SchemaName(String);

impl SchemaName {
    pub(super) fn new(name: &str) -> Result<Self, DatabaseProblem> {
        let refuse = |reason| {
            Err(DatabaseProblem::InvalidSchemaName {
                name: name.to_owned(),
                reason,
            })
        };
        if name.is_empty() {
            return refuse("it is empty");
        }
        if name.len() > 63 {
            return refuse("it is longer than 63 bytes");
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return refuse("use lowercase ASCII letters, digits and `_` only");
        }
        if name.as_bytes()[0].is_ascii_digit() {
            return refuse("it starts with a digit");
        }
        if name.starts_with("pg_") {
            return refuse("names starting with `pg_` are PostgreSQL's");
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as given.
    pub(super) fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an SQL identifier, quoted.
    pub(super) fn quoted(&self) -> String {
        format!("\"{}\"", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_accepted_and_quoted() {
        let name = SchemaName::new("billing_2").unwrap();
        assert_eq!(name.quoted(), "\"billing_2\"");
    }

    #[test]
    fn names_that_would_need_escaping_or_are_reserved_are_refused() {
        for bad in [
            "",
            "Billing",
            "a-b",
            "a\"; DROP TABLE x; --",
            "1st",
            "pg_temp",
            &"x".repeat(64),
        ] {
            assert!(
                matches!(
                    SchemaName::new(bad),
                    Err(DatabaseProblem::InvalidSchemaName { .. })
                ),
                "{bad:?} accepted"
            );
        }
    }
}
