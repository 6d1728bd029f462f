//! Loops: `for`, `while` and `loop`, with steps inside. Each iteration adds its
//! index to the keys of the steps it runs.

use syn::Token;
use syn::parse::{Parse, ParseStream};

use super::block::Block;
use super::rust::Rust;

/// `'label: for pat in expr { .. }`
pub(crate) struct For {
    pub(crate) label: Option<syn::Label>,
    pub(crate) for_token: Token![for],
    pub(crate) pat: syn::Pat,
    pub(crate) expr: Rust,
    pub(crate) body: Block,
}

/// `'label: while cond { .. }` (`while let` too)
pub(crate) struct While {
    pub(crate) label: Option<syn::Label>,
    pub(crate) while_token: Token![while],
    pub(crate) cond: Rust,
    pub(crate) body: Block,
}

/// `'label: loop { .. }`
pub(crate) struct Loop {
    pub(crate) label: Option<syn::Label>,
    pub(crate) loop_token: Token![loop],
    pub(crate) body: Block,
}

impl Parse for For {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let for_token = input.parse()?;
        let pat = syn::Pat::parse_multi_with_leading_vert(input)?;
        input.parse::<Token![in]>()?;
        Ok(For {
            label: None,
            for_token,
            pat,
            expr: Rust::parse_condition(input)?,
            body: input.parse()?,
        })
    }
}

impl Parse for While {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        Ok(While {
            label: None,
            while_token: input.parse()?,
            cond: Rust::parse_condition(input)?,
            body: input.parse()?,
        })
    }
}

impl Parse for Loop {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        Ok(Loop {
            label: None,
            loop_token: input.parse()?,
            body: input.parse()?,
        })
    }
}
