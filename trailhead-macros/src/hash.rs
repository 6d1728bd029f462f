//! The structural hash of a workflow definition.
//!
//! It covers what a journal depends on, read from the model: the signature, every
//! step and call site with its key name, the function it calls and the options that
//! change how it runs, and the shape of branches, loops and fan-outs around them.
//! Plain Rust between steps is not hashed (changing a format string or a branch's
//! condition does not strand running workflows), and neither is the diagram: its
//! wording may change between releases, the hash must not. The hash is FNV-1a,
//! written out here because it is ten lines and must never change between releases
//! (a dependency's hasher may).

use quote::ToTokens;

use crate::model::options::{Backoff, Duration, Retry, RetryPolicy, StepOptions};
use crate::model::{Block, Else, If, LoopKind, Node, Rust, Stmt, StreamSite, Workflow};
use crate::parse::Target;

/// The hash of `workflow`'s model: name, signature, sites in definition order and
/// the shape around them.
pub(crate) fn definition_hash(workflow: &Workflow<'_>) -> u64 {
    let mut hash = Fnv::new();
    hash.word(&workflow.def.name.to_string());
    // Only a generic definition hashes its generics, so that the hashes of
    // plain workflows (and the runs recorded under them) stay as they were.
    let generics = &workflow.def.generics;
    if !generics.params.is_empty() {
        hash.word("<");
        hash.tokens(&generics.params);
        hash.tokens(&generics.where_clause);
        hash.word(">");
    }
    for param in &workflow.def.params {
        hash.tokens(&param.ty);
    }
    hash.word("->");
    hash.tokens(&workflow.def.output);
    let mut shape = Shape {
        workflow,
        hash: &mut hash,
    };
    shape.block(&workflow.body);
    hash.finish()
}

/// Walks the model in definition order, hashing each construct and site.
struct Shape<'w, 'a> {
    workflow: &'w Workflow<'a>,
    hash: &'w mut Fnv,
}

impl Shape<'_, '_> {
    fn block(&mut self, block: &Block<'_>) {
        // A block run as a graph journals in another order than one run in order.
        self.hash
            .word(if block.plan.is_some() { "{graph" } else { "{" });
        for stmt in &block.stmts {
            match stmt {
                Stmt::Let {
                    init: Some(node), ..
                }
                | Stmt::Expr { node, .. } => self.node(node),
                Stmt::Let { init: None, .. } | Stmt::Item(_) => {}
            }
        }
        self.hash.word("}");
    }

    fn node(&mut self, node: &Node<'_>) {
        if !node.has_sites() {
            return;
        }
        match node {
            Node::Step(step) => {
                self.site("step", step.site);
                if step.syntax.blocking.is_some() {
                    self.hash.word("blocking");
                }
                self.target(&step.syntax.target);
                self.options(step.options);
            }
            Node::Call(call) => {
                self.site("call", call.site);
                self.target(&call.syntax.target);
                self.options(call.options);
            }
            Node::Sleep(sleep) => self.site("sleep", sleep.site),
            Node::Signal(signal) => {
                self.site("signal", signal.site);
                self.hash.word(&signal.syntax.name.value());
                self.hash.word(if signal.syntax.timeout.is_some() {
                    "within"
                } else {
                    "waits"
                });
            }
            Node::If(branch) => self.if_(branch),
            Node::Match(branch) => {
                self.sites(&branch.scrutinee);
                self.hash.word("match");
                for arm in &branch.arms {
                    self.hash.word("arm");
                    if let Some(guard) = &arm.guard {
                        self.sites(guard);
                    }
                    self.node(&arm.body);
                }
                self.hash.word("end match");
            }
            Node::Loop(looped) => {
                match &looped.kind {
                    LoopKind::For { expr, stream, .. } => {
                        self.sites(expr);
                        self.hash.word("for");
                        if let Some(stream) = stream {
                            self.stream(stream);
                        }
                    }
                    LoopKind::While { cond } => {
                        self.hash.word("while");
                        self.sites(cond);
                    }
                    LoopKind::Loop => self.hash.word("loop"),
                }
                self.block(&looped.body);
            }
            Node::FanOut(fan_out) => {
                self.sites(&fan_out.expr);
                self.hash.word("parallel");
                if let Some(stream) = &fan_out.stream {
                    self.stream(stream);
                }
                self.block(&fan_out.body);
            }
            Node::Block(block) => self.block(block),
            Node::Rust(rust) => self.sites(rust),
        }
    }

