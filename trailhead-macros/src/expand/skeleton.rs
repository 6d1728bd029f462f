//! On error, still expand the workflow's skeleton (its struct and typed functions),
//! so that code using the workflow and the IDE do not drown in follow-on errors
//! while the `compile_error!`s say what is wrong.

use proc_macro2::TokenStream;
use quote::quote;

use super::Paths;
use super::generic::Generics;
use super::workflow::{Params, identity, items};
use crate::ctxt::Ctxt;
use crate::mermaid::Diagram;
use crate::model::result_types;
use crate::parse::WorkflowDef;

pub(super) fn skeleton(paths: &Paths, def: &WorkflowDef) -> TokenStream {
    // Errors in the return type were reported already; here they only decide whether
    // the typed functions can be written.
    let cx = Ctxt::new();
    let types = result_types(&cx, &def.output);
    let _ = cx.check();
    let Some((ok_type, err_type)) = types else {
        return TokenStream::new();
    };
    let diagram = Diagram::unavailable();
    let private = paths.private();
    let name = &def.name;
    // No hash: a definition that does not compile runs nothing.
    let items = items(paths, def, (ok_type, err_type), (&diagram, 0), &[]);
    let input_type = Params::of(def).input_type();
    let identity = identity(&private, def, &input_type, (ok_type, err_type));
    let generics = Generics::of(def);
    let (impl_params, where_clause) = generics.impl_header();
    let args = generics.args();
    quote! {
        #items

        impl #impl_params #private::Workflow for #name #args #where_clause {
            #identity

            fn execute<'__run>(
                self,
                _: &'__run #private::RunContext,
                _: <Self as #private::Workflow>::Input,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#ok_type, #err_type>,
            > + ::core::marker::Send + '__run {
                async { ::core::unreachable!("this workflow did not compile") }
            }
        }
    }
}
