//! One workflow: its unit struct, its `Workflow` impl and its typed functions.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::{Pat, Type};

use super::Paths;
use super::generic::Generics;
use super::paths::{ctx, local};
use super::policy::{millis, retry_policy};
use super::step::StepExpander;
use crate::mermaid::Diagram;
use crate::model::signals::SignalDecl;
use crate::model::{Site, Undo, Workflow};
use crate::parse::WorkflowDef;

pub(super) fn expand(
    paths: &Paths,
    workflow: &Workflow<'_>,
    diagram: &Diagram,
    hash: u64,
) -> TokenStream {
    let private = paths.private();
    let def = workflow.def;
    let (ok_type, err_type) = (workflow.ok_type, workflow.err_type);
    let ctx = ctx();
    let input = local("__input");

    let params = Params::of(def);
    let input_type = params.input_type();
    let generics = Generics::of(def);
    let expander = StepExpander {
        private: private.clone(),
        err_type,
        input_type: input_type.clone(),
        sites: &workflow.sites,
        signals: &workflow.signals,
        type_params: generics.type_params(),
        workflow_params: generics.workflow_params(),
        shared: std::cell::RefCell::default(),
    };
    let body = expander.stmts(&workflow.body);
    let bind_input = if params.types.is_empty() {
        quote!(let () = #input;)
    } else {
        let pattern = params.input_pattern();
        quote!(let #pattern: #input_type = #input;)
    };
    let items = items(
        paths,
        def,
        (ok_type, err_type),
        (diagram, hash),
        &workflow.signals,
    );
    let identity = identity(&private, def, &input_type, (ok_type, err_type));
    let signals = signal_specs(&private, &workflow.signals);
    let graph = &diagram.graph;
    let name = &def.name;
    let (impl_params, where_clause) = generics.impl_header();
    let args = generics.args();
    let compatible = &def.compatible_with;
    let compensation = compensation_table(
        &private,
        &workflow.sites,
        (&generics.type_params(), &generics.workflow_params()),
    );
    let compensates = workflow.sites.iter().any(|site| site.undo.is_some());
    let deadline = match &def.deadline {
        Some(lit) => {
            let deadline = millis(&private, lit.millis);
            quote!(::core::option::Option::Some(#deadline))
        }
        None => quote!(::core::option::Option::None),
    };

    quote! {
        #items

        #[automatically_derived]
        impl #impl_params #private::Workflow for #name #args #where_clause {
            #identity
            const COMPATIBLE_WITH: &'static [u64] = &[#(#compatible),*];
            const COMPENSATES: bool = #compensates;
            const DEADLINE: ::core::option::Option<#private::Duration> = #deadline;
            const SIGNALS: &'static [#private::SignalSpec] = #signals;
            const GRAPH: &'static str = #graph;

            #compensation

            // An `async fn` with the declared result, so that a tail or a
            // `return` of another type is a mismatch at the user's expression.
            #[allow(
                clippy::let_unit_value,
                clippy::needless_return,
                clippy::unused_async,
                unused_mut
            )]
            async fn execute<'__run>(
                self,
                #ctx: &'__run #private::RunContext,
                #input: <Self as #private::Workflow>::Input,
            ) -> ::core::result::Result<#ok_type, #err_type> {
                #bind_input
                #body
            }
        }
    }
}

