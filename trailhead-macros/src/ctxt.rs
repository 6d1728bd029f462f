//! Error accumulation: every mistake in a workflow is reported in one compile.
//!
//! Modelled on serde_derive's `Ctxt`: errors are pushed as they are found and merged
//! with [`syn::Error::combine`] at the end. A context dropped without [`Ctxt::check`]
//! panics, so no stage can forget to report what it found.

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::Span;

pub(crate) struct Ctxt {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    pub(crate) fn new() -> Self {
        Ctxt {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    pub(crate) fn error(&self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn push(&self, error: syn::Error) {
        self.errors
            .borrow_mut()
            .as_mut()
            .expect("Ctxt used after check()")
            .push(error);
    }

    /// Stores `value` in `slot`, or reports at `span` that `what` was given twice:
    /// the one check for options, settings and attributes written more than once.
    pub(crate) fn set_once<T>(&self, slot: &mut Option<T>, span: Span, what: &str, value: T) {
        if slot.is_some() {
            self.error(span, format!("duplicate {what}"));
        } else {
            *slot = Some(value);
        }
    }

    /// How many errors were reported so far; compare two readings to learn whether a
    /// stage found something.
    pub(crate) fn error_count(&self) -> usize {
        self.errors.borrow().as_ref().map_or(0, Vec::len)
    }

    /// Consumes the context: `Err` with every error merged, or `Ok` when there were none.
    pub(crate) fn check(self) -> syn::Result<()> {
        let mut errors = self.errors.take().into_iter().flatten();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for rest in errors {
            combined.combine(rest);
        }
        Err(combined)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().is_some() {
            panic!("forgot to check for errors");
        }
    }
}
