//! The signals a workflow declares: one per name, with the type its sites
//! receive, for `Workflow::SIGNALS` and the typed senders.
//!
//! A signal's type is declared where it is bound,
//! `let approval: Approval = signal "approval";` (with `.timeout(..)` the
//! binding is an `Option<Approval>`). Sites of one name share the first
//! site's declaration; that they agree is checked by rustc at the later
//! sites (the expansion's `SameSignalType`).

use proc_macro2::Span;
use syn::Type;

use super::walk::block_nodes;
use super::{Block, Node, Signal};
use crate::ctxt::Ctxt;

/// One signal name of a workflow.
pub(crate) struct SignalDecl<'a> {
    pub(crate) name: String,
    /// What the first site receives.
    pub(crate) value: &'a Type,
    /// The first site's site index.
    pub(crate) first: usize,
    /// The typed sender's name: `signal_` and the name as an identifier.
    pub(crate) sender: syn::Ident,
}

/// The signals of `body`, in the order of their first sites; a site without
/// a declared type, or with two names that make one sender, is an error.
pub(crate) fn declared<'a>(cx: &Ctxt, body: &Block<'a>) -> Vec<SignalDecl<'a>> {
    let mut sites: Vec<&Signal<'a>> = Vec::new();
    block_nodes(body, &mut |node| {
        if let Node::Signal(signal) = node {
            sites.push(signal);
        }
    });
    sites.sort_by_key(|signal| signal.site);
    let mut decls: Vec<SignalDecl<'a>> = Vec::new();
    for signal in sites {
        let Some(value) = value_type(cx, signal) else {
            continue;
        };
        let name = signal.syntax.name.value();
        if decls.iter().any(|decl| decl.name == name) {
            continue;
        }
        let span = signal.syntax.name.span();
        let Some(sender) = sender_name(&name) else {
            cx.error(
                span,
                format!("signal `{name}` needs a letter or digit in its name, to name its typed sender `signal_…`"),
            );
            continue;
        };
        if let Some(other) = decls.iter().find(|decl| decl.sender == sender) {
            cx.error(
                span,
                format!(
                    "signals `{}` and `{name}` would both be sent with `{sender}`: rename one",
                    other.name
                ),
            );
            continue;
        }
        decls.push(SignalDecl {
            name,
            value,
            first: signal.site,
            sender: syn::Ident::new(&sender, span),
        });
    }
    decls
}

/// What a signal site receives: the binding's declared type, or for
/// `.timeout(..)` the `T` of its `Option<T>`. `None` (reported) when the
/// site declares none.
fn value_type<'a>(cx: &Ctxt, signal: &Signal<'a>) -> Option<&'a Type> {
    value_of(signal)
        .map_err(|(span, message)| cx.error(span, message))
        .ok()
}

/// [`value_type`], or where and why there is none.
pub(crate) fn value_of<'a>(signal: &Signal<'a>) -> Result<&'a Type, (Span, String)> {
    let name = signal.syntax.name.value();
    let Some(declared) = signal.declared else {
        return Err((
            signal.syntax.signal_token.span,
            format!(
                "declare the type of signal `{name}` where it is bound: `let value: T = signal \"{name}\";`"
            ),
        ));
    };
    if signal.syntax.timeout.is_none() {
        return Ok(declared);
    }
    option_argument(declared).ok_or_else(|| {
        (
            syn::spanned::Spanned::span(declared),
            "a signal with `.timeout(..)` is `None` when nothing comes in time: declare it as `Option<T>`"
                .to_owned(),
        )
    })
}

/// `T` of a type written `Option<T>` (any path to it).
fn option_argument(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [syn::GenericArgument::Type(inner)] => Some(inner),
        _ => None,
    }
}

/// `signal_manager_approval` for `"managerApproval"`, `"manager approval"`
/// or `"manager-approval"`; `None` when the name has no letter or digit.
fn sender_name(name: &str) -> Option<String> {
    let mut words = String::new();
    let mut previous: Option<char> = None;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            let new_word = c.is_ascii_uppercase()
                && previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit());
            if new_word {
                words.push('_');
            }
            words.push(c.to_ascii_lowercase());
        } else if !words.is_empty() && !words.ends_with('_') {
            words.push('_');
        }
        previous = Some(c);
    }
    let words = words.trim_end_matches('_');
    (!words.is_empty()).then(|| format!("signal_{words}"))
}

#[cfg(test)]
mod tests {
    use super::sender_name;

    #[test]
    fn sender_names_are_snake_case_identifiers() {
        assert_eq!(sender_name("approval").as_deref(), Some("signal_approval"));
        assert_eq!(
            sender_name("managerApproval").as_deref(),
            Some("signal_manager_approval")
        );
        assert_eq!(
            sender_name("manager approval").as_deref(),
            Some("signal_manager_approval")
        );
        assert_eq!(
            sender_name("-- Go, go! --").as_deref(),
            Some("signal_go_go")
        );
        assert_eq!(sender_name("v2 ready").as_deref(), Some("signal_v2_ready"));
        assert_eq!(sender_name("HTTP").as_deref(), Some("signal_http"));
        assert_eq!(sender_name("!?"), None);
    }
}