/// The parts of a workflow that exist even when its body has errors: the struct, its
/// docs and diagram, and its typed functions.
pub(super) fn items(
    paths: &Paths,
    def: &WorkflowDef,
    (ok_type, err_type): (&Type, &Type),
    (diagram, hash): (&Diagram, u64),
    signals: &[SignalDecl<'_>],
) -> TokenStream {
    let krate = paths.krate();
    let private = paths.private();
    let attrs = &def.attrs;
    let vis = &def.vis;
    let name = &def.name;
    let params = Params::of(def);
    let args = &params.args;
    let types = &params.types;
    let input_value = params.input_value();
    let diagram_doc = diagram.doc_lines();
    let name_str = name.to_string();
    let mermaid = &diagram.text;
    let senders = signals.iter().map(|decl| sender(paths, def, decl));
    // Named at the workflow's name, so that rustc's "method defined here"
    // under a `call` with wrong arguments points there.
    let call_fn = syn::Ident::new("__call", name.span());
    let call_fn = quote! {
        /// Not public API: the workflow and its input, for `call`.
        #[doc(hidden)]
        #[allow(clippy::unused_unit)]
        #vis fn #call_fn(self, #(#args: #types),*) -> (Self, <Self as #private::Workflow>::Input) {
            (self, #input_value)
        }
    };
    let generics = Generics::of(def);
    let (impl_params, where_clause) = generics.impl_header();
    let type_args = generics.args();
    let definition = if generics.is_generic() {
        generic_struct(paths, def)
    } else {
        quote! {
            #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::default::Default)]
            #vis struct #name;
        }
    };
    // What `call` checks its target with; not recommended, so that rustc
    // does not list the workflows when something else is called.
    let callable = quote! {
        #[diagnostic::do_not_recommend]
        impl #impl_params #private::CallableWorkflow for #name #type_args #where_clause {
            type Workflow = Self;
            fn workflow(self) -> Self {
                self
            }
        }
    };
    let run_doc = format!(
        " Runs `{name}` on `engine` to completion: `engine.start({name}, input)` \
         followed by `result()`, as one typed function."
    );
    quote! {
        #(#attrs)*
        #(#diagram_doc)*
        #[allow(non_camel_case_types)]
        #definition

        #[allow(clippy::unused_async, clippy::too_many_arguments)]
        impl #impl_params #name #type_args #where_clause {
            /// The workflow's name, as runs and journals record it.
            #vis const NAME: &'static str = #name_str;
            /// The workflow's flowchart in Mermaid syntax, made at compile time.
            #vis const MERMAID: &'static str = #mermaid;
            /// The structural hash of the definition: its signature, its steps and
            /// calls with their keys, and the shape of its branches and loops.
            #vis const DEFINITION_HASH: u64 = #hash;

            #[doc = #run_doc]
            ///
            /// # Errors
            ///
            /// The workflow's own error as `RunError::Failed`, or why the run did not finish.
            #vis async fn run(
                engine: &#krate::Engine,
                #(#args: #types),*
            ) -> ::core::result::Result<#ok_type, #krate::RunError<#err_type>> {
                engine.run(<Self as ::core::default::Default>::default(), #input_value).await
            }

            #call_fn

            #(#senders)*
        }

        #callable
    }
}

/// The struct of a generic workflow, `each<T>(Instance<fn() -> (T,)>)`, and the
/// traits a workflow has, written without bounds on `T`: the struct holds
/// no `T`.
fn generic_struct(paths: &Paths, def: &WorkflowDef) -> TokenStream {
    let private = paths.private();
    let (vis, name) = (&def.vis, &def.name);
    let generics = Generics::of(def);
    let params = generics.struct_params();
    let args = generics.args();
    let name_str = name.to_string();
    let types = generics.type_params();
    quote! {
        #vis struct #name #params (
            /// The marker that makes the constructor a workflow value.
            pub #private::Instance<fn() -> (#(#types,)*)>,
        );

        impl #params ::core::clone::Clone for #name #args {
            fn clone(&self) -> Self {
                *self
            }
        }

        impl #params ::core::marker::Copy for #name #args {}

        impl #params ::core::default::Default for #name #args {
            fn default() -> Self {
                Self(#private::Instance::new())
            }
        }

        impl #params ::core::fmt::Debug for #name #args {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(#name_str)
            }
        }
    }
}

/// The typed sender of a signal: `review::signal_approval(&engine, &run, value)`.
fn sender(paths: &Paths, def: &WorkflowDef, decl: &SignalDecl<'_>) -> TokenStream {
    let krate = paths.krate();
    let private = paths.private();
    let vis = &def.vis;
    let workflow = &def.name;
    let sender = &decl.sender;
    let signal = &decl.name;
    let value = decl.value;
    let span = syn::spanned::Spanned::span(value);
    let type_name = type_name(value);
    let summary = format!(
        " Sends signal `{signal}` to run `run` of `{workflow}`: its `signal \"{signal}\"` \
         receives `value` (declared `{type_name}`)."
    );
    // The parameters are named at the type like the call that uses them.
    let (engine, run, sent) = (
        syn::Ident::new("engine", span),
        syn::Ident::new("run", span),
        syn::Ident::new("value", span),
    );
    let send = quote_spanned! {span=>
        <_ as #private::SignalValue>::send(
            #engine,
            #run,
            <Self as ::core::default::Default>::default(),
            #signal,
            #sent,
        )
        .await
    };
    quote! {
        #[doc = #summary]
        ///
        /// The value's type is checked at compile time; the signal is kept by the
        /// store until the run receives it, as with `Engine::signal`.
        ///
        /// # Errors
        ///
        /// `EngineError::OtherWorkflow` if `run` is a run of another workflow,
        /// else as `Engine::signal`.
        #vis async fn #sender(
            #engine: &#krate::Engine,
            #run: &#krate::RunId,
            #sent: #value,
        ) -> ::core::result::Result<(), #krate::EngineError> {
            #send
        }
    }
}

