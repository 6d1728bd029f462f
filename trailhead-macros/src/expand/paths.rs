//! How generated code names the runtime and its own locals.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// Paths into the runtime crate, from the `$crate` the public macro passed on.
pub(crate) struct Paths {
    krate: TokenStream,
}

impl Paths {
    pub(crate) fn new(krate: TokenStream) -> Self {
        Paths { krate }
    }

    /// `$crate::__private`
    pub(crate) fn private(&self) -> TokenStream {
        let krate = &self.krate;
        quote!(#krate::__private)
    }

    /// `$crate`, for the public items (`Engine`, `RunError`).
    pub(crate) fn krate(&self) -> &TokenStream {
        &self.krate
    }
}

/// A generated local, invisible to the user's code (mixed-site hygiene).
pub(crate) fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// The run context every step goes through.
pub(crate) fn ctx() -> Ident {
    local("__ctx")
}

/// The run context, located at a step's tokens so that what the compiler says
/// about the step's call lands there rather than on the whole macro.
pub(crate) fn ctx_at(span: Span) -> Ident {
    Ident::new("__ctx", Span::mixed_site().located_at(span))
}

/// The iteration index of the loop at `depth`.
pub(crate) fn loop_index(depth: usize) -> Ident {
    local(&format!("__loop_index_{depth}"))
}

/// The iteration counter of the loop at `depth`.
pub(crate) fn loop_counter(depth: usize) -> Ident {
    local(&format!("__loop_counter_{depth}"))
}
