//! `step f(args).option(..)*` and `step blocking f(args)`: one unit of work.
//!
//! The step's call and its options are one Rust method-call chain; the options are
//! the trailing calls peeled off the end. What remains must be a function call
//! `path(args)` or a method call `value.method(args)`.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Ident, Token};

use super::marker::is_marker;
use super::options::FALLBACK;
use super::rust::no_sites_in;
use crate::ctxt::Ctxt;
use crate::kw;
use crate::model::options::StepOptions;

/// A `step` expression as written.
pub(crate) struct Step {
    pub(crate) step_token: kw::step,
    /// `Some` for `step blocking f(..)`: the function runs on a worker thread.
    pub(crate) blocking: Option<kw::blocking>,
    pub(crate) target: Target,
    pub(crate) options: Options,
}

/// The options of a step or call: as written, and what they say.
pub(crate) struct Options {
    /// In the order written.
    pub(crate) written: Vec<RawOption>,
    pub(crate) read: StepOptions,
    /// The mistakes in them, reported by [`super::body`] rather than as a parse
    /// error, which would hide the mistakes of every later site.
    pub(crate) mistakes: Option<syn::Error>,
}

impl Options {
    /// Reads every option of `written`, keeping the mistakes for later.
    fn read(written: Vec<RawOption>) -> Self {
        let cx = Ctxt::new();
        let mut read = StepOptions::default();
        for option in &written {
            super::options::add(&mut read, &cx, &option.method, &option.args);
            if option.fallback_step.is_some() {
                read.fallback_step.clone_from(&option.fallback_step);
            }
        }
        Options {
            written,
            read,
            mistakes: cx.check().err(),
        }
    }
}

/// The function a step or call invokes.
#[derive(Clone)]
pub(crate) enum Target {
    /// `path::to::f(args)`
    Function {
        func: Box<Expr>,
        args: Punctuated<Expr, Token![,]>,
        paren_span: Span,
    },
    /// `value.method(args)`
    Method {
        receiver: Box<Expr>,
        method: Ident,
        turbofish: Option<syn::AngleBracketedGenericArguments>,
        args: Punctuated<Expr, Token![,]>,
        paren_span: Span,
    },
}

/// One `.option(args)` as written.
pub(crate) struct RawOption {
    pub(crate) method: Ident,
    pub(crate) args: Punctuated<Expr, Token![,]>,
    /// `.fallback(step f(x))`: the fallback step's call (its `args` then
    /// hold the call as a plain expression, so its inputs are seen).
    pub(crate) fallback_step: Option<Target>,
}

impl Target {
    /// The name a step gets when it has no `.name(..)`: the function's own name.
    pub(crate) fn default_name(&self) -> Option<&Ident> {
        match self {
            Target::Function { func, .. } => match &**func {
                Expr::Path(path) => path.path.segments.last().map(|s| &s.ident),
                _ => None,
            },
            Target::Method { method, .. } => Some(method),
        }
    }

    /// The arguments of the call, in order (a method's receiver is not among them).
    pub(crate) fn args(&self) -> &Punctuated<Expr, Token![,]> {
        match self {
            Target::Function { args, .. } | Target::Method { args, .. } => args,
        }
    }

    pub(crate) fn span(&self) -> Span {
        match self {
            Target::Function { func, .. } => func.span(),
            Target::Method { method, .. } => method.span(),
        }
    }
}

impl Parse for Step {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let step_token: kw::step = input.parse()?;
        let blocking = if input.peek(kw::blocking) {
            Some(input.parse()?)
        } else {
            None
        };
        let what = "a function call after `step`, e.g. `step charge(&order)`";
        let (target, options) = parse_chain(input, step_token.span, what, false)?;
        Ok(Step {
            step_token,
            blocking,
            target,
            options,
        })
    }
}