/// `&[SignalSpec::new("approval", "Approval", <Approval as SignalValue>::ACCEPTS), ..]`
fn signal_specs(private: &TokenStream, signals: &[SignalDecl<'_>]) -> TokenStream {
    let specs = signals.iter().map(|decl| {
        let name = &decl.name;
        let value = decl.value;
        let type_name = type_name(value);
        let accepts = quote_spanned! {syn::spanned::Spanned::span(value)=>
            <#value as #private::SignalValue>::ACCEPTS
        };
        quote!(#private::SignalSpec::new(#name, #type_name, #accepts))
    });
    quote!(&[#(#specs),*])
}

/// A type as written, for messages: `Vec<Approval>`.
fn type_name(ty: &Type) -> String {
    ty.to_token_stream()
        .to_string()
        .replace(" :: ", "::")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace("& ", "&")
}

/// A workflow's parameters: the patterns as written, and plain names for the typed
/// functions (`argN` where the pattern is not a plain name).
pub(super) struct Params<'a> {
    /// The parameter list, where a mismatch of the input as a whole is said.
    span: proc_macro2::Span,
    pats: Vec<&'a Pat>,
    args: Vec<syn::Ident>,
    types: Vec<&'a Type>,
}

impl<'a> Params<'a> {
    pub(super) fn of(def: &'a WorkflowDef) -> Self {
        let span = match def.params.first() {
            Some(_) => syn::spanned::Spanned::span(&def.params),
            None => def.name.span(),
        };
        let mut params = Params {
            span,
            pats: Vec::new(),
            args: Vec::new(),
            types: Vec::new(),
        };
        for (i, param) in def.params.iter().enumerate() {
            params.pats.push(&param.pat);
            params.types.push(&param.ty);
            params.args.push(match &*param.pat {
                Pat::Ident(ident) if ident.subpat.is_none() => ident.ident.clone(),
                _ => format_ident!("arg{i}"),
            });
        }
        params
    }

    /// `()`, `T`, or `(A, B, …)`: one parameter is passed as itself, not a 1-tuple.
    pub(super) fn input_type(&self) -> TokenStream {
        let types = &self.types;
        match types.as_slice() {
            [single] => quote!(#single),
            _ => quote_spanned!(self.span=> (#(#types,)*)),
        }
    }

    fn input_pattern(&self) -> TokenStream {
        let pats = &self.pats;
        match pats.as_slice() {
            [single] => quote!(#single),
            _ => quote!((#(#pats,)*)),
        }
    }

    fn input_value(&self) -> TokenStream {
        let args = &self.args;
        match args.as_slice() {
            [single] => quote!(#single),
            _ => quote!((#(#args,)*)),
        }
    }
}

/// `fn compensation(site)`: how each site with an undo is undone, by name.
fn compensation_table(
    private: &TokenStream,
    sites: &[Site],
    (type_params, workflow_params): (&[syn::Ident], &[syn::Ident]),
) -> TokenStream {
    let site = local("__site");
    let value = local("__value");
    let arms = sites.iter().filter_map(|s| {
        let name = &s.name;
        let entry = match s.undo.as_ref()? {
            Undo::Step(compensate) => {
                let func = &compensate.func;
                let retry = match &compensate.retry {
                    Some(retry) => retry_policy(private, retry, &|expr| expr.to_token_stream()),
                    None => quote!(#private::Compensation::DEFAULT_RETRY),
                };
                quote! {
                    #private::compensate_step(#retry, |#value| #private::undo_with(#func, #value))
                }
            }
            Undo::Call(func) => {
                if let Some(param) = super::step::type_param_target(func, type_params) {
                    // A parameter that cannot be a workflow is refused at the call.
                    if !workflow_params.contains(param) {
                        return None;
                    }
                    return Some(quote!(#name => #private::call_compensation(#private::workflow_of::<#param>()),));
                }
                return Some(quote! {
                    #name => {
                        use #private::{CallCompensation as _, NotAWorkflow as _};
                        #[allow(unused_imports)]
                        use #private::{ResolveGeneric as _, ResolveOther as _, ResolvePlain as _};
                        (&#private::CallOf((&&&#private::Target::new(#func)).resolve())).compensation()
                    }
                });
            }
        };
        Some(quote!(#name => ::core::option::Option::Some(#entry),))
    });
    quote! {
        fn compensation(#site: &str) -> ::core::option::Option<#private::Compensation> {
            match #site {
                #(#arms)*
                _ => ::core::option::Option::None,
            }
        }
    }
}

/// The `Workflow` impl's types and the constants every expansion has, the
/// skeleton's too: what the workflow takes and gives, and who it is.
pub(super) fn identity(
    private: &TokenStream,
    def: &WorkflowDef,
    input_type: &TokenStream,
    (ok_type, err_type): (&Type, &Type),
) -> TokenStream {
    let name = &def.name;
    let generics = Generics::of(def);
    let args = generics.args();
    let instance = generics.instance_fns(private);
    quote! {
        type Input = #input_type;
        type Output = #ok_type;
        type Error = #err_type;
        const NAME: &'static str = <#name #args>::NAME;
        const MERMAID: &'static str = <#name #args>::MERMAID;
        const DEFINITION_HASH: u64 = <#name #args>::DEFINITION_HASH;
        #instance
    }
}
