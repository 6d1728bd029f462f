//! A generic workflow, `workflow each<T: Item>(..)`: a template whose every
//! instance (`each::<Order>`) is a workflow of its own.
//!
//! A generic struct cannot be a unit struct, so the struct of a generic
//! workflow is a tuple struct around the runtime's `Instance` marker: its
//! constructor is then a value (`each::<Order>`, or `each` with the type
//! inferred) that `call` takes like a unit struct. Each instance names
//! itself with its type arguments, and mixes that name into its hash, so a
//! run recorded by `each<A>` resumes only under `each<A>`.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{GenericParam, Ident, TypeParamBound, WherePredicate};

use crate::parse::WorkflowDef;

/// The parts of a definition's generics each generated item needs.
pub(super) struct Generics<'a> {
    def: &'a WorkflowDef,
}

impl<'a> Generics<'a> {
    pub(super) fn of(def: &'a WorkflowDef) -> Self {
        Generics { def }
    }

    pub(super) fn is_generic(&self) -> bool {
        !self.def.generics.params.is_empty()
    }

    /// The type parameters, which `call T(input)` may name.
    pub(super) fn type_params(&self) -> Vec<Ident> {
        self.def
            .generics
            .type_params()
            .map(|param| param.ident.clone())
            .collect()
    }

    /// `<T, const N: usize>`: the struct's parameters, without bounds (the
    /// impls carry them) or defaults.
    pub(super) fn struct_params(&self) -> TokenStream {
        if !self.is_generic() {
            return TokenStream::new();
        }
        let params = self.def.generics.params.iter().map(|param| match param {
            GenericParam::Type(ty) => ty.ident.to_token_stream(),
            GenericParam::Const(c) => {
                let (ident, ty) = (&c.ident, &c.ty);
                quote!(const #ident: #ty)
            }
            GenericParam::Lifetime(l) => l.lifetime.to_token_stream(),
        });
        quote!(<#(#params),*>)
    }

    /// `<T, N>`: the struct's type as the impls name it.
    pub(super) fn args(&self) -> TokenStream {
        let (_, args, _) = self.def.generics.split_for_impl();
        args.to_token_stream()
    }

    /// `impl<T: Item> … for each<T> where …, T: 'static`: the header of every
    /// impl. A workflow is `'static` (its runs outlive the caller), so each
    /// type parameter is too; the user's bounds come as written.
    pub(super) fn impl_header(&self) -> (TokenStream, TokenStream) {
        let (params, _, _) = self.def.generics.split_for_impl();
        let mut predicates: Vec<TokenStream> = self
            .def
            .generics
            .where_clause
            .iter()
            .flat_map(|clause| clause.predicates.iter())
            .map(ToTokens::to_token_stream)
            .collect();
        predicates.extend(
            self.type_params()
                .into_iter()
                .map(|ident| quote!(#ident: 'static)),
        );
        let clause = if predicates.is_empty() {
            TokenStream::new()
        } else {
            quote!(where #(#predicates),*)
        };
        (params.to_token_stream(), clause)
    }

    /// The instance's own name, hash and chart, for the `Workflow` impl of a
    /// generic workflow (a plain one keeps the trait's defaults).
    pub(super) fn instance_fns(&self, private: &TokenStream) -> TokenStream {
        if !self.is_generic() {
            return TokenStream::new();
        }
        let name = self.def.name.to_string();
        let args = self
            .def
            .generics
            .params
            .iter()
            .filter_map(|param| match param {
                GenericParam::Type(ty) => {
                    let ident = &ty.ident;
                    Some(if self.bounded_by_workflow(ident) {
                        quote!(&<#ident as #private::Workflow>::name())
                    } else {
                        quote!(&#private::type_argument::<#ident>())
                    })
                }
                GenericParam::Const(c) => {
                    let ident = &c.ident;
                    Some(quote!(&#ident))
                }
                GenericParam::Lifetime(_) => None,
            });
        quote! {
            fn name() -> &'static str {
                #private::instance_name::<Self>(#name, &[#(#args),*])
            }
            fn definition_hash() -> u64 {
                #private::instance_hash::<Self>(<Self as #private::Workflow>::DEFINITION_HASH)
            }
            fn mermaid() -> &'static str {
                #private::instance_mermaid::<Self>(<Self as #private::Workflow>::MERMAID)
            }
        }
    }

    /// The type parameters that may stand for a workflow: bounded by
    /// `Workflow`, or by some trait that may extend it (anything but the
    /// standard marker traits). `call T(..)` of another is refused at once,
    /// instead of by rustc at each place the call needs a workflow.
    pub(super) fn workflow_params(&self) -> Vec<Ident> {
        const MARKERS: &[&str] = &[
            "Copy", "Clone", "Send", "Sync", "Sized", "Default", "Debug", "Unpin",
        ];
        self.type_params()
            .into_iter()
            .filter(|ident| {
                self.bounds(ident).any(|bound| match bound {
                    TypeParamBound::Trait(bound) => bound
                        .path
                        .segments
                        .last()
                        .is_some_and(|segment| !MARKERS.iter().any(|m| segment.ident == m)),
                    _ => false,
                })
            })
            .collect()
    }

    /// Whether `ident` is bounded by `Workflow` (inline or in the `where`
    /// clause): an instance then names it by its workflow name, which the
    /// user chose, rather than by its Rust type path.
    fn bounded_by_workflow(&self, ident: &Ident) -> bool {
        self.bounds(ident).any(|bound| match bound {
            TypeParamBound::Trait(bound) => bound
                .path
                .segments
                .last()
                .is_some_and(|segment| segment.ident == "Workflow"),
            _ => false,
        })
    }

    /// The bounds on type parameter `ident`, inline and in the `where` clause.
    fn bounds<'s>(&'s self, ident: &'s Ident) -> impl Iterator<Item = &'s TypeParamBound> + 's {
        let generics = &self.def.generics;
        let inline = generics
            .type_params()
            .filter(|param| param.ident == *ident)
            .flat_map(|param| param.bounds.iter());
        let clause = generics
            .where_clause
            .iter()
            .flat_map(|clause| clause.predicates.iter())
            .filter_map(|predicate| match predicate {
                WherePredicate::Type(predicate) => Some(predicate),
                _ => None,
            })
            .filter(|predicate| {
                matches!(&predicate.bounded_ty, syn::Type::Path(path)
                    if path.qself.is_none() && path.path.is_ident(ident))
            })
            .flat_map(|predicate| predicate.bounds.iter());
        inline.chain(clause)
    }
}
