//! Blocks and statements of a workflow body.
//!
//! A body is Rust-shaped: `let` bindings, expression statements and a tail. Where an
//! expression may stand, the workflow constructs may stand too (`step`, `call`, `if`,
//! `match`, loops, blocks); anything else is plain Rust, parsed by syn.

use syn::parse::{Parse, ParseStream};
use syn::{Token, braced, token};

use super::branch::{If, Match};
use super::call::Call;
use super::fan_out::FanOut;
use super::loops::{For, Loop, While};
use super::rust::{Rust, Site};
use super::signal::Signal;
use super::sleep::Sleep;
use super::step::Step;
use crate::kw;
use crate::suggest::did_you_mean;

/// `{ stmt* }`
pub(crate) struct Block {
    pub(crate) stmts: Vec<Stmt>,
    /// `sequential { .. }`: the statements run in order, never as a graph.
    pub(crate) sequential: bool,
}

pub(crate) enum Stmt {
    Let(Let),
    /// An expression; a block's tail when it is last and has no `;`.
    Expr(Node, Option<Token![;]>),
    /// A nested item (`fn`, `struct`, `use`, …), kept as written.
    Item(Box<syn::Item>),
}

/// `let pat (: ty)? = node;`
pub(crate) struct Let {
    pub(crate) let_token: Token![let],
    pub(crate) pat: syn::Pat,
    pub(crate) init: Option<(Token![=], Node)>,
    pub(crate) semi: Token![;],
}

/// An expression of the workflow language.
pub(crate) enum Node {
    Step(Box<Step>),
    Call(Box<Call>),
    Sleep(Box<Sleep>),
    Signal(Box<Signal>),
    If(Box<If>),
    Match(Box<Match>),
    For(Box<For>),
    While(Box<While>),
    Loop(Box<Loop>),
    FanOut(Box<FanOut>),
    Block(Box<Block>),
    /// Plain deterministic Rust, perhaps with steps and calls inside.
    Rust(Box<Rust>),
}

/// Words a user may have meant when a statement starts with an unknown one.
const CONSTRUCTS: &[&str] = &["step", "call", "blocking", "workflow", "parallel", "stream"];

impl Parse for Block {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let content;
        braced!(content in input);
        let mut stmts = Vec::new();
        while !content.is_empty() {
            if content.peek(Token![;]) {
                content.parse::<Token![;]>()?;
                continue;
            }
            stmts.push(content.parse()?);
        }
        Ok(Block {
            stmts,
            sequential: false,
        })
    }
}

impl Parse for Stmt {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(Token![let]) {
            return input.parse().map(Stmt::Let);
        }
        if starts_item(input) {
            return input.parse().map(|item| Stmt::Item(Box::new(item)));
        }
        if input.peek(syn::Ident)
            && input.peek2(syn::Ident)
            && !input.peek(kw::step)
            && !input.peek(kw::call)
            && !input.peek(kw::parallel)
            && !input.peek(kw::stream)
        {
            return Err(unknown_construct(input));
        }
        let node: Node = input.parse()?;
        if input.peek(Token![;]) {
            return Ok(Stmt::Expr(node, Some(input.parse()?)));
        }
        if input.is_empty() || node.is_block_like() {
            return Ok(Stmt::Expr(node, None));
        }
        Err(input.error("expected `;` after this statement"))
    }
}

impl Parse for Let {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let let_token = input.parse()?;
        let mut pat = syn::Pat::parse_single(input)?;
        if input.peek(Token![:]) {
            let colon_token = input.parse()?;
            let ty = input.parse()?;
            pat = syn::Pat::Type(syn::PatType {
                attrs: Vec::new(),
                pat: Box::new(pat),
                colon_token,
                ty,
            });
        }
        let init = if input.peek(Token![=]) {
            Some((input.parse()?, input.parse()?))
        } else {
            None
        };
        if input.peek(Token![else]) {
            return Err(
                input.error("`let .. else` is not supported in a workflow body yet; use `match`")
            );
        }
        let semi = input.parse()?;
        Ok(Let {
            let_token,
            pat,
            init,
            semi,
        })
    }
}

