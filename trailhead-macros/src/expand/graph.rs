//! A block that runs along its dependency graph (see `model::graph`).
//!
//! ```text
//! let __slot_0_flight = Slot::new();         // one per binding handed between statements
//! let __done_0 = Done::new();                // one per statement another group waits for
//! {
//!     let mut __group_0 = pin!(async {       // one async block per group, in the run's task
//!         let flight = step book_flight(..); // the statement as written
//!         __slot_0_flight.set(flight);       // handed on
//!         __done_0.set();
//!         Ok(())
//!     });
//!     let mut __group_1 = pin!(async {
//!         __done_0.wait().await;             // starts when its inputs are ready
//!         let flight = __slot_0_flight.get();// shared: uses read `(*flight)`
//!         step assign_seat(&(*flight));
//!         Ok(())
//!     });
//!     run_graph(&mut [__group_0, __group_1]).await?;  // first error stops the rest
//! }
//! let flight = __slot_0_flight.into_inner(); // the tail owns what it reads
//! Ok(flight)
//! ```

use proc_macro2::TokenStream;
use quote::quote;

use super::paths::local;
use super::step::StepExpander;
use crate::model::graph::{Plan, SlotPlan};
use crate::model::{Block, Stmt};

fn slot_ident(slot: &SlotPlan) -> syn::Ident {
    local(&format!("__slot_{}_{}", slot.producer, slot.binding.ident))
}

fn done_ident(stmt: usize) -> syn::Ident {
    local(&format!("__done_{stmt}"))
}

impl StepExpander<'_> {
    pub(super) fn graph(&self, block: &Block<'_>, plan: &Plan) -> TokenStream {
        let private = &self.private;
        let err_type = self.err_type;
        let items = block
            .stmts
            .iter()
            .filter(|stmt| matches!(stmt, Stmt::Item(_)))
            .map(|stmt| self.stmt(stmt));
        let slots = plan.slots.iter().map(|slot| {
            let ident = slot_ident(slot);
            quote!(let #ident = #private::Slot::new();)
        });
        let signals = plan.stmts.iter().filter(|(_, s)| s.awaited).map(|(&i, _)| {
            let ident = done_ident(i);
            quote!(let #ident = #private::Done::new();)
        });
        let mut groups = Vec::new();
        let mut pins = Vec::new();
        for (g, group) in plan.groups.iter().enumerate() {
            let ident = local(&format!("__group_{g}"));
            let body = self.shadowed(Vec::new(), || self.group(block, plan, group));
            groups.push(quote! {
                let mut #ident = ::core::pin::pin!(async {
                    #body
                    ::core::result::Result::<(), #err_type>::Ok(())
                });
            });
            pins.push(quote!(#ident.as_mut()));
        }
        let count = pins.len();
        let nodes = local("__groups");
        let error = local("__error");
        let tail = plan.tail.map(|t| {
            let owned = plan.slots.iter().filter(|slot| slot.tail).map(|slot| {
                let ident = &slot.binding.ident;
                let slot_ident = slot_ident(slot);
                let mutability = slot.binding.mutable.then(|| quote!(mut));
                quote!(#[allow(unused_mut)] let #mutability #ident = #slot_ident.into_inner();)
            });
            let tail = self.stmt(&block.stmts[t]);
            quote!(#(#owned)* #tail)
        });
        quote! {
            #(#items)*
            #(#slots)*
            #(#signals)*
            {
                #(#groups)*
                let mut #nodes: [#private::Node<'_, #err_type>; #count] = [#(#pins),*];
                if let ::core::result::Result::Err(#error) = #private::run_graph(&mut #nodes).await {
                    return ::core::result::Result::Err(#error);
                }
            }
            #tail
        }
    }

    /// One group's statements in order, each waiting for its inputs from other
    /// groups, reading handed-on bindings, and handing on its own.
    fn group(&self, block: &Block<'_>, plan: &Plan, group: &[usize]) -> TokenStream {
        let mut out = TokenStream::new();
        for &i in group {
            let stmt_plan = &plan.stmts[&i];
            for &producer in stmt_plan.waits.keys() {
                let done = done_ident(producer);
                out.extend(quote!(#done.wait().await;));
            }
            for slot in plan.slots.iter().filter(|slot| slot.readers.contains(&i)) {
                let ident = &slot.binding.ident;
                let slot_ident = slot_ident(slot);
                if slot.handed_over() {
                    out.extend(quote!(let #ident = #slot_ident.take();));
                    self.shared.borrow_mut().remove(&ident.to_string());
                } else {
                    out.extend(quote!(let #ident = #slot_ident.get();));
                    self.shared.borrow_mut().insert(ident.to_string());
                }
            }
            out.extend(self.stmt(&block.stmts[i]));
            for slot in plan
                .slots
                .iter()
                .filter(|slot| slot.producer == i && !slot.at_group_end)
            {
                out.extend(hand_on(slot));
            }
            if stmt_plan.awaited {
                let done = done_ident(i);
                out.extend(quote!(#done.set();));
            }
        }
        for slot in plan
            .slots
            .iter()
            .filter(|slot| slot.at_group_end && group.contains(&slot.producer))
        {
            out.extend(hand_on(slot));
        }
        out
    }
}

/// `slot.set(name)` for shared readers, `slot.hand_over(name)` for one.
fn hand_on(slot: &SlotPlan) -> TokenStream {
    let ident = &slot.binding.ident;
    let slot_ident = slot_ident(slot);
    if slot.handed_over() || slot.at_group_end || (slot.readers.is_empty() && slot.tail) {
        quote!(#slot_ident.hand_over(#ident);)
    } else {
        quote!(#slot_ident.set(#ident);)
    }
}
