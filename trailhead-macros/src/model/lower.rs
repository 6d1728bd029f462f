//! Lowering: syntax → model. Names sites, counts loop depth, plans blocks.

use std::collections::{BTreeSet, HashMap};

use syn::visit::Visit;

use syn::spanned::Spanned;

use super::graph;
use super::options::StepOptions;
use super::scope::{Binding, pattern_bindings, used_names};
use super::{
    Arm, Block, Call, Else, FanOut, If, Loop, LoopKind, Match, Node, Rust, Signal, Site, Sleep,
    Step, Stmt, Undo, Workflow,
};
use crate::ctxt::Ctxt;
use crate::parse;

/// Lowers one workflow whose body parsed; mistakes go to `cx`.
pub(crate) fn lower<'a>(
    cx: &Ctxt,
    def: &'a parse::WorkflowDef,
    body: &'a parse::Block,
) -> Option<Workflow<'a>> {
    let (ok_type, err_type) = result_types(cx, &def.output)?;
    let mut params = Vec::new();
    for param in &def.params {
        pattern_bindings(&param.pat, &mut params);
    }
    let mut lowerer = Lowerer {
        sites: Vec::new(),
        depth: 0,
        scopes: vec![params],
    };
    let body = lowerer.block(body);
    let mut sites = lowerer.sites;
    disambiguate(&mut sites);
    let signals = super::signals::declared(cx, &body);
    Some(Workflow {
        def,
        ok_type,
        err_type,
        body,
        sites,
        signals,
    })
}

/// Splits `Result<T, E>` into `T` and `E`.
pub(crate) fn result_types<'a>(
    cx: &Ctxt,
    output: &'a syn::Type,
) -> Option<(&'a syn::Type, &'a syn::Type)> {
    let found = (|| {
        let syn::Type::Path(path) = output else {
            return None;
        };
        let last = path.path.segments.last()?;
        if last.ident != "Result" {
            return None;
        }
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        let mut types = args.args.iter().filter_map(|arg| match arg {
            syn::GenericArgument::Type(ty) => Some(ty),
            _ => None,
        });
        let pair = (types.next()?, types.next()?);
        types.next().is_none().then_some(pair)
    })();
    if found.is_none() {
        cx.error(
            output.span(),
            "a workflow must return `Result<T, E>`, written out with both types (aliases are not read)",
        );
    }
    found
}

struct Lowerer {
    sites: Vec<Site>,
    depth: usize,
    /// The bindings visible at the point being lowered, innermost scope last.
    scopes: Vec<Vec<Binding>>,
}

