//! Duration literals: `250ms`, `5s`, `2m`, `1h`, checked at compile time.

use syn::LitInt;

use crate::model::options::Duration;

/// A duration written as an integer literal with a unit suffix.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DurationLit {
    pub(crate) millis: u64,
}

const UNITS: &[(&str, u64)] = &[("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)];

impl DurationLit {
    /// Reads `lit` as a duration; `0` is refused unless `allow_zero`.
    pub(crate) fn from_lit(lit: &LitInt, allow_zero: bool) -> syn::Result<Self> {
        let suffix = lit.suffix();
        let Some(&(_, scale)) = UNITS.iter().find(|(unit, _)| *unit == suffix) else {
            let message = if suffix.is_empty() {
                format!(
                    "duration `{}` needs a unit: expected one of `ms`, `s`, `m`, `h` (e.g. `{}s`)",
                    lit, lit
                )
            } else {
                format!(
                    "invalid duration `{lit}`: unknown unit `{suffix}`, expected one of `ms`, `s`, `m`, `h`"
                )
            };
            return Err(syn::Error::new(lit.span(), message));
        };
        let value: u64 = lit.base10_parse()?;
        let millis = value
            .checked_mul(scale)
            .ok_or_else(|| syn::Error::new(lit.span(), format!("duration `{lit}` is too large")))?;
        if millis == 0 && !allow_zero {
            return Err(syn::Error::new(
                lit.span(),
                format!("duration `{lit}` must be greater than zero"),
            ));
        }
        Ok(DurationLit { millis })
    }

    /// Reads an expression that must be a duration literal.
    pub(crate) fn from_expr(expr: &syn::Expr, allow_zero: bool) -> syn::Result<Self> {
        match expr {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(lit),
                ..
            }) => Self::from_lit(lit, allow_zero),
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Float(lit),
                ..
            }) => Err(syn::Error::new(
                lit.span(),
                format!(
                    "invalid duration `{lit}`: use a whole number of a smaller unit (e.g. `1500ms`)"
                ),
            )),
            other => Err(syn::Error::new_spanned(
                other,
                "expected a duration literal such as `250ms`, `5s`, `2m` or `1h`",
            )),
        }
    }
}

/// A duration argument: a literal is checked now, anything else is a Rust
/// expression of type `Duration`.
pub(crate) fn duration(expr: &syn::Expr) -> syn::Result<Duration> {
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(_) | syn::Lit::Float(_),
            ..
        }) => DurationLit::from_expr(expr, false).map(Duration::Literal),
        other => Ok(Duration::Expr(other.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, allow_zero: bool) -> syn::Result<u64> {
        let lit: LitInt = syn::parse_str(text).unwrap();
        DurationLit::from_lit(&lit, allow_zero).map(|d| d.millis)
    }

    #[test]
    fn units_scale_to_millis() {
        assert_eq!(parse("250ms", false).unwrap(), 250);
        assert_eq!(parse("5s", false).unwrap(), 5_000);
        assert_eq!(parse("2m", false).unwrap(), 120_000);
        assert_eq!(parse("1h", false).unwrap(), 3_600_000);
    }

    #[test]
    fn bad_literals_are_refused_with_the_reason() {
        let err = parse("5mx", false).unwrap_err().to_string();
        assert!(err.contains("unknown unit `mx`"), "{err}");
        let err = parse("5", false).unwrap_err().to_string();
        assert!(err.contains("needs a unit"), "{err}");
        let err = parse("0s", false).unwrap_err().to_string();
        assert!(err.contains("greater than zero"), "{err}");
        assert_eq!(parse("0s", true).unwrap(), 0);
    }
}
