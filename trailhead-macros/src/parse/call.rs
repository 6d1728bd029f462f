//! `call other_workflow(args)`: run another workflow as a child run.

use syn::parse::{Parse, ParseStream};

use super::step::{Options, Target, parse_chain};
use crate::kw;

/// A `call` expression as written.
pub(crate) struct Call {
    pub(crate) call_token: kw::call,
    /// Always [`Target::Function`]: the workflow's path and its arguments.
    pub(crate) target: Target,
    pub(crate) options: Options,
}

impl Parse for Call {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let call_token: kw::call = input.parse()?;
        let what = "a workflow call after `call`, e.g. `call send_receipt(&order)`";
        let (target, options) = parse_chain(input, call_token.span, what, true)?;
        Ok(Call {
            call_token,
            target,
            options,
        })
    }
}