/// Parses `target(args).option(..)*` after the `step` or `call` keyword.
pub(crate) fn parse_chain(
    input: ParseStream<'_>,
    keyword: Span,
    what: &str,
    function_only: bool,
) -> syn::Result<(Target, Options)> {
    if input.is_empty() || input.peek(Token![;]) || input.peek(Token![,]) {
        return Err(syn::Error::new(keyword, format!("expected {what}")));
    }
    let expr: Expr = input.parse()?;
    let (target, mut options) = split_chain(expr, what, function_only)?;
    if let Target::Method { receiver, .. } = &target {
        no_sites_in(receiver, "a step's receiver")?;
    }
    for arg in target.args() {
        no_sites_in(arg, "a step's argument")?;
    }
    for option in &mut options {
        if option.method == FALLBACK
            && let Some(call) = fallback_step(option)?
        {
            option.fallback_step = Some(call.0);
            option.args = std::iter::once(call.1).collect();
        }
        for arg in &option.args {
            no_sites_in(arg, "a step option")?;
        }
    }
    Ok((target, Options::read(options)))
}

/// `.fallback(step f(x))`: the step's target and its call as an expression.
fn fallback_step(option: &RawOption) -> syn::Result<Option<(Target, Expr)>> {
    let [Expr::Macro(marker)] = option.args.iter().collect::<Vec<_>>()[..] else {
        return Ok(None);
    };
    if !is_marker(&marker.mac) {
        return Ok(None);
    }
    let (step_token, expr) = marker.mac.parse_body_with(|input: ParseStream<'_>| {
        let step_token: kw::step = input.parse()?;
        if input.peek(kw::blocking) {
            return Err(input.error("a fallback step runs on the async workers: drop `blocking`"));
        }
        Ok((step_token, input.parse::<Expr>()?))
    })
    .map_err(|_| {
        syn::Error::new_spanned(
            marker,
            "a fallback is a value or a step without options, e.g. `fallback(step cached(&sku))`",
        )
    })?;
    let what = "a function call after `step`, e.g. `fallback(step cached(&sku))`";
    let (target, options) = split_chain(expr.clone(), what, false)?;
    if let Some(option) = options.first() {
        return Err(syn::Error::new(
            option.method.span(),
            "a fallback step takes no options: it runs once, when the step it stands in for has failed",
        ));
    }
    let _ = step_token;
    Ok(Some((target, expr)))
}

fn split_chain(
    mut expr: Expr,
    what: &str,
    function_only: bool,
) -> syn::Result<(Target, Vec<RawOption>)> {
    let mut options = Vec::new();
    loop {
        match expr {
            // `f(a).option(..)`: everything after the first call is an option.
            Expr::MethodCall(call)
                if matches!(*call.receiver, Expr::Call(_) | Expr::MethodCall(_)) =>
            {
                options.push(RawOption {
                    method: call.method,
                    args: call.args,
                    fallback_step: None,
                });
                expr = *call.receiver;
            }
            Expr::MethodCall(call) if !function_only => {
                options.reverse();
                let target = Target::Method {
                    receiver: call.receiver,
                    method: call.method,
                    turbofish: call.turbofish,
                    args: call.args,
                    paren_span: call.paren_token.span.join(),
                };
                return Ok((target, options));
            }
            Expr::Call(call) if matches!(*call.func, Expr::Path(_)) => {
                options.reverse();
                let target = Target::Function {
                    func: call.func,
                    args: call.args,
                    paren_span: call.paren_token.span.join(),
                };
                return Ok((target, options));
            }
            Expr::Await(await_expr) => {
                return Err(syn::Error::new_spanned(
                    await_expr.await_token,
                    "remove this `.await`: the workflow awaits its steps itself",
                ));
            }
            Expr::Try(try_expr) => {
                return Err(syn::Error::new_spanned(
                    try_expr.question_token,
                    "remove this `?`: a failed step already fails the workflow \
                     (use `.map_err(..)` to choose the error)",
                ));
            }
            other => {
                return Err(syn::Error::new_spanned(other, format!("expected {what}")));
            }
        }
    }
}