    fn if_(&mut self, branch: &If<'_>) {
        self.sites(&branch.cond);
        self.hash.word("if");
        self.block(&branch.then_branch);
        match &branch.else_branch {
            Some(Else::If(inner)) => {
                self.hash.word("else");
                self.if_(inner);
            }
            Some(Else::Block(block)) => {
                self.hash.word("else");
                self.block(block);
            }
            None => {}
        }
    }

    /// The steps and calls inside plain code, in evaluation order.
    /// A stream loop: its key, and the accumulators its checkpoints hold,
    /// in order (a checkpoint is read back by their places).
    fn stream(&mut self, stream: &StreamSite<'_>) {
        self.site("stream", stream.site);
        for binding in &stream.accumulators {
            self.hash.word(&binding.ident.to_string());
        }
    }

    fn sites(&mut self, rust: &Rust<'_>) {
        for site in &rust.sites {
            self.node(site);
        }
    }

    fn site(&mut self, kind: &str, site: usize) {
        self.hash.word(kind);
        self.hash.word(&self.workflow.sites[site].name);
    }

    /// The function a step or call invokes: its path, or a method's name.
    fn target(&mut self, target: &Target) {
        match target {
            Target::Function { func, .. } => self.hash.tokens(func),
            Target::Method { method, .. } => self.hash.word(&format!(".{method}")),
        }
    }

    /// The options that change how the site runs or is undone, read from the
    /// model in a fixed order, so that the order they are written in and the
    /// unit of a duration (`5s`, `5000ms`) do not matter. `.name(..)` is the
    /// site's key, hashed with the site; `.map_err(..)` is plain Rust on the
    /// error, which the journal does not hold.
    fn options(&mut self, options: &StepOptions) {
        // Destructured, so that a new option must be placed here.
        let StepOptions {
            retry,
            timeout,
            name: _,
            map_err: _,
            after,
            resource,
            compensate,
            irreversible,
            fallback,
            fallback_step,
            breaker,
        } = options;
        if let Some(retry) = retry {
            self.hash.word("retry");
            self.retry(retry);
        }
        if let Some(timeout) = timeout {
            self.hash.word("timeout");
            match timeout {
                Duration::Literal(lit) => self.hash.word(&lit.millis.to_string()),
                Duration::Expr(expr) => self.hash.tokens(expr),
            }
        }
        for name in after.iter().flatten() {
            self.hash.word("after");
            self.hash.word(&name.to_string());
        }
        for (option, name) in [("resource", resource), ("breaker", breaker)] {
            if let Some(name) = name {
                self.hash.word(option);
                self.hash.word(&name.value());
            }
        }
        if let Some(compensate) = compensate {
            self.hash.word("compensate");
            self.hash.tokens(&compensate.func);
            if let Some(retry) = &compensate.retry {
                self.retry(retry);
            }
        }
        if irreversible.is_some() {
            self.hash.word("irreversible");
        }
        if let Some(fallback) = fallback {
            self.hash.word("fallback");
            self.hash.tokens(fallback);
        }
        if let Some(step) = fallback_step {
            self.hash.word("fallback step");
            self.target(step);
        }
    }

    fn retry(&mut self, retry: &Retry) {
        match &retry.policy {
            RetryPolicy::Literal {
                attempts,
                backoff,
                jitter,
            } => {
                self.hash.word(&attempts.to_string());
                match backoff {
                    Some(Backoff::Exponential { initial, max }) => {
                        self.hash
                            .word(&format!("{}..{}", initial.millis, max.millis));
                    }
                    Some(Backoff::Fixed(delay)) => self.hash.word(&delay.millis.to_string()),
                    None => self.hash.word("-"),
                }
                self.hash.word(&format!("{jitter:?}"));
            }
            RetryPolicy::Expr(expr) => self.hash.tokens(expr),
        }
        match &retry.when {
            Some(when) => self.hash.tokens(when),
            None => self.hash.word("-"),
        }
    }
}

/// FNV-1a over words, each ended by a byte no UTF-8 text holds, so that `ab`,`c`
/// and `a`,`bc` differ.
struct Fnv(u64);

