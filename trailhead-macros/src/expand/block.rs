//! Statements and control flow: emitted as the user wrote them, with loop
//! iterations counted where steps need the index for their keys.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use super::paths::{loop_counter, loop_index};
use super::step::StepExpander;
use crate::model::{Block, Else, If, Loop, LoopKind, Node, Stmt};

impl StepExpander<'_> {
    /// The statements of `block`, without braces.
    pub(super) fn stmts(&self, block: &Block<'_>) -> TokenStream {
        let mut out = TokenStream::new();
        for stmt in &block.stmts {
            match stmt {
                Stmt::Let { syntax, init } => {
                    let let_token = &syntax.let_token;
                    let pat = &syntax.pat;
                    let semi = &syntax.semi;
                    match init {
                        Some(node) => {
                            let eq = &syntax.init.as_ref().expect("lowered from an init").0;
                            let value = self.node(node);
                            out.extend(quote!(#let_token #pat #eq #value #semi));
                        }
                        None => out.extend(quote!(#let_token #pat #semi)),
                    }
                }
                Stmt::Expr { node, semi } => {
                    out.extend(self.node(node));
                    if *semi {
                        out.extend(quote!(;));
                    }
                }
                Stmt::Item(item) => item.to_tokens(&mut out),
            }
        }
        out
    }

    pub(super) fn node(&self, node: &Node<'_>) -> TokenStream {
        match node {
            Node::Step(step) => self.step(step),
            Node::Call(call) => self.call(call),
            Node::If(branch) => self.if_(branch),
            Node::Match(branch) => {
                let match_token = &branch.syntax.match_token;
                let scrutinee = &branch.syntax.expr;
                let arms = branch.arms.iter().map(|arm| {
                    let pat = &arm.syntax.pat;
                    let guard = arm
                        .syntax
                        .guard
                        .as_ref()
                        .map(|(if_token, guard)| quote!(#if_token #guard));
                    let arrow = &arm.syntax.fat_arrow;
                    let body = self.node(&arm.body);
                    quote!(#pat #guard #arrow #body,)
                });
                quote!(#match_token #scrutinee { #(#arms)* })
            }
            Node::Loop(looped) => self.loop_(looped),
            Node::Block(block) => {
                let stmts = self.stmts(block);
                quote!({ #stmts })
            }
            Node::Rust(expr) => expr.to_token_stream(),
        }
    }

    fn if_(&self, branch: &If<'_>) -> TokenStream {
        let if_token = &branch.syntax.if_token;
        let cond = &branch.syntax.cond;
        let then_branch = self.stmts(&branch.then_branch);
        let else_branch = branch.else_branch.as_ref().map(|rest| match rest {
            Else::If(inner) => {
                let inner = self.if_(inner);
                quote!(else #inner)
            }
            Else::Block(block) => {
                let stmts = self.stmts(block);
                quote!(else { #stmts })
            }
        });
        quote!(#if_token #cond { #then_branch } #else_branch)
    }

    /// A loop; when steps run inside, each iteration takes the next index first thing
    /// (so `continue` cannot skip the count) and the loop is wrapped in a block that
    /// owns the counter, which keeps `let x = loop { .. }` working.
    fn loop_(&self, looped: &Loop<'_>) -> TokenStream {
        let label = looped.label;
        let body = self.stmts(&looped.body);
        let body = if looped.counts {
            let index = loop_index(looped.depth);
            let counter = loop_counter(looped.depth);
            quote! {
                let #index: u32 = #counter;
                #counter += 1;
                #body
            }
        } else {
            body
        };
        let head = match looped.kind {
            LoopKind::For { pat, expr } => quote!(for #pat in #expr),
            LoopKind::While { cond } => quote!(while #cond),
            LoopKind::Loop => quote!(loop),
        };
        let looped_tokens = quote!(#label #head { #body });
        if looped.counts {
            let counter = loop_counter(looped.depth);
            quote!({
                let mut #counter: u32 = 0;
                #looped_tokens
            })
        } else {
            looped_tokens
        }
    }
}
