//! A fan-out: the body becomes an async closure the runtime calls once per item.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::paths::{local, loop_index};
use super::shared::bound_names;
use super::step::StepExpander;
use crate::model::FanOut;

impl StepExpander<'_> {
    /// `fan_out(limit, items, async |index, pat| Ok({ body }))`, awaited; the
    /// first failing item fails the workflow. Inside, the item's index is the
    /// loop index at this depth, so the body's steps are keyed per item.
    pub(super) fn fan_out(&self, fan_out: &FanOut<'_>) -> TokenStream {
        let private = &self.private;
        let err_type = self.err_type;
        let limit = match &fan_out.syntax.limit {
            Some(limit) => self.user(limit),
            None => quote!(::core::primitive::usize::MAX),
        };
        let items = self.rust(&fan_out.expr);
        let pat = &fan_out.syntax.pat;
        let index = loop_index(fan_out.depth);
        let item_index = local("__item_index");
        // Outer bindings the body uses are shared by reference with every
        // iteration (`mut` ones were refused by `check`); names shared already
        // are references and are copied as they are.
        let mut share = TokenStream::new();
        let mut names = Vec::new();
        for capture in &fan_out.captures {
            let ident = &capture.ident;
            let name = ident.to_string();
            if !self.shared.borrow().contains(&name) {
                share.extend(quote_spanned!(ident.span()=> let #ident = &#ident;));
            }
            names.push(name);
        }
        let body = self.shadowed(Vec::new(), || {
            self.shared.borrow_mut().extend(names);
            self.shadowed(bound_names(pat), || self.stmts(&fan_out.body))
        });
        let values = local("__values");
        let error = local("__error");
        // Through `FanOutItems`, at the items: a value `for` cannot go over is
        // one error there (the item type is then unknown, so the body is not
        // judged again). The items' local is named at the same token for that.
        let span = syn::spanned::Spanned::span(fan_out.expr.expr);
        let items_local = syn::Ident::new("__fan_out_items", span);
        let limit_local = local("__limit");
        let closure = quote! {
            move |#item_index: u32, #pat| async move {
                let #index: u32 = #item_index;
                ::core::result::Result::<_, #err_type>::Ok({ #body })
            }
        };
        if let Some(stream) = &fan_out.stream {
            return self.stream_fan_out(
                stream,
                &fan_out.expr,
                fan_out.depth,
                &limit,
                &share,
                &closure,
            );
        }
        let method = if fan_out.syntax.collect_all {
            quote_spanned!(span=> fan_out_all)
        } else {
            quote_spanned!(span=> fan_out)
        };
        let run = quote_spanned! {span=>
            <_ as #private::FanOutItems>::#method(#items_local, #limit_local, #closure).await
        };
        if fan_out.syntax.collect_all {
            return quote! {{
                let #items_local = #items;
                let #limit_local: usize = #limit;
                #share
                #run
            }};
        }
        quote! {{
            // Items and limit are evaluated first, before the shared names shadow.
            let #items_local = #items;
            let #limit_local: usize = #limit;
            #share
            match #run {
                ::core::result::Result::Ok(#values) => #values,
                ::core::result::Result::Err(#error) => {
                    return ::core::result::Result::Err(#error);
                }
            }
        }}
    }
}
