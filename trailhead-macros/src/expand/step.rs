//! Steps and calls: each becomes one call into the run context, awaited, with its
//! failure turned into the workflow's error type. (One file of some 430 lines:
//! every kind of site ends in the same `finish`, which reads best beside them.)

use std::cell::RefCell;
use std::collections::BTreeSet;

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::{Ident, Type};

use super::paths::{ctx_at, local, loop_index};
use super::policy::{duration, step_policy};
use super::shared::deref_shared;
use crate::model::options::StepOptions;
use crate::model::signals::{SignalDecl, value_of};
use crate::model::{Call, Signal, Site, Sleep, Step};
use crate::parse::Target;

/// Expands the steps, calls and control flow of one workflow body.
pub(crate) struct StepExpander<'a> {
    pub(super) private: TokenStream,
    pub(super) err_type: &'a Type,
    /// The workflow's input type, which `continue_as_new(..)` is given.
    pub(super) input_type: TokenStream,
    pub(super) sites: &'a [Site],
    pub(super) signals: &'a [SignalDecl<'a>],
    /// The workflow's type parameters: `call W(input)` calls the workflow
    /// a parameter stands for.
    pub(super) type_params: Vec<Ident>,
    /// Those of them that may stand for a workflow (see
    /// `Generics::workflow_params`).
    pub(super) workflow_params: Vec<Ident>,
    /// Names bound as shared references here (see `shared`); their uses are
    /// written `(*name)`.
    pub(super) shared: RefCell<BTreeSet<String>>,
}

