//! Statements and control flow: emitted as the user wrote them, with loop
//! iterations counted where steps need the index for their keys.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use super::paths::{loop_counter, loop_index};
use super::shared::{bound_names, deref_shared};
use super::step::StepExpander;
use crate::model::{Block, Else, If, Loop, LoopKind, Node, Rust, Stmt};

impl StepExpander<'_> {
    /// The statements of `block`, without braces: in order, or along its
    /// dependency graph when it has a plan.
    pub(super) fn stmts(&self, block: &Block<'_>) -> TokenStream {
        self.shadowed(Vec::new(), || match &block.plan {
            Some(plan) => self.graph(block, plan),
            None => block.stmts.iter().map(|stmt| self.stmt(stmt)).collect(),
        })
    }

    /// One statement; a `let` that binds a shared name shadows it for the rest
    /// of the block (the caller restores the scope).
    pub(super) fn stmt(&self, stmt: &Stmt<'_>) -> TokenStream {
        let mut out = TokenStream::new();
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
                for name in bound_names(pat) {
                    self.shared.borrow_mut().remove(&name);
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
        out
    }

    pub(super) fn node(&self, node: &Node<'_>) -> TokenStream {
        match node {
            Node::Step(step) => self.step(step),
            Node::Call(call) => self.call(call),
            Node::Sleep(sleep) => self.sleep(sleep),
            Node::Signal(signal) => self.signal(signal),
            Node::If(branch) => self.if_(branch),
            Node::Match(branch) => {
                let match_token = &branch.syntax.match_token;
                let scrutinee = self.rust(&branch.scrutinee);
                let arms = branch.arms.iter().map(|arm| {
                    let pat = &arm.syntax.pat;
                    let lint = constants_lint(pat);
                    self.shadowed(bound_names(pat), || {
                        let guard = arm.guard.as_ref().map(|guard| {
                            let guard = self.rust(guard);
                            quote!(if #guard)
                        });
                        let arrow = &arm.syntax.fat_arrow;
                        let body = self.node(&arm.body);
                        quote!(#lint #pat #guard #arrow #body,)
                    })
                });
                quote!(#match_token #scrutinee { #(#arms)* })
            }
            Node::Loop(looped) => self.loop_(looped),
            Node::FanOut(fan_out) => self.fan_out(fan_out),
            Node::Block(block) => {
                let stmts = self.stmts(block);
                quote!({ #stmts })
            }
            Node::Rust(rust) => self.rust(rust),
        }
    }

    /// Plain Rust with the steps and calls inside it expanded in place.
    pub(super) fn rust(&self, rust: &Rust<'_>) -> TokenStream {
        let mut expr = deref_shared(rust.expr, &self.shared.borrow());
        if !rust.sites.is_empty() {
            rust.replace_sites(&mut expr, &mut |site| self.node(site));
        }
        self.continue_as_new(&mut expr);
        expr.to_token_stream()
    }

    fn if_(&self, branch: &If<'_>) -> TokenStream {
        let if_token = &branch.syntax.if_token;
        let cond = self.rust(&branch.cond);
        let then_branch = self.shadowed(let_names(branch.cond.expr), || {
            self.stmts(&branch.then_branch)
        });
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
        if let LoopKind::For {
            pat,
            expr,
            stream: Some(stream),
        } = &looped.kind
        {
            return self.stream_loop(looped, stream, pat, expr);
        }
        let label = looped.label;
        let names = match &looped.kind {
            LoopKind::For { pat, .. } => bound_names(pat),
            LoopKind::While { cond } => let_names(cond.expr),
            LoopKind::Loop => Vec::new(),
        };
        let body = self.shadowed(names.clone(), || self.stmts(&looped.body));
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
        let looped_tokens = match &looped.kind {
            LoopKind::For { pat, expr, .. } => {
                let expr = self.rust(expr);
                quote!(#label for #pat in #expr { #body })
            }
            // A counted `while` becomes `loop { count; if cond { body } else { break } }`
            // so that steps in its condition are keyed by the iteration they run in.
            LoopKind::While { cond } if looped.counts => {
                let cond = self.rust(cond);
                let index = loop_index(looped.depth);
                let counter = loop_counter(looped.depth);
                let inner = self.shadowed(names, || self.stmts(&looped.body));
                quote!(#label loop {
                    let #index: u32 = #counter;
                    #counter += 1;
                    if #cond { #inner } else { break }
                })
            }
            LoopKind::While { cond } => {
                let cond = self.rust(cond);
                quote!(#label while #cond { #body })
            }
            LoopKind::Loop => quote!(#label loop { #body }),
        };
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

/// The names bound by `let` conditions (`if let Some(x) = y && let Ok(z) = w`).
fn let_names(cond: &syn::Expr) -> Vec<String> {
    match cond {
        syn::Expr::Let(node) => bound_names(&node.pat),
        syn::Expr::Binary(node) => {
            let mut names = let_names(&node.left);
            names.extend(let_names(&node.right));
            names
        }
        _ => Vec::new(),
    }
}

/// `#[deny(non_snake_case)]` for an arm whose pattern names a constant,
/// at that name.
///
/// The workflow's graph reads `LIMIT =>` as a constant, not a binding, as
/// Rust does when a constant `LIMIT` is in scope. When none is (a typo, a
/// variant not imported), Rust binds the name instead and the arm matches
/// anything; that binding then breaks the snake-case rule, which this makes
/// an error on the pattern. (The level covers the arm's body too, where a
/// non-snake-case binding is then an error rather than a warning.)
fn constants_lint(pat: &syn::Pat) -> Option<TokenStream> {
    struct First(Option<proc_macro2::Span>);
    impl<'ast> syn::visit::Visit<'ast> for First {
        fn visit_pat_ident(&mut self, node: &'ast syn::PatIdent) {
            let name = node.ident.to_string();
            if self.0.is_none()
                && node.subpat.is_none()
                && !bound_names(&syn::Pat::Ident(node.clone())).contains(&name)
            {
                self.0 = Some(node.ident.span());
            }
            syn::visit::visit_pat_ident(self, node);
        }
    }
    let mut first = First(None);
    syn::visit::Visit::visit_pat(&mut first, pat);
    let span = first.0?;
    // `bindings_with_variant_name` would say it a second time for a variant.
    Some(quote::quote_spanned!(span=> #[deny(non_snake_case)] #[allow(bindings_with_variant_name)]))
}
