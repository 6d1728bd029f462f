//! Step options: `.retry(..)`, `.timeout(..)`, `.name(..)`, `.map_err(..)`,
//! `.after(..)`, `.resource(..)`, `.compensate(..)`, `.irreversible()`,
//! `.fallback(..)`, `.breaker(..)`.
//!
//! Options are written as method calls after the step's function call. Each option
//! is named once in [`OPTIONS`]; duplicates are reported by one helper, [`set`].

use proc_macro2::Span;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Ident, LitStr, Token};

use super::duration::DurationLit;
use crate::ctxt::Ctxt;
use crate::model::options::{Backoff, Compensate, Duration, Retry, RetryPolicy, StepOptions};
use crate::suggest::did_you_mean;

pub(crate) const RETRY: &str = "retry";
pub(crate) const TIMEOUT: &str = "timeout";
pub(crate) const NAME: &str = "name";
pub(crate) const MAP_ERR: &str = "map_err";
pub(crate) const AFTER: &str = "after";
pub(crate) const RESOURCE: &str = "resource";
pub(crate) const COMPENSATE: &str = "compensate";
pub(crate) const IRREVERSIBLE: &str = "irreversible";
pub(crate) const FALLBACK: &str = "fallback";
pub(crate) const BREAKER: &str = "breaker";
pub(crate) const OPTIONS: &[&str] = &[
    RETRY,
    TIMEOUT,
    NAME,
    MAP_ERR,
    AFTER,
    RESOURCE,
    COMPENSATE,
    IRREVERSIBLE,
    FALLBACK,
    BREAKER,
];

const BACKOFF: &str = "backoff";
const JITTER: &str = "jitter";
const WHEN: &str = "when";

/// Reads one option from its method-call form into `options`; mistakes go to `cx`.
pub(crate) fn add(
    options: &mut StepOptions,
    cx: &Ctxt,
    method: &Ident,
    args: &Punctuated<Expr, Token![,]>,
) {
    let span = method.span();
    let result = if method == RETRY {
        parse_retry(cx, span, args).map(|retry| set(cx, &mut options.retry, method, retry))
    } else if method == TIMEOUT {
        parse_timeout(span, args).map(|timeout| set(cx, &mut options.timeout, method, timeout))
    } else if method == NAME {
        parse_name(span, args).map(|name| set(cx, &mut options.name, method, name))
    } else if method == RESOURCE {
        string_arg(span, RESOURCE, "resource(\"payments\")", args)
            .map(|lit| set(cx, &mut options.resource, method, lit))
    } else if method == AFTER {
        parse_after(span, args).map(|names| set(cx, &mut options.after, method, names))
    } else if method == COMPENSATE {
        parse_compensate(cx, span, args).map(|c| set(cx, &mut options.compensate, method, c))
    } else if method == IRREVERSIBLE {
        no_args(IRREVERSIBLE, args)
            .map(|()| set(cx, &mut options.irreversible, method, method.clone()))
    } else if method == FALLBACK {
        single_arg(
            span,
            FALLBACK,
            "the value to give instead, e.g. `fallback(None)`",
            args,
        )
        .map(|expr| set(cx, &mut options.fallback, method, expr.clone()))
    } else if method == BREAKER {
        string_arg(span, BREAKER, "breaker(\"payments\")", args)
            .map(|lit| set(cx, &mut options.breaker, method, lit))
    } else if method == MAP_ERR {
        single_arg(span, MAP_ERR, "a function or closure", args)
            .map(|expr| set(cx, &mut options.map_err, method, expr.clone()))
    } else {
        Err(unknown_option(method))
    };
    if let Err(error) = result {
        cx.push(error);
    }
}

/// Stores `value` in `slot`, or reports that the option was given twice.
fn set<T>(cx: &Ctxt, slot: &mut Option<T>, method: &Ident, value: T) {
    cx.set_once(
        slot,
        method.span(),
        &format!("step option `{method}`"),
        value,
    );
}

pub(crate) fn unknown_option(method: &Ident) -> syn::Error {
    let name = method.to_string();
    let expected: Vec<String> = OPTIONS.iter().map(|option| format!("`{option}`")).collect();
    let mut message = format!(
        "unknown step option `{name}`, expected one of {}",
        expected.join(", ")
    );
    if let Some(near) = did_you_mean(&name, OPTIONS) {
        message = format!("unknown step option `{name}`: did you mean `{near}`?");
    }
    syn::Error::new(method.span(), message)
}

