//! Stream loops: the source opened through the run context, items pulled one
//! at a time (or run `limit` at once), accumulators journaled at checkpoints.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::paths::{ctx_at, local, loop_index};
use super::shared::bound_names;
use super::step::StepExpander;
use crate::model::{Loop, Rust, StreamSite};

/// By default a stream loop checkpoints every this many items…
const EVERY: u64 = 1_000;
/// …or this many milliseconds, whichever comes first.
const INTERVAL_MILLIS: u64 = 10_000;

impl StepExpander<'_> {
    /// The loop's spec, its source opened (after its checkpoint when the run
    /// resumes), as `__stream`; the tokens return the workflow's error if
    /// that fails.
    fn open_stream(&self, stream: &StreamSite<'_>, expr: &Rust<'_>, depth: usize) -> TokenStream {
        let private = &self.private;
        let span = syn::spanned::Spanned::span(expr.expr);
        let ctx = ctx_at(span);
        let name = &self.sites[stream.site].name;
        let indices = (0..depth).map(loop_index);
        let options = &stream.syntax.stream;
        let every = options.every.as_ref().map_or(EVERY, |(_, every)| *every);
        let millis = options
            .interval
            .as_ref()
            .map_or(INTERVAL_MILLIS, |(_, interval)| interval.millis);
        let source = self.rust(expr);
        let opened = local("__stream");
        let error = local("__error");
        let give_up = self.give_up(span);
        quote! {
            let #opened = {
                let __stream_source = #source;
                let __stream_path = [#(#indices),*];
                let __stream_spec = #private::StreamSpec::new(
                    #name,
                    &__stream_path,
                    #every,
                    ::core::option::Option::Some(::core::time::Duration::from_millis(#millis)),
                );
                match #ctx.stream(__stream_spec, __stream_source).await {
                    ::core::result::Result::Ok(#opened) => #opened,
                    ::core::result::Result::Err(#error) => #give_up,
                }
            };
        }
    }

    /// `return Err(..)` of a stream loop's `__error`, converted to the
    /// workflow's error type at `span`.
    fn give_up(&self, span: proc_macro2::Span) -> TokenStream {
        let private = &self.private;
        let err_type = self.err_type;
        let error = local("__error");
        quote_spanned! {span=>
            return ::core::result::Result::Err(
                <_ as #private::IntoWorkflowError<#err_type>>::into_workflow_error(#error),
            )
        }
    }

    /// `stream(every = n) for pat in source { body }`: items one at a time;
    /// the accumulators are restored from the checkpoint the run resumes
    /// from and encoded at each checkpoint (said at their bindings when
    /// their type cannot be).
    pub(super) fn stream_loop(
        &self,
        looped: &Loop<'_>,
        stream: &StreamSite<'_>,
        pat: &syn::Pat,
        expr: &Rust<'_>,
    ) -> TokenStream {
        let private = &self.private;
        let span = syn::spanned::Spanned::span(expr.expr);
        let open = self.open_stream(stream, expr, looped.depth);
        let opened = local("__stream");
        let error = local("__error");
        let value = local("__value");
        let give_up = self.give_up(span);
        let accumulators: Vec<&syn::Ident> = stream
            .accumulators
            .iter()
            .map(|binding| &binding.ident)
            .collect();
        // Every use is the same call at the binding, so a type that cannot
        // be checkpointed is one error there.
        let slot =
            |ident: &syn::Ident| quote_spanned!(ident.span()=> #private::accumulator(&mut #ident));
        let restore = accumulators.iter().enumerate().map(|(index, ident)| {
            let slot = slot(ident);
            quote! {
                if let ::core::result::Result::Err(#error) = #slot.restore(&#opened, #index) {
                    #give_up;
                }
            }
        });
        let encoded = accumulators.iter().map(|ident| {
            let slot = slot(ident);
            quote!(#slot.encode())
        });
        let state = quote!(|| ::std::vec![#(#encoded),*]);
        let index = loop_index(looped.depth);
        let position = local("__item_position");
        let body = self.shadowed(bound_names(pat), || self.stmts(&looped.body));
        quote! {{
            #open
            let mut #opened = #opened;
            if #opened.resumed() {
                #(#restore)*
            }
            loop {
                let (#position, #pat) = match #opened.next(#state).await {
                    ::core::result::Result::Ok(::core::option::Option::Some(#value)) => #value,
                    ::core::result::Result::Ok(::core::option::Option::None) => break,
                    ::core::result::Result::Err(#error) => #give_up,
                };
                let #index: u32 = #position;
                #body
            }
            match #opened.finish(#state).await {
                ::core::result::Result::Ok(()) => {}
                ::core::result::Result::Err(#error) => #give_up,
            }
        }}
    }

    /// `stream(limit = n) for pat in source { body }`: the body as the
    /// fan-out's closure, run for up to `n` items at once.
    pub(super) fn stream_fan_out(
        &self,
        stream: &StreamSite<'_>,
        expr: &Rust<'_>,
        depth: usize,
        limit: &TokenStream,
        share: &TokenStream,
        closure: &TokenStream,
    ) -> TokenStream {
        let private = &self.private;
        let span = syn::spanned::Spanned::span(expr.expr);
        let open = self.open_stream(stream, expr, depth);
        let opened = local("__stream");
        let error = local("__error");
        let give_up = self.give_up(span);
        let limit_local = local("__limit");
        quote! {{
            let #limit_local: usize = #limit;
            #open
            #share
            match #opened.for_each_parallel(#limit_local, #closure).await {
                ::core::result::Result::Ok(()) => {}
                ::core::result::Result::Err(#private::ParallelStream::Source(#error)) => #give_up,
                ::core::result::Result::Err(#private::ParallelStream::Body(#error)) => {
                    return ::core::result::Result::Err(#error);
                }
            }
        }}
    }
}
