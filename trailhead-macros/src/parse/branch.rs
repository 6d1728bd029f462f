//! Branches: `if` / `else` and `match`, with workflow constructs inside the arms.

use syn::parse::{Parse, ParseStream};
use syn::{Token, braced, token};

use super::block::{Block, Node};
use super::rust::Rust;

/// `if cond { .. } else if .. { .. } else { .. }`
pub(crate) struct If {
    pub(crate) if_token: Token![if],
    /// Plain Rust, `if let` patterns included.
    pub(crate) cond: Rust,
    pub(crate) then_branch: Block,
    pub(crate) else_branch: Option<(Token![else], Else)>,
}

pub(crate) enum Else {
    If(Box<If>),
    Block(Block),
}

impl Parse for If {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let if_token = input.parse()?;
        let cond = Rust::parse_condition(input)?;
        if !input.peek(token::Brace) {
            return Err(input.error("this `if` has a condition but no block: expected `{`"));
        }
        let then_branch = input.parse()?;
        let else_branch = if input.peek(Token![else]) {
            let else_token = input.parse()?;
            let rest = if input.peek(Token![if]) {
                Else::If(Box::new(input.parse()?))
            } else {
                Else::Block(input.parse()?)
            };
            Some((else_token, rest))
        } else {
            None
        };
        Ok(If {
            if_token,
            cond,
            then_branch,
            else_branch,
        })
    }
}

/// `match scrutinee { pat (if guard)? => arm, .. }`
pub(crate) struct Match {
    pub(crate) match_token: Token![match],
    pub(crate) expr: Rust,
    pub(crate) arms: Vec<Arm>,
}

pub(crate) struct Arm {
    pub(crate) pat: syn::Pat,
    pub(crate) guard: Option<(Token![if], Rust)>,
    pub(crate) fat_arrow: Token![=>],
    pub(crate) body: Node,
}

impl Parse for Match {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let match_token = input.parse()?;
        let expr = Rust::parse_condition(input)?;
        let content;
        braced!(content in input);
        let mut arms = Vec::new();
        while !content.is_empty() {
            let arm: Arm = content.parse()?;
            let needs_comma = !arm.body.is_block_like();
            arms.push(arm);
            if content.is_empty() {
                break;
            }
            if needs_comma || content.peek(Token![,]) {
                content.parse::<Token![,]>()?;
            }
        }
        Ok(Match {
            match_token,
            expr,
            arms,
        })
    }
}

impl Parse for Arm {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let pat = syn::Pat::parse_multi_with_leading_vert(input)?;
        let guard = if input.peek(Token![if]) {
            Some((input.parse()?, input.parse()?))
        } else {
            None
        };
        let fat_arrow = input.parse()?;
        let body = input.parse()?;
        Ok(Arm {
            pat,
            guard,
            fat_arrow,
            body,
        })
    }
}
