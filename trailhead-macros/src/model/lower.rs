//! Lowering: syntax → model. Names sites, counts loop depth, plans blocks.

use std::collections::{BTreeSet, HashMap};

use syn::visit::Visit;

use syn::spanned::Spanned;

use super::graph;
use super::options::StepOptions;
use super::scope::{Binding, pattern_bindings, used_names};
use super::{
    Arm, Block, Call, Else, FanOut, If, Loop, LoopKind, Match, Node, Rust, Signal, Site, Sleep,
    Step, Stmt, StreamSite, Undo, Workflow,
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
        streams: 0,
        errors: Vec::new(),
    };
    let body = lowerer.block(body);
    for error in lowerer.errors {
        cx.push(error);
    }
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
    /// How many stream loops enclose the point being lowered.
    streams: usize,
    /// What a stream loop's body may not hold, found while lowering.
    errors: Vec<syn::Error>,
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
                        stream: None,
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
            parse::Node::FanOut(syntax) if syntax.is_stream() && syntax.limit.is_none() => {
                self.stream_loop(syntax)
            }
            parse::Node::FanOut(syntax) => {
                let expr = self.rust(&syntax.expr);
                let stream = syntax.is_stream().then(|| StreamSite {
                    syntax,
                    site: self.stream_site(syntax),
                    accumulators: Vec::new(),
                });
                let depth = self.depth;
                self.depth += 1;
                self.streams += usize::from(stream.is_some());
                let mut item = Vec::new();
                pattern_bindings(&syntax.pat, &mut item);
                let body = self.scoped(item, |this| this.block(&syntax.body));
                self.streams -= usize::from(stream.is_some());
                self.depth -= 1;
                let captures = self.captured(&used_names(&body));
                Node::FanOut(FanOut {
                    syntax,
                    stream,
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

    /// `stream(every = n) for pat in source { body }`: a loop whose items come
    /// from the source one at a time; the `mut` bindings from outside that
    /// its body uses are its accumulators.
    fn stream_loop<'a>(&mut self, syntax: &'a parse::FanOut) -> Node<'a> {
        // The source is made once, outside the loop and its checkpoints.
        let expr = self.rust(&syntax.expr);
        let site = self.stream_site(syntax);
        self.streams += 1;
        let mut node = self.loop_(
            |_| LoopKind::For {
                pat: &syntax.pat,
                expr,
                stream: None,
            },
            None,
            &syntax.body,
            syntax.head_span(),
        );
        self.streams -= 1;
        if let Node::Loop(looped) = &mut node {
            let accumulators = self
                .captured(&used_names(&looped.body))
                .into_iter()
                .filter(|binding| binding.mutable)
                .collect();
            if let LoopKind::For { stream, .. } = &mut looped.kind {
                *stream = Some(StreamSite {
                    syntax,
                    site,
                    accumulators,
                });
            }
        }
        node
    }

    /// The site of a stream loop's checkpoint key: `name = ".."`, else
    /// `stream` (`stream#2`, … for more than one).
    fn stream_site(&mut self, syntax: &parse::FanOut) -> usize {
        match &syntax.stream.name {
            Some(lit) => self.push_site(lit.value(), true, lit.span()),
            None => self.push_site("stream".to_owned(), false, syntax.head_span()),
        }
    }

    /// A new site named `name` (given with `name`/`.name(..)` when
    /// `explicit`) at `span`; its index.
    fn push_site(&mut self, name: String, explicit: bool, span: proc_macro2::Span) -> usize {
        self.sites.push(Site {
            name,
            explicit,
            span,
            undo: None,
        });
        self.sites.len() - 1
    }

    /// Refuses what a stream loop's body cannot hold, at `span`: the body
    /// runs again for the items after the last checkpoint, and only the
    /// checkpoint is journaled.
    fn refuse_in_stream(&mut self, span: proc_macro2::Span, what: &str) {
        if self.streams > 0 {
            self.errors.push(syn::Error::new(
                span,
                format!(
                    "{what} cannot be inside a stream loop: its items are journaled as checkpoints, not one by one, so the items after the last checkpoint run again"
                ),
            ));
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
        if let Some(compensate) = &options.compensate {
            self.refuse_in_stream(compensate.func.span(), "a step with `.compensate(..)`");
        }
        if let Some(fallback) = &options.fallback {
            self.refuse_in_stream(fallback.span(), "a step with `.fallback(..)`");
        }
        Step {
            syntax,
            site,
            depth: self.depth,
            options,
            streamed: self.streams > 0,
        }
    }

    fn call<'a>(&mut self, syntax: &'a parse::Call) -> Call<'a> {
        let options = &syntax.options.read;
        self.refuse_in_stream(syntax.call_token.span, "`call`");
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
        self.refuse_in_stream(syntax.sleep_token.span, "`sleep`");
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
        self.refuse_in_stream(syntax.name.span(), "`signal`");
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
        self.push_site(name, explicit, span)
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