impl StepExpander<'_> {
    /// A piece of the user's plain Rust, with shared names dereferenced.
    pub(super) fn user(&self, expr: &syn::Expr) -> TokenStream {
        deref_shared(expr, &self.shared.borrow()).to_token_stream()
    }

    /// Runs `f` with the names `pat` binds no longer shared (they shadow).
    pub(super) fn shadowed<T>(&self, names: Vec<String>, f: impl FnOnce() -> T) -> T {
        let saved = self.shared.borrow().clone();
        for name in names {
            self.shared.borrow_mut().remove(&name);
        }
        let out = f();
        *self.shared.borrow_mut() = saved;
        out
    }

    pub(super) fn step(&self, step: &Step<'_>) -> TokenStream {
        let private = &self.private;
        let span = step.syntax.target.span();
        let ctx = ctx_at(span);
        let site = &self.sites[step.site];
        let name = &site.name;
        let path = key_path(step.depth);
        let policy = step_policy(private, step.options, &|expr| self.user(expr));
        // The arguments described for the debugger, only when the engine
        // debugs; the step's future borrows them.
        let described = local("__described");
        let descriptions = self.describe_args(&step.syntax.target);
        let describe = quote! {
            let #described = #ctx.debugging(#name).then(|| ::std::vec![#(#descriptions),*]);
        };
        let spec = step_spec(private, name, &path, &policy);
        let spec = quote!(#spec.described(::core::option::Option::as_deref(&#described)));
        let spec = if step.streamed {
            quote!(#spec.streamed())
        } else {
            spec
        };
        // Without `when`, an error is retried when its class is transient: its
        // type's `Classify` impl, else the default (autoref specialization, see
        // `Classified`). The closure comes after the attempt's, so the error's
        // type is known when it is checked.
        let retry_if = match step.options.retry.as_ref().and_then(|r| r.when.as_ref()) {
            Some(when) => self.user(when),
            None => {
                let error = local("__error");
                quote! {
                    |#error| {
                        use #private::{ClassifyByDefault as _, ClassifyByImpl as _};
                        #private::ErrorClass::is_transient(
                            (&#private::Classified(#error)).error_class(),
                        )
                    }
                }
            }
        };
        // Through `StepReturn`, every token at the step's function: what rustc
        // says about the function's result lands there, once.
        let journal_error = journal_error(private);
        let (prelude, invoke) = if step.syntax.blocking.is_some() {
            let (bindings, call) = self.owned_call(&step.syntax.target);
            let bindings = quote!(#describe #bindings);
            let thunk = quote!(move || #call);
            let invoke = quote_spanned! {span=>
                <_ as #private::StepReturn>::blocking(
                    #ctx, #spec, #thunk, #retry_if, #journal_error,
                )
            };
            (bindings, invoke)
        } else if step.options.retry.is_some() {
            let thunk = self.thunk(&step.syntax.target);
            let invoke = quote_spanned! {span=>
                <_ as #private::StepReturn>::retried(
                    #ctx, #spec, #thunk, #retry_if, #journal_error,
                )
            };
            (describe, invoke)
        } else {
            let thunk = self.thunk(&step.syntax.target);
            let classify = classify(private);
            let invoke = quote_spanned! {span=>
                <_ as #private::StepReturn>::once(
                    #ctx, #spec, #thunk, #classify, #journal_error,
                )
            };
            (describe, invoke)
        };
        self.finish(&prelude, &invoke, step.options, (name, &path), span)
    }

    /// `sleep 5s`: the run context's durable sleep, its failure (a journal
    /// error) converted like a step's.
    pub(super) fn sleep(&self, sleep: &Sleep<'_>) -> TokenStream {
        let private = &self.private;
        let span = sleep.syntax.sleep_token.span;
        let ctx = ctx_at(span);
        let name = &self.sites[sleep.site].name;
        let path = key_path(sleep.depth);
        let duration = duration(private, &sleep.syntax.duration, &|expr| self.user(expr));
        let invoke = quote!(#ctx.sleep(#name, #path, #duration));
        self.finish_plain(&invoke, (name, &path), span)
    }

    /// `signal "name"`: waits for the run's signal, its failure converted
    /// like a step's; with `.timeout(..)` the value is an `Option`. Said at
    /// the declared type: whether it can be journaled, and at a later site
    /// of the name, whether it is the first site's.
    pub(super) fn signal(&self, signal: &Signal<'_>) -> TokenStream {
        let private = &self.private;
        let value = value_of(signal).expect("checked while lowering");
        let span = syn::spanned::Spanned::span(value);
        let ctx = ctx_at(span);
        let name = &self.sites[signal.site].name;
        let path = key_path(signal.depth);
        let signal_name = &signal.syntax.name;
        let invoke = match &signal.syntax.timeout {
            None => quote_spanned! {span=>
                <_ as #private::SignalValue>::receive(
                    ::core::marker::PhantomData::<#value>, #ctx, #name, #path, #signal_name,
                )
            },
            Some(timeout) => {
                let within = duration(private, timeout, &|expr| self.user(expr));
                quote_spanned! {span=>
                    <_ as #private::SignalValue>::receive_within(
                        ::core::marker::PhantomData::<#value>, #ctx, #name, #path, #signal_name, #within,
                    )
                }
            }
        };
        let first = self
            .signals
            .iter()
            .find(|decl| decl.name == signal_name.value())
            .filter(|decl| decl.first != signal.site);
        let prelude = match first {
            Some(first) => {
                let first = first.value;
                quote_spanned! {span=>
                    <#value as #private::SameSignalType<#first>>::same();
                }
            }
            None => TokenStream::new(),
        };
        self.finish(
            &prelude,
            &invoke,
            &StepOptions::default(),
            (name, &path),
            span,
        )
    }

    pub(super) fn call(&self, call: &Call<'_>) -> TokenStream {
        let private = &self.private;
        let name = &self.sites[call.site].name;
        let path = key_path(call.depth);
        let Target::Function {
            func,
            args,
            paren_span,
        } = &call.syntax.target
        else {
            unreachable!("`call` parses function targets only")
        };
        let span = func_span(func);
        let ctx = ctx_at(span);
        let call_value = local("__call");
        if let Some(param) = type_param_target(func, &self.type_params) {
            if !self.workflow_params.contains(param) {
                let message = format!(
                    "`{param}` is called as a workflow, but nothing says it is one: \
                     add the bound `{param}: trailhead::Workflow`"
                );
                return quote_spanned!(span=> ::core::compile_error!(#message));
            }
            // `call W(a, b)`: the workflow `W` stands for, given its input
            // as the workflow's own typed function would pack it.
            let args: Vec<TokenStream> = args.iter().map(|arg| self.user(arg)).collect();
            let input = match args.as_slice() {
                [single] => quote!(#single),
                _ => quote_spanned!(*paren_span=> (#(#args,)*)),
            };
            let prelude = quote_spanned! {span=>
                let #call_value = (#private::workflow_of::<#param>(), #input);
            };
            let invoke = quote!(#ctx.call(#name, #path, #call_value.0, #call_value.1));
            return self.finish(&prelude, &invoke, call.options, (name, &path), span);
        }
        let args = parenthesized(self.args(args), *paren_span);
        // `CallableWorkflow` is implemented by each workflow's struct, whose
        // typed `__call` checks the arguments against its parameters. For
        // anything else rustc says "not a workflow" at `func`, once: the
        // workflow type is then unknown, which silences the rest of the call.
        // The target is bound to a name at `func` so that both places rustc
        // may point at are the same token.
        let target = syn::Ident::new("__call_target", span);
        let prelude = quote_spanned! {span=>
            let #target = {
                #[allow(unused_imports)]
                use #private::{ResolveGeneric as _, ResolveOther as _, ResolvePlain as _};
                (&&&#private::Target::new(#func)).resolve()
            };
            let #call_value = <_ as #private::CallableWorkflow>::workflow(#target).__call #args;
        };
        let invoke = quote!(#ctx.call(#name, #path, #call_value.0, #call_value.1));
        self.finish(&prelude, &invoke, call.options, (name, &path), span)
    }

    /// [`finish`](Self::finish) for a site without prelude or options (sleep, signal).
    fn finish_plain(
        &self,
        invoke: &TokenStream,
        site: (&str, &TokenStream),
        span: Span,
    ) -> TokenStream {
        self.finish(
            &TokenStream::new(),
            invoke,
            &StepOptions::default(),
            site,
            span,
        )
    }

    /// Runs `prelude`, awaits `invoke` and returns early with the workflow's error
    /// on failure. The prelude's locals and the key path's temporary live until the
    /// step is done: the step's future borrows them.
    fn finish(
        &self,
        prelude: &TokenStream,
        invoke: &TokenStream,
        options: &StepOptions,
        (site, path): (&str, &TokenStream),
        span: Span,
    ) -> TokenStream {
        let private = &self.private;
        let err_type = self.err_type;
        let value = local("__value");
        let error = local("__error");
        let convert = match &options.map_err {
            Some(map_err) => {
                let map_err = self.user(map_err);
                quote_spanned!(span=> #private::map_step_error(#error, #map_err))
            }
            None => quote_spanned!(span=>
                <_ as #private::IntoWorkflowError<#err_type>>::into_workflow_error(#error)
            ),
        };
        let give_up = quote!(return ::core::result::Result::Err(#convert));
        // `.fallback(value)`: the value instead of the failure it covers.
        let failed = match &options.fallback {
            // `.fallback(step f(x))`: a step instead, then its value as above.
            Some(_) if let Some(target) = &options.fallback_step => {
                let ctx = ctx_at(span);
                let thunk = self.thunk(target);
                let name = format!("{site}.fallback");
                let instead = local("__instead");
                let classify = classify(private);
                let journal_error = journal_error(private);
                let policy = quote!(#private::StepPolicy::new());
                let spec = step_spec(private, &name, path, &policy);
                let fallback = quote_spanned! {target.span()=>
                    <_ as #private::StepReturn>::once(
                        #ctx, #spec, #thunk, #classify, #journal_error,
                    )
                    .await
                };
                quote! {{
                    if !#error.failure.falls_back() {
                        #give_up;
                    }
                    let #instead = match #fallback {
                        ::core::result::Result::Ok(#value) => #value,
                        ::core::result::Result::Err(#error) => {
                            return ::core::result::Result::Err(
                                <_ as #private::IntoWorkflowError<#err_type>>::into_workflow_error(#error),
                            );
                        }
                    };
                    match #ctx.fall_back(#error, || #instead).await {
                        ::core::result::Result::Ok(#value) => #value,
                        ::core::result::Result::Err(#error) => #give_up,
                    }
                }}
            }
            Some(fallback) => {
                let ctx = ctx_at(span);
                let fallback = self.user(fallback);
                quote! {
                    match #ctx.fall_back(#error, || #fallback).await {
                        ::core::result::Result::Ok(#value) => #value,
                        ::core::result::Result::Err(#error) => #give_up,
                    }
                }
            }
            None => quote!({ #give_up; }),
        };
        // `.compensate(f)`: `f` must take the step's output; said at `f`.
        let invoke = match &options.compensate {
            Some(compensate) => {
                let func = &compensate.func;
                quote_spanned!(syn::spanned::Spanned::span(func)=> #private::compensated(#invoke, &#func))
            }
            None => invoke.clone(),
        };
        let awaited = quote_spanned!(span=> #invoke.await);
        quote! {{
            #prelude
            match #awaited {
                ::core::result::Result::Ok(#value) => #value,
                ::core::result::Result::Err(#error) => #failed,
            }
        }}
    }
}

/// The step's fixed part, built once at its site: its name, loop indices
/// (see [`key_path`]) and policy.
fn step_spec(
    private: &TokenStream,
    name: &str,
    path: &TokenStream,
    policy: &TokenStream,
) -> TokenStream {
    quote!(#private::StepSpec::new(#name, #path, #policy))
}

/// `&[__loop_index_0, __loop_index_1, …]`: the step's place in the loops around it.
fn key_path(depth: usize) -> TokenStream {
    let indices = (0..depth).map(loop_index);
    quote!(&[#(#indices),*])
}

impl StepExpander<'_> {
    /// The arguments of a call, each with shared names dereferenced.
    fn args(&self, args: &syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>) -> TokenStream {
        let args = args.iter().map(|arg| self.user(arg));
        quote!(#(#args),*)
    }

    /// Each argument's description for the debugger: a place (a name, a
    /// field, an index, a literal, a reference to one) is borrowed and
    /// described (its `Debug` text, or its type's name); any other
    /// expression is shown as written, not evaluated a second time.
    fn describe_args(&self, target: &Target) -> Vec<TokenStream> {
        let private = &self.private;
        target
            .args()
            .iter()
            .map(|arg| {
                if is_place(arg) {
                    let arg = self.user(arg);
                    quote! {{
                        use #private::{DescribeDebug as _, DescribeType as _};
                        (&#private::Described(&(#arg))).describe()
                    }}
                } else {
                    let text = format!(
                        "`{}`",
                        crate::mermaid::text::tokens_text(&arg.to_token_stream())
                    );
                    quote!(::std::string::String::from(#text))
                }
            })
            .collect()
    }

    /// `|| call`: the closure is the macro's (lints on it are not the
    /// user's), the call the user's.
    fn thunk(&self, target: &Target) -> TokenStream {
        let call = self.call_tokens(target);
        quote!(|| #call)
    }

    /// The call as the user wrote it, spans kept.
    fn call_tokens(&self, target: &Target) -> TokenStream {
        match target {
            Target::Function {
                func,
                args,
                paren_span,
            } => {
                let args = parenthesized(self.args(args), *paren_span);
                quote!(#func #args)
            }
            Target::Method {
                receiver,
                method,
                turbofish,
                args,
                paren_span,
            } => {
                let receiver = self.user(receiver);
                let args = parenthesized(self.args(args), *paren_span);
                quote!(#receiver.#method #turbofish #args)
            }
        }
    }

    /// For a blocking step: the receiver and arguments evaluated once into locals,
    /// and a call that clones them, so the closure is `'static` and can run once
    /// per attempt.
    fn owned_call(&self, target: &Target) -> (TokenStream, TokenStream) {
        let mut bindings = TokenStream::new();
        let mut cloned = Vec::new();
        for (i, arg) in target.args().iter().enumerate() {
            let local = local(&format!("__arg_{i}"));
            let value = self.user(arg);
            bindings
                .extend(quote_spanned!(syn::spanned::Spanned::span(arg)=> let #local = #value;));
            cloned.push(quote!(::core::clone::Clone::clone(&#local)));
        }
        let (args, paren_span) = match target {
            Target::Function { paren_span, .. } | Target::Method { paren_span, .. } => {
                (quote!(#(#cloned),*), *paren_span)
            }
        };
        let args = parenthesized(args, paren_span);
        let call = match target {
            Target::Function { func, .. } => quote!(#func #args),
            Target::Method {
                receiver,
                method,
                turbofish,
                ..
            } => {
                let local = local("__receiver");
                let receiver = self.user(receiver);
                bindings.extend(quote!(let #local = #receiver;));
                quote!(::core::clone::Clone::clone(&#local).#method #turbofish #args)
            }
        };
        (bindings, call)
    }
}

/// Whether borrowing `expr` evaluates nothing that could move, change or
/// run code twice: a path, a literal, a field, an index by a place, a
/// dereference, a cast, a reference to one of these.
fn is_place(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Path(_) | syn::Expr::Lit(_) => true,
        syn::Expr::Field(field) => is_place(&field.base),
        syn::Expr::Index(index) => is_place(&index.expr) && is_place(&index.index),
        syn::Expr::Reference(reference) => is_place(&reference.expr),
        syn::Expr::Paren(paren) => is_place(&paren.expr),
        syn::Expr::Cast(cast) => is_place(&cast.expr),
        syn::Expr::Unary(unary) => matches!(unary.op, syn::UnOp::Deref(_)) && is_place(&unary.expr),
        _ => false,
    }
}

fn parenthesized(inner: TokenStream, span: Span) -> TokenStream {
    let mut group = Group::new(Delimiter::Parenthesis, inner);
    group.set_span(span);
    TokenTree::Group(group).into()
}

fn func_span(func: &syn::Expr) -> Span {
    match func {
        syn::Expr::Path(path) => path
            .path
            .segments
            .last()
            .map_or_else(Span::call_site, |s| s.ident.span()),
        other => syn::spanned::Spanned::span(other),
    }
}

/// The closure giving a step error's class: its type's `Classify` impl, else
/// transient (autoref specialization, see `Classified`). Closures come after
/// the attempt's, so the error's type is known when they are checked.
fn classify(private: &TokenStream) -> TokenStream {
    let error = local("__error");
    quote! {
        |#error| {
            use #private::{ClassifyByDefault as _, ClassifyByImpl as _};
            (&#private::Classified(#error)).error_class()
        }
    }
}

/// The two closures that journal a step's error and read it back when its type
/// implements serde's traits (autoref specialization, see `ErrorEncoder`), so
/// a failed step replays as the same error.
fn journal_error(private: &TokenStream) -> TokenStream {
    let error = local("__error");
    let value = local("__value");
    let slot = local("__slot");
    quote! {
        |#error| {
            use #private::{EncodeErrorByDefault as _, EncodeErrorByImpl as _};
            (&#private::ErrorEncoder(#error)).encode_error()
        },
        |#value, #slot| {
            use #private::{DecodeErrorByDefault as _, DecodeErrorByImpl as _};
            (&#private::ErrorDecoder(#value, #slot)).decode_error();
        }
    }
}

/// The type parameter a `call` names as its target (`call W(input)` in a
/// workflow generic over `W`), if it names one.
pub(super) fn type_param_target<'t>(
    func: &syn::Expr,
    type_params: &'t [Ident],
) -> Option<&'t Ident> {
    let syn::Expr::Path(path) = func else {
        return None;
    };
    let ident = path.path.get_ident()?;
    (path.qself.is_none()).then_some(())?;
    type_params.iter().find(|param| *param == ident)
}