impl Lowerer {
    fn block<'a>(&mut self, block: &'a parse::Block) -> Block<'a> {
        let visible = self.scopes.iter().flatten();
        let outer: BTreeSet<String> = visible.clone().map(|b| b.ident.to_string()).collect();
        let outer_mut: BTreeSet<String> = visible
            .filter(|binding| binding.mutable)
            .map(|binding| binding.ident.to_string())
            .collect();
        self.scoped(Vec::new(), |this| {
            let stmts = block
                .stmts
                .iter()
                .map(|stmt| match stmt {
                    parse::Stmt::Let(syntax) => {
                        let mut init = syntax.init.as_ref().map(|(_, node)| this.node(node));
                        if let (Some(Node::Signal(signal)), syn::Pat::Type(typed)) =
                            (&mut init, &syntax.pat)
                        {
                            signal.declared = Some(&typed.ty);
                        }
                        let scope = this.scopes.last_mut().expect("a block scope");
                        pattern_bindings(&syntax.pat, scope);
                        Stmt::Let { syntax, init }
                    }
                    parse::Stmt::Expr(node, semi) => Stmt::Expr {
                        node: this.node(node),
                        semi: semi.is_some(),
                    },
                    parse::Stmt::Item(item) => Stmt::Item(item),
                })
                .collect();
            let mut lowered = Block {
                stmts,
                plan: None,
                outer,
            };
            lowered.plan = graph::plan(&lowered, &outer_mut, block.sequential, &this.sites);
            lowered
        })
    }

    /// Runs `f` with `bindings` visible on top of the current scopes.
    fn scoped<T>(&mut self, bindings: Vec<Binding>, f: impl FnOnce(&mut Self) -> T) -> T {
        self.scopes.push(bindings);
        let out = f(self);
        self.scopes.pop();
        out
    }

    /// The visible bindings named in `used`, innermost first wins.
    fn captured(&self, used: &BTreeSet<String>) -> Vec<Binding> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for binding in self
            .scopes
            .iter()
            .rev()
            .flat_map(|scope| scope.iter().rev())
        {
            let name = binding.ident.to_string();
            if used.contains(&name) && seen.insert(name) {
                out.push(binding.clone());
            }
        }
        out.sort_by_key(|binding| binding.ident.to_string());
        out
    }

    fn node<'a>(&mut self, node: &'a parse::Node) -> Node<'a> {
        match node {
            parse::Node::Step(syntax) => Node::Step(self.step(syntax)),
            parse::Node::Call(syntax) => Node::Call(self.call(syntax)),
            parse::Node::Sleep(syntax) => Node::Sleep(self.sleep(syntax)),
            parse::Node::Signal(syntax) => Node::Signal(self.signal(syntax)),
            parse::Node::If(syntax) => Node::If(self.if_(syntax)),
            parse::Node::Match(syntax) => Node::Match(Match {
                syntax,
                scrutinee: self.rust(&syntax.expr),
                arms: syntax
                    .arms
                    .iter()
                    .map(|arm| {
                        let mut bindings = Vec::new();
                        pattern_bindings(&arm.pat, &mut bindings);
                        self.scoped(bindings, |this| Arm {
                            syntax: arm,
                            guard: arm.guard.as_ref().map(|(_, guard)| this.rust(guard)),
                            body: this.node(&arm.body),
                        })
                    })
                    .collect(),
            }),
            parse::Node::For(syntax) => {
                // The iterator is made once, before the first iteration.
                let expr = self.rust(&syntax.expr);
                self.loop_(
                    |_| LoopKind::For {
                        pat: &syntax.pat,
                        expr,
                    },
                    syntax.label.as_ref(),
                    &syntax.body,
                    syntax.for_token.span,
                )
            }
            parse::Node::While(syntax) => self.loop_(
                // The condition runs in every iteration, so its sites are inside.
                |this| LoopKind::While {
                    cond: this.rust(&syntax.cond),
                },
                syntax.label.as_ref(),
                &syntax.body,
                syntax.while_token.span,
            ),
            parse::Node::Loop(syntax) => self.loop_(
                |_| LoopKind::Loop,
                syntax.label.as_ref(),
                &syntax.body,
                syntax.loop_token.span,
            ),
            parse::Node::FanOut(syntax) => {
                let expr = self.rust(&syntax.expr);
                let depth = self.depth;
                self.depth += 1;
                let mut item = Vec::new();
                pattern_bindings(&syntax.pat, &mut item);
                let body = self.scoped(item, |this| this.block(&syntax.body));
                self.depth -= 1;
                let captures = self.captured(&used_names(&body));
                Node::FanOut(FanOut {
                    syntax,
                    expr,
                    body,
                    depth,
                    captures,
                })
            }
            parse::Node::Block(block) => Node::Block(self.block(block)),
            parse::Node::Rust(rust) => Node::Rust(self.rust(rust)),
        }
    }

    fn rust<'a>(&mut self, rust: &'a parse::Rust) -> Rust<'a> {
        Rust {
            expr: &rust.expr,
            sites: rust
                .sites
                .iter()
                .map(|site| match site {
                    parse::Site::Step(step) => Node::Step(self.step(step)),
                    parse::Site::Call(call) => Node::Call(self.call(call)),
                    parse::Site::Sleep(sleep) => Node::Sleep(self.sleep(sleep)),
                    parse::Site::Signal(signal) => Node::Signal(self.signal(signal)),
                })
                .collect(),
        }
    }

    fn if_<'a>(&mut self, syntax: &'a parse::If) -> If<'a> {
        If {
            syntax,
            cond: self.rust(&syntax.cond),
            then_branch: self.scoped(let_bindings(&syntax.cond.expr), |this| {
                this.block(&syntax.then_branch)
            }),
            else_branch: syntax.else_branch.as_ref().map(|(_, rest)| match rest {
                parse::Else::If(nested) => Else::If(Box::new(self.if_(nested))),
                parse::Else::Block(block) => Else::Block(self.block(block)),
            }),
        }
    }

    fn loop_<'a>(
        &mut self,
        kind: impl FnOnce(&mut Self) -> LoopKind<'a>,
        label: Option<&'a syn::Label>,
        body: &'a parse::Block,
        span: proc_macro2::Span,
    ) -> Node<'a> {
        let depth = self.depth;
        self.depth += 1;
        let kind = kind(self);
        let mut bindings = Vec::new();
        match &kind {
            LoopKind::For { pat, .. } => pattern_bindings(pat, &mut bindings),
            LoopKind::While { cond } => bindings = let_bindings(cond.expr),
            LoopKind::Loop => {}
        }
        let body = self.scoped(bindings, |this| this.block(body));
        self.depth -= 1;
        let head_counts = matches!(&kind, LoopKind::While { cond } if !cond.sites.is_empty());
        Node::Loop(Loop {
            counts: head_counts || body.has_sites(),
            kind,
            label,
            body,
            depth,
            span,
        })
    }

    fn step<'a>(&mut self, syntax: &'a parse::Step) -> Step<'a> {
        let options = &syntax.options.read;
        let site = self.site(&syntax.target, options);
        self.sites[site].undo = options.compensate.clone().map(|c| Undo::Step(Box::new(c)));
        Step {
            syntax,
            site,
            depth: self.depth,
            options,
        }
    }

    fn call<'a>(&mut self, syntax: &'a parse::Call) -> Call<'a> {
        let options = &syntax.options.read;
        let site = self.site(&syntax.target, options);
        if let parse::Target::Function { func, .. } = &syntax.target {
            self.sites[site].undo = Some(Undo::Call((**func).clone()));
        }
        Call {
            syntax,
            site,
            depth: self.depth,
            options,
        }
    }

    fn sleep<'a>(&mut self, syntax: &'a parse::Sleep) -> Sleep<'a> {
        self.sites.push(Site {
            name: "sleep".to_owned(),
            explicit: false,
            span: syntax.sleep_token.span,
            undo: None,
        });
        Sleep {
            syntax,
            site: self.sites.len() - 1,
            depth: self.depth,
        }
    }

    fn signal<'a>(&mut self, syntax: &'a parse::Signal) -> Signal<'a> {
        self.sites.push(Site {
            name: syntax.name.value(),
            explicit: false,
            span: syntax.name.span(),
            undo: None,
        });
        Signal {
            syntax,
            site: self.sites.len() - 1,
            depth: self.depth,
            declared: None,
        }
    }

    fn site(&mut self, target: &parse::Target, options: &StepOptions) -> usize {
        let (name, explicit, span) = match &options.name {
            Some(lit) => (lit.value(), true, lit.span()),
            None => {
                let ident = target.default_name();
                let name = ident.map_or_else(|| "step".to_owned(), |i| unraw(&i.to_string()));
                (name, false, target.span())
            }
        };
        self.sites.push(Site {
            name,
            explicit,
            span,
            undo: None,
        });
        self.sites.len() - 1
    }
}

/// Default names seen more than once get `#2`, `#3`, … in definition order, so that
/// `step ping(); step ping();` keys as `ping` and `ping#2`.
fn disambiguate(sites: &mut [Site]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for site in sites.iter_mut().filter(|site| !site.explicit) {
        let count = seen.entry(site.name.clone()).or_insert(0);
        *count += 1;
        if *count > 1 {
            site.name = format!("{}#{}", site.name, count);
        }
    }
}

fn unraw(name: &str) -> String {
    name.strip_prefix("r#").unwrap_or(name).to_owned()
}

/// The names bound by `let` conditions in `expr` (`if let Some(x) = y && ..`).
fn let_bindings(expr: &syn::Expr) -> Vec<Binding> {
    struct Lets(Vec<Binding>);
    impl<'ast> Visit<'ast> for Lets {
        fn visit_expr_let(&mut self, node: &'ast syn::ExprLet) {
            pattern_bindings(&node.pat, &mut self.0);
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_expr_block(&mut self, _: &'ast syn::ExprBlock) {}
    }
    let mut lets = Lets(Vec::new());
    lets.visit_expr(expr);
    lets.0
}