impl Fnv {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Self {
        Fnv(Self::OFFSET)
    }

    fn word(&mut self, word: &str) {
        for byte in word.bytes().chain([0xff]) {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(Self::PRIME);
        }
    }

    /// Tokens as their text, which does not depend on spans or on how the user
    /// spaced them.
    fn tokens(&mut self, tokens: &impl ToTokens) {
        self.word(&tokens.to_token_stream().to_string());
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    use super::definition_hash;
    use crate::{mermaid, model};

    /// The hash and the diagram of the one workflow in `tokens`.
    fn hash_and_diagram(tokens: TokenStream) -> (u64, String) {
        model::with_workflow(tokens, |workflow| {
            (definition_hash(workflow), mermaid::render(workflow).text)
        })
    }

    fn order(condition: TokenStream) -> (u64, String) {
        hash_and_diagram(quote! {
            workflow order(total: u32) -> Result<u32, E> {
                let charged = step charge(total).retry(3);
                if #condition {
                    step notify(charged);
                }
                Ok(charged)
            }
        })
    }

    #[test]
    fn a_new_wording_of_the_diagram_keeps_the_hash() {
        // The branch's condition is plain Rust: it is drawn in the diagram's
        // diamond but is no part of the model's sites, targets or shape. (When
        // the hash was made of the diagram's text, this changed it.)
        let (hash, diagram) = order(quote!(total > 100));
        let (reworded_hash, reworded) = order(quote!(total >= 101));
        assert_ne!(diagram, reworded, "the diagrams differ in wording");
        assert_eq!(hash, reworded_hash);
    }

    #[test]
    fn another_step_or_another_target_changes_the_hash() {
        let base = quote! {
            workflow order(total: u32) -> Result<u32, E> {
                let charged = step charge(total);
                Ok(charged)
            }
        };
        let another_step = quote! {
            workflow order(total: u32) -> Result<u32, E> {
                let charged = step charge(total);
                step notify(charged);
                Ok(charged)
            }
        };
        let another_target = quote! {
            workflow order(total: u32) -> Result<u32, E> {
                let charged = step billing::charge(total).name("charge");
                Ok(charged)
            }
        };
        let in_a_loop = quote! {
            workflow order(total: u32) -> Result<u32, E> {
                let mut charged = 0;
                for _ in 0..1 {
                    charged = step charge(total);
                }
                Ok(charged)
            }
        };
        let another_retry = quote! {
            workflow order(total: u32) -> Result<u32, E> {
                let charged = step charge(total).retry(3);
                Ok(charged)
            }
        };
        let hashes: Vec<u64> = [base, another_step, another_target, in_a_loop, another_retry]
            .into_iter()
            .map(|tokens| hash_and_diagram(tokens).0)
            .collect();
        for (i, a) in hashes.iter().enumerate() {
            for b in &hashes[i + 1..] {
                assert_ne!(a, b, "{hashes:x?}");
            }
        }
    }

    #[test]
    fn the_order_and_units_options_are_written_in_keep_the_hash() {
        let written = hash_and_diagram(quote! {
            workflow order(total: u32) -> Result<u32, E> {
                let charged = step charge(total).retry(3).timeout(5s).map_err(|e| e);
                Ok(charged)
            }
        })
        .0;
        let rewritten = hash_and_diagram(quote! {
            workflow order(total: u32) -> Result<u32, E> {
                let charged = step charge(total).timeout(5000ms).map_err(|error| error).retry(3);
                Ok(charged)
            }
        })
        .0;
        assert_eq!(written, rewritten);
        let longer = hash_and_diagram(quote! {
            workflow order(total: u32) -> Result<u32, E> {
                let charged = step charge(total).retry(3).timeout(6s);
                Ok(charged)
            }
        })
        .0;
        assert_ne!(written, longer, "another timeout is another definition");
    }

    #[test]
    fn the_hash_is_the_same_for_the_same_definition() {
        let tokens = quote! {
            workflow order(total: u32) -> Result<u32, E> {
                let charged = step charge(total);
                Ok(charged)
            }
        };
        assert_eq!(
            hash_and_diagram(tokens.clone()).0,
            hash_and_diagram(tokens).0
        );
    }
}