impl Parse for Node {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if FanOut::peek(input) {
            return input.parse().map(|f| Node::FanOut(Box::new(f)));
        }
        if input.peek(kw::sequential) && input.peek2(token::Brace) {
            input.parse::<kw::sequential>()?;
            let mut block: Block = input.parse()?;
            block.sequential = true;
            return Ok(Node::Block(Box::new(block)));
        }
        let lookahead = input.lookahead1();
        if lookahead.peek(Token![if]) {
            input.parse().map(|i| Node::If(Box::new(i)))
        } else if lookahead.peek(Token![match]) {
            input.parse().map(|m| Node::Match(Box::new(m)))
        } else if lookahead.peek(Token![for]) {
            input.parse().map(|f| Node::For(Box::new(f)))
        } else if lookahead.peek(Token![while]) {
            input.parse().map(|w| Node::While(Box::new(w)))
        } else if lookahead.peek(Token![loop]) {
            input.parse().map(|l| Node::Loop(Box::new(l)))
        } else if lookahead.peek(syn::Lifetime) && input.peek2(Token![:]) {
            parse_labelled(input)
        } else if lookahead.peek(token::Brace) {
            input.parse().map(|b| Node::Block(Box::new(b)))
        } else {
            let rust: Box<Rust> = Box::new(input.parse()?);
            Ok(match rust.into_site() {
                Ok(Site::Step(step)) => Node::Step(Box::new(step)),
                Ok(Site::Call(call)) => Node::Call(Box::new(call)),
                Ok(Site::Sleep(sleep)) => Node::Sleep(Box::new(sleep)),
                Ok(Site::Signal(signal)) => Node::Signal(Box::new(signal)),
                Err(rust) => Node::Rust(rust),
            })
        }
    }
}

impl Node {
    /// Whether the node may stand as a statement without a `;`, as in Rust.
    pub(crate) fn is_block_like(&self) -> bool {
        match self {
            Node::If(_)
            | Node::Match(_)
            | Node::For(_)
            | Node::While(_)
            | Node::Loop(_)
            | Node::FanOut(_)
            | Node::Block(_) => true,
            Node::Step(_) | Node::Call(_) | Node::Sleep(_) | Node::Signal(_) => false,
            Node::Rust(rust) => matches!(
                rust.expr,
                syn::Expr::Block(_)
                    | syn::Expr::Unsafe(_)
                    | syn::Expr::Macro(syn::ExprMacro {
                        mac: syn::Macro {
                            delimiter: syn::MacroDelimiter::Brace(_),
                            ..
                        },
                        ..
                    })
            ),
        }
    }
}

/// `'label: for|while|loop ..`
fn parse_labelled(input: ParseStream<'_>) -> syn::Result<Node> {
    let label: syn::Label = input.parse()?;
    let lookahead = input.lookahead1();
    if lookahead.peek(Token![for]) {
        let mut node: For = input.parse()?;
        node.label = Some(label);
        Ok(Node::For(Box::new(node)))
    } else if lookahead.peek(Token![while]) {
        let mut node: While = input.parse()?;
        node.label = Some(label);
        Ok(Node::While(Box::new(node)))
    } else if lookahead.peek(Token![loop]) {
        let mut node: Loop = input.parse()?;
        node.label = Some(label);
        Ok(Node::Loop(Box::new(node)))
    } else {
        Err(lookahead.error())
    }
}

fn starts_item(input: ParseStream<'_>) -> bool {
    input.peek(Token![fn])
        || input.peek(Token![struct])
        || input.peek(Token![enum])
        || input.peek(Token![use])
        || input.peek(Token![const]) && !input.peek2(token::Brace)
        || input.peek(Token![static])
        || input.peek(Token![impl])
        || input.peek(Token![trait])
        || input.peek(Token![type])
        || input.peek(Token![mod])
        || input.peek(Token![#])
}

/// `stpe f(x);` — an identifier followed by another: a misspelled construct.
fn unknown_construct(input: ParseStream<'_>) -> syn::Error {
    let ident: syn::Ident = input.fork().parse().expect("peeked an identifier");
    let name = ident.to_string();
    let message = match did_you_mean(&name, CONSTRUCTS) {
        Some(near) => format!("unknown construct `{name}`: did you mean `{near}`?"),
        None => format!(
            "unknown construct `{name}`: expected `step`, `call`, `let`, `if`, `match`, `for`, `while`, `loop` or a Rust expression"
        ),
    };
    syn::Error::new(ident.span(), message)
}