fn single_arg<'a>(
    span: Span,
    option: &str,
    what: &str,
    args: &'a Punctuated<Expr, Token![,]>,
) -> syn::Result<&'a Expr> {
    match args.len() {
        1 => Ok(&args[0]),
        0 => Err(syn::Error::new(span, format!("`{option}` expects {what}"))),
        _ => Err(syn::Error::new(
            args[1].span(),
            format!("`{option}` takes exactly one argument"),
        )),
    }
}

fn no_args(option: &str, args: &Punctuated<Expr, Token![,]>) -> syn::Result<()> {
    match args.first() {
        None => Ok(()),
        Some(first) => Err(syn::Error::new_spanned(
            first,
            format!("`{option}` takes no arguments: write `.{option}()`"),
        )),
    }
}

/// `compensate(f)` or `compensate(f, retry(5, backoff = 1s..1m))`.
fn parse_compensate(
    cx: &Ctxt,
    span: Span,
    args: &Punctuated<Expr, Token![,]>,
) -> syn::Result<Compensate> {
    const EXAMPLE: &str = "`compensate(refund)` or `compensate(refund, retry(5))`";
    let mut args = args.iter();
    let Some(func) = args.next() else {
        return Err(syn::Error::new(
            span,
            format!("`compensate` expects the function that undoes the step, e.g. {EXAMPLE}"),
        ));
    };
    if let Expr::Closure(closure) = func
        && closure.capture.is_some()
    {
        return Err(syn::Error::new_spanned(
            closure.capture,
            "a compensation cannot capture: it may run in another process, given only the step's output",
        ));
    }
    let retry = match args.next() {
        None => None,
        Some(Expr::Call(call)) if path_ident(&call.func).is_some_and(|i| i == RETRY) => {
            Some(parse_retry(cx, call.paren_token.span.join(), &call.args)?)
        }
        Some(other) => {
            return Err(syn::Error::new_spanned(
                other,
                format!("expected the compensation's retry policy, e.g. {EXAMPLE}"),
            ));
        }
    };
    if let Some(extra) = args.next() {
        return Err(syn::Error::new_spanned(
            extra,
            format!("`compensate` takes a function and a retry policy at most, e.g. {EXAMPLE}"),
        ));
    }
    Ok(Compensate {
        func: func.clone(),
        retry,
    })
}

fn parse_after(span: Span, args: &Punctuated<Expr, Token![,]>) -> syn::Result<Vec<Ident>> {
    if args.is_empty() {
        return Err(syn::Error::new(
            span,
            "`after` expects the bindings or step names to wait for, e.g. `after(payment)`",
        ));
    }
    args.iter()
        .map(|arg| {
            path_ident(arg).cloned().ok_or_else(|| {
                syn::Error::new_spanned(arg, "expected the name of a binding or a step")
            })
        })
        .collect()
}

/// A single string literal argument.
fn string_arg(
    span: Span,
    option: &str,
    example: &str,
    args: &Punctuated<Expr, Token![,]>,
) -> syn::Result<LitStr> {
    let expr = single_arg(
        span,
        option,
        &format!("a string literal, e.g. `{example}`"),
        args,
    )?;
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(lit),
            ..
        }) => Ok(lit.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            format!("expected a string literal, e.g. `{example}`"),
        )),
    }
}

fn parse_name(span: Span, args: &Punctuated<Expr, Token![,]>) -> syn::Result<LitStr> {
    let lit = string_arg(span, NAME, "name(\"charge card\")", args)?;
    let value = lit.value();
    if value.trim().is_empty() {
        return Err(syn::Error::new(lit.span(), "a step name cannot be empty"));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| matches!(c, '[' | ']' | '/' | '"' | '\n' | ':'))
    {
        return Err(syn::Error::new(
            lit.span(),
            format!("a step name cannot contain `{}`", bad.escape_default()),
        ));
    }
    Ok(lit)
}

fn parse_timeout(span: Span, args: &Punctuated<Expr, Token![,]>) -> syn::Result<Duration> {
    let expr = single_arg(span, TIMEOUT, "a duration, e.g. `timeout(5s)`", args)?;
    super::duration::duration(expr)
}

