//! Plain Rust inside a workflow body, with the steps and calls that stand inside it.

use syn::parse::{Parse, ParseStream};
use syn::visit::Visit;

use super::call::Call;
use super::marker::is_marker;
use super::signal::Signal;
use super::sleep::Sleep;
use super::step::Step;
use crate::kw;

/// A plain Rust expression and the sites (`step`/`call`) inside it, in the order
/// they are evaluated.
pub(crate) struct Rust {
    pub(crate) expr: syn::Expr,
    pub(crate) sites: Vec<Site>,
}

/// A step or a call.
pub(crate) enum Site {
    Step(Step),
    Call(Call),
    Sleep(Sleep),
    Signal(Signal),
}

impl Parse for Site {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(kw::step) {
            input.parse().map(Site::Step)
        } else if input.peek(kw::sleep) {
            input.parse().map(Site::Sleep)
        } else if input.peek(kw::signal) {
            input.parse().map(Site::Signal)
        } else {
            input.parse().map(Site::Call)
        }
    }
}

impl Rust {
    /// An expression where a block may follow it (`if`, `while`, `match`, `for`).
    pub(crate) fn parse_condition(input: ParseStream<'_>) -> syn::Result<Self> {
        Self::from_expr(syn::Expr::parse_without_eager_brace(input)?)
    }

    pub(crate) fn from_expr(expr: syn::Expr) -> syn::Result<Self> {
        let mut finder = SiteFinder {
            sites: Vec::new(),
            error: None,
        };
        finder.visit_expr(&expr);
        if let Some(error) = finder.error {
            return Err(error);
        }
        Ok(Rust {
            expr,
            sites: finder.sites,
        })
    }

    /// The site itself when the expression is nothing but one `step` or `call`.
    pub(crate) fn into_site(mut self: Box<Self>) -> Result<Site, Box<Self>> {
        match &self.expr {
            syn::Expr::Macro(mac) if is_marker(&mac.mac) && self.sites.len() == 1 => {
                Ok(self.sites.pop().expect("one site"))
            }
            _ => Err(self),
        }
    }
}

impl Parse for Rust {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        Self::from_expr(input.parse()?)
    }
}

/// Collects the marked sites of an expression in visiting order; the expansion
/// replaces them in the same order.
struct SiteFinder {
    sites: Vec<Site>,
    error: Option<syn::Error>,
}

impl<'ast> Visit<'ast> for SiteFinder {
    fn visit_expr_macro(&mut self, node: &'ast syn::ExprMacro) {
        if !is_marker(&node.mac) {
            return;
        }
        match node.mac.parse_body::<Site>() {
            Ok(site) => self.sites.push(site),
            Err(error) => match &mut self.error {
                Some(first) => first.combine(error),
                None => self.error = Some(error),
            },
        }
    }
}

/// Refuses sites inside `expr`: step arguments and options are plain Rust only.
pub(crate) fn no_sites_in(expr: &syn::Expr, what: &str) -> syn::Result<()> {
    struct Finder<'w> {
        what: &'w str,
        error: Option<syn::Error>,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_expr_macro(&mut self, node: &'ast syn::ExprMacro) {
            if is_marker(&node.mac) && self.error.is_none() {
                let span = node.mac.path.segments[0].ident.span();
                self.error = Some(syn::Error::new(
                    span,
                    format!(
                        "{} cannot contain a step or a call: bind it with `let` first",
                        self.what
                    ),
                ));
            }
        }
    }
    let mut finder = Finder { what, error: None };
    finder.visit_expr(expr);
    finder.error.map_or(Ok(()), Err)
}
