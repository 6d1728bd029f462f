//! The `workflow!` procedural macro of trailhead. Use it through the `trailhead`
//! crate, whose `workflow!` passes its own path on to `workflow_inner`.
//!
//! The pipeline has four stages, one module family each: `parse` (syntax, spans kept)
//! → `model` (the resolved workflow: sites, keys, policies) → `check` (rules over the
//! whole model) → `expand` (Rust code) and `mermaid` (the diagram).

mod check;
mod ctxt;
mod expand;
mod hash;
mod kw;
mod mermaid;
mod model;
mod parse;
mod suggest;

/// Not public API: invoked by `trailhead::workflow!` with `($crate) …`.
#[doc(hidden)]
#[proc_macro]
pub fn workflow_inner(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand::workflows(input.into()).into()
}