fn parse_retry(cx: &Ctxt, span: Span, args: &Punctuated<Expr, Token![,]>) -> syn::Result<Retry> {
    let mut args = args.iter();
    let Some(first) = args.next() else {
        return Err(syn::Error::new(
            span,
            "`retry` expects the number of attempts, e.g. `retry(3)`, or a `RetryPolicy`",
        ));
    };
    let mut policy = match first {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(lit),
            ..
        }) => {
            if !lit.suffix().is_empty() {
                return Err(syn::Error::new(
                    lit.span(),
                    "`retry` expects a plain number of attempts, e.g. `retry(3)`",
                ));
            }
            let attempts: u32 = lit.base10_parse()?;
            if attempts == 0 {
                return Err(syn::Error::new(
                    lit.span(),
                    "`retry` needs at least 1 attempt: `retry(n)` makes at most n attempts in total",
                ));
            }
            RetryPolicy::Literal {
                attempts,
                backoff: None,
                jitter: None,
            }
        }
        Expr::Assign(assign) => {
            return Err(syn::Error::new_spanned(
                &assign.left,
                "`retry` expects the number of attempts first, e.g. `retry(3, backoff = 100ms..10s)`",
            ));
        }
        other => RetryPolicy::Expr(other.clone()),
    };
    let (mut when, mut backoff_slot, mut jitter_slot) = (None, None, None);
    for arg in args {
        let Expr::Assign(assign) = arg else {
            return Err(syn::Error::new_spanned(
                arg,
                "expected `backoff = ..`, `jitter = ..` or `when = ..`",
            ));
        };
        let Some(key) = path_ident(&assign.left) else {
            return Err(syn::Error::new_spanned(
                &assign.left,
                "expected `backoff`, `jitter` or `when`",
            ));
        };
        let what = format!("retry setting `{key}`");
        if key == WHEN {
            cx.set_once(&mut when, key.span(), &what, (*assign.right).clone());
            continue;
        }
        if matches!(policy, RetryPolicy::Expr(_)) && (key == BACKOFF || key == JITTER) {
            return Err(syn::Error::new(
                key.span(),
                format!(
                    "`{key}` cannot be combined with a `RetryPolicy` expression; set it on the policy"
                ),
            ));
        }
        if key == BACKOFF {
            let value = parse_backoff(&assign.right)?;
            cx.set_once(&mut backoff_slot, key.span(), &what, value);
        } else if key == JITTER {
            let value = parse_bool(&assign.right)?;
            cx.set_once(&mut jitter_slot, key.span(), &what, value);
        } else {
            let mut message =
                format!("unknown retry setting `{key}`, expected `backoff`, `jitter` or `when`");
            if let Some(near) = did_you_mean(&key.to_string(), &[BACKOFF, JITTER, WHEN]) {
                message = format!("unknown retry setting `{key}`: did you mean `{near}`?");
            }
            return Err(syn::Error::new(key.span(), message));
        }
    }
    if let RetryPolicy::Literal {
        backoff, jitter, ..
    } = &mut policy
    {
        *backoff = backoff_slot;
        *jitter = jitter_slot;
    }
    Ok(Retry { policy, when })
}

fn parse_backoff(expr: &Expr) -> syn::Result<Backoff> {
    match expr {
        Expr::Range(range) => {
            let (Some(start), Some(end)) = (&range.start, &range.end) else {
                return Err(syn::Error::new_spanned(
                    range,
                    "expected a backoff range with both ends, e.g. `100ms..10s`",
                ));
            };
            if matches!(range.limits, syn::RangeLimits::Closed(_)) {
                return Err(syn::Error::new_spanned(
                    range,
                    "use `..` for a backoff range, e.g. `100ms..10s`",
                ));
            }
            let initial = DurationLit::from_expr(start, false)?;
            let max = DurationLit::from_expr(end, false)?;
            if max.millis < initial.millis {
                return Err(syn::Error::new_spanned(
                    range,
                    "backoff range must not decrease: the first delay comes first, the cap second",
                ));
            }
            Ok(Backoff::Exponential { initial, max })
        }
        other => DurationLit::from_expr(other, false).map(Backoff::Fixed),
    }
}

fn parse_bool(expr: &Expr) -> syn::Result<bool> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Bool(b),
            ..
        }) => Ok(b.value),
        other => Err(syn::Error::new_spanned(other, "expected `true` or `false`")),
    }
}

fn path_ident(expr: &Expr) -> Option<&Ident> {
    match expr {
        Expr::Path(path) if path.qself.is_none() => path.path.get_ident(),
        _ => None,
    }
}
