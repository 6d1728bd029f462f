//! The `workflow!` and `cron!` procedural macros of trailhead. Use them through the
//! `trailhead` crate, whose `workflow!` and `cron!` pass its own path on to
//! `workflow_inner` and `cron_inner`.
//!
//! The pipeline has four stages, one module family each: `parse` (syntax, spans kept)
//! → `model` (the resolved workflow: sites, keys, policies) → `check` (rules over the
//! whole model) → `expand` (Rust code) and `mermaid` (the diagram).

mod check;
mod cron;
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

/// Not public API: invoked by `trailhead::cron!` with `($crate) "…"`.
#[doc(hidden)]
#[proc_macro]
pub fn cron_inner(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    cron::expand(input.into()).into()
}
