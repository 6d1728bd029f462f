//! The workflow's picture: a Mermaid flowchart, a pure function of the model.
//! (One file a little over 400 lines: the drawing of every construct is one
//! recursive walk, kept together so its node ids and order read in one place;
//! label text is in `text.rs`.)
//!
//! Steps are boxes, calls of other workflows are subroutine boxes, branches are
//! diamonds with their arms labelled, loops are hexagons with a dotted edge back from
//! the end of their body. A step's compensation hangs off it by a dashed
//! `compensate` edge (taken only in a rollback), a fallback by a dashed
//! `fails` edge to the value given instead; breakers, resources and
//! `irreversible` are written in the step's box. Plain Rust between steps is not drawn. Node ids come from
//! the definition order, so the same definition always gives the same text.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use proc_macro2::TokenStream;
use quote::ToTokens;

use crate::model::graph::Plan;
use crate::model::{
    Block, Else, FanOut, If, Loop, LoopKind, Node, Rust, Stmt, StreamSite, Workflow,
};

mod graph;
pub(crate) mod text;

use graph::{Context, GraphNode, Kind};
use text::{code_text, duration_text, escape, options_text, target_text, tokens_text};

/// A workflow's flowchart.
pub(crate) struct Diagram {
    pub(crate) text: String,
    /// The drawn nodes as JSON (see `graph.rs`); empty when unavailable.
    pub(crate) graph: String,
}

impl Diagram {
    /// For a workflow whose body did not compile.
    pub(crate) fn unavailable() -> Self {
        Diagram {
            text: String::new(),
            graph: String::new(),
        }
    }

    /// `#[doc]` lines that append the diagram to the workflow's rustdoc.
    pub(crate) fn doc_lines(&self) -> Vec<TokenStream> {
        if self.text.is_empty() {
            return Vec::new();
        }
        let mut lines = vec![
            String::new(),
            " # Diagram".to_owned(),
            String::new(),
            " ```mermaid".to_owned(),
        ];
        lines.extend(self.text.lines().map(|line| format!(" {line}")));
        lines.push(" ```".to_owned());
        lines
            .into_iter()
            .map(|line| quote::quote!(#[doc = #line]))
            .collect()
    }
}

/// Renders `workflow` as a Mermaid flowchart.
pub(crate) fn render(workflow: &Workflow<'_>) -> Diagram {
    let mut chart = Chart {
        workflow,
        lines: Vec::new(),
        next_id: 0,
        nodes: Vec::new(),
        context: Context::default(),
    };
    let params: Vec<String> = workflow
        .def
        .params
        .iter()
        .map(|p| tokens_text(&p.pat.to_token_stream()))
        .collect();
    let start = format!(
        "{}({})",
        escape(&workflow.name().to_string()),
        escape(&params.join(", "))
    );
    chart.declare("start", Kind::Start, None, 0, ("([\"", &start, "\"])"));
    let exits = chart.block(&workflow.body, vec![Exit::plain("start")]);
    chart.declare("finish", Kind::End, None, 0, ("([\"", "end", "\"])"));
    chart.connect(&exits, "finish");
    let mut text = String::from("flowchart TD\n");
    for line in &chart.lines {
        text.push_str(line);
        text.push('\n');
    }
    let graph = graph::json(&chart.nodes);
    Diagram { text, graph }
}

/// An edge waiting for the next node: where it comes from and its label.
#[derive(Clone)]
struct Exit {
    from: String,
    label: Option<String>,
    dotted: bool,
}

impl Exit {
    fn plain(from: &str) -> Self {
        Exit {
            from: from.to_owned(),
            label: None,
            dotted: false,
        }
    }

    fn labelled(from: &str, label: String) -> Self {
        Exit {
            from: from.to_owned(),
            label: Some(label),
            dotted: false,
        }
    }
}

struct Chart<'w, 'a> {
    workflow: &'w Workflow<'a>,
    lines: Vec<String>,
    next_id: usize,
    /// The nodes drawn so far, as data.
    nodes: Vec<GraphNode>,
    context: Context,
}

impl Chart<'_, '_> {
    fn block(&mut self, block: &Block<'_>, mut exits: Vec<Exit>) -> Vec<Exit> {
        if let Some(plan) = &block.plan {
            return self.graph(block, plan, exits);
        }
        for stmt in &block.stmts {
            exits = self.stmt(stmt, exits);
        }
        exits
    }

    fn stmt(&mut self, stmt: &Stmt<'_>, exits: Vec<Exit>) -> Vec<Exit> {
        match stmt {
            Stmt::Let {
                init: Some(node), ..
            }
            | Stmt::Expr { node, .. } => self.node(node, exits),
            Stmt::Let { init: None, .. } | Stmt::Item(_) => exits,
        }
    }

    /// A block run as a graph: each statement is drawn from the statements it
    /// waits for, its data edges labelled with the bindings it reads, so that
    /// statements that run at the same time stand side by side.
    fn graph(&mut self, block: &Block<'_>, plan: &Plan, entry: Vec<Exit>) -> Vec<Exit> {
        let mut outs: BTreeMap<usize, Vec<Exit>> = BTreeMap::new();
        let mut needed: BTreeSet<usize> = BTreeSet::new();
        for (&i, stmt_plan) in &plan.stmts {
            // Inputs: the statements whose bindings it reads, the statements it
            // waits for, and the one before it in its group.
            let mut inputs: BTreeMap<usize, Vec<String>> = BTreeMap::new();
            for slot in plan.slots.iter().filter(|slot| slot.readers.contains(&i)) {
                inputs
                    .entry(slot.producer)
                    .or_default()
                    .push(slot.binding.ident.to_string());
            }
            for &j in stmt_plan.waits.keys() {
                inputs.entry(j).or_default();
            }
            let group = &plan.groups[stmt_plan.group];
            if let Some(position) = group.iter().position(|&k| k == i)
                && position > 0
            {
                inputs.entry(group[position - 1]).or_default();
            }
            let mut exits = Vec::new();
            for (j, names) in &inputs {
                needed.insert(*j);
                for exit in outs.get(j).into_iter().flatten() {
                    let mut exit = exit.clone();
                    if !names.is_empty() {
                        exit.label = Some(names.join(", "));
                    }
                    exits.push(exit);
                }
            }
            // Edges that only pass the block's entry through plain code are
            // implied when a real input is drawn.
            if exits
                .iter()
                .any(|exit| !entry.iter().any(|e| e.from == exit.from))
            {
                exits.retain(|exit| !entry.iter().any(|e| e.from == exit.from));
            }
            if exits.is_empty() {
                exits = entry.clone();
            }
            let out = self.stmt(&block.stmts[i], exits);
            outs.insert(i, out);
        }
        let mut exits: Vec<Exit> = outs
            .iter()
            .filter(|(i, _)| !needed.contains(i))
            .flat_map(|(_, out)| out.iter().cloned())
            .collect();
        if let Some(tail) = plan.tail {
            exits = self.stmt(&block.stmts[tail], exits);
        }
        exits
    }

    fn node(&mut self, node: &Node<'_>, exits: Vec<Exit>) -> Vec<Exit> {
        if !node.has_sites() {
            return exits;
        }
        match node {
            Node::Step(step) => {
                let id = format!("s{}", step.site);
                let mut label = escape(&self.workflow.sites[step.site].name);
                let options = options_text(step.options);
                if !options.is_empty() {
                    let _ = write!(label, "<br/><small>{}</small>", escape(&options));
                }
                let shape = if step.syntax.blocking.is_some() {
                    ("[/\"", label.as_str(), "\"/]")
                } else {
                    ("[\"", label.as_str(), "\"]")
                };
                let site = &self.workflow.sites[step.site].name;
                self.declare(&id, Kind::Step, Some(site), step.depth, shape);
                self.aim(target_text(&step.syntax.target));
                self.connect(&exits, &id);
                if let Some(compensate) = &step.options.compensate {
                    // Dashed: taken only when the run is rolled back.
                    let undo = format!("u{}", step.site);
                    let func = tokens_text(&compensate.func.to_token_stream());
                    let label = escape(&format!("undo: {func}"));
                    let shape = ("[\"", label.as_str(), "\"]");
                    self.declare(&undo, Kind::Compensation, Some(site), step.depth, shape);
                    self.aim(code_text(&compensate.func));
                    self.lines
                        .push(format!("    {id} -.->|\"compensate\"| {undo}"));
                }
                let mut out = vec![Exit::plain(&id)];
                if let Some(fallback) = &step.options.fallback {
                    let instead = format!("f{}", step.site);
                    let value = tokens_text(&fallback.to_token_stream());
                    // A fallback step is keyed `{site}.fallback`; a value
                    // stands for the step it replaces.
                    if let Some(target) = &step.options.fallback_step {
                        let label = escape(&format!("fallback: step {value}"));
                        let shape = ("[\"", label.as_str(), "\"]");
                        let fallback = format!("{site}.fallback");
                        self.declare(&instead, Kind::Fallback, Some(&fallback), step.depth, shape);
                        self.aim(target_text(target));
                    } else {
                        let label = escape(&format!("fallback: {value}"));
                        let shape = ("([\"", label.as_str(), "\"])");
                        self.declare(&instead, Kind::Fallback, Some(site), step.depth, shape);
                    }
                    self.lines
                        .push(format!("    {id} -.->|\"fails\"| {instead}"));
                    out.push(Exit::plain(&instead));
                }
                out
            }
            Node::Sleep(sleep) => {
                let id = format!("s{}", sleep.site);
                let how_long = duration_text(&sleep.syntax.duration);
                let label = escape(&format!("sleep {how_long}"));
                let site = &self.workflow.sites[sleep.site].name;
                self.declare(
                    &id,
                    Kind::Sleep,
                    Some(site),
                    sleep.depth,
                    (">\"", &label, "\"]"),
                );
                self.connect(&exits, &id);
                vec![Exit::plain(&id)]
            }
            Node::Signal(signal) => {
                let id = format!("s{}", signal.site);
                let label = escape(&format!("signal {}", signal.syntax.name.value()));
                let site = &self.workflow.sites[signal.site].name;
                let shape = ("[/\"", label.as_str(), "\"\\]");
                self.declare(&id, Kind::Signal, Some(site), signal.depth, shape);
                self.connect(&exits, &id);
                vec![Exit::plain(&id)]
            }
            Node::Call(call) => {
                let id = format!("s{}", call.site);
                let site = &self.workflow.sites[call.site].name;
                let label = escape(&format!("call {site}"));
                self.declare(
                    &id,
                    Kind::Call,
                    Some(site),
                    call.depth,
                    ("[[\"", &label, "\"]]"),
                );
                self.aim(target_text(&call.syntax.target));
                self.connect(&exits, &id);
                vec![Exit::plain(&id)]
            }
            Node::If(branch) => self.if_(branch, exits),
            Node::Match(branch) => {
                let exits = self.sites(&branch.scrutinee, exits);
                let id = self.fresh("m");
                let text = format!(
                    "match {}",
                    tokens_text(&branch.syntax.expr.expr.to_token_stream())
                );
                let labels: Vec<String> = branch
                    .arms
                    .iter()
                    .map(|arm| {
                        let mut label = tokens_text(&arm.syntax.pat.to_token_stream());
                        if let Some((_, guard)) = &arm.syntax.guard {
                            let guard = tokens_text(&guard.expr.to_token_stream());
                            let _ = write!(label, " if {guard}");
                        }
                        label
                    })
                    .collect();
                self.declare(&id, Kind::Branch, None, 0, ("{\"", &escape(&text), "\"}"));
                self.nodes
                    .last_mut()
                    .expect("just declared")
                    .arms
                    .clone_from(&labels);
                self.connect(&exits, &id);
                let mut out = Vec::new();
                for (index, (arm, label)) in branch.arms.iter().zip(labels).enumerate() {
                    self.context.enter_arm(&id, index);
                    let mut entry = vec![Exit::labelled(&id, label)];
                    if let Some(guard) = &arm.guard {
                        entry = self.sites(guard, entry);
                    }
                    out.extend(self.node(&arm.body, entry));
                    self.context.leave_arm();
                }
                out
            }
            Node::Loop(looped) => self.loop_(looped, exits),
            Node::FanOut(fan_out) => self.fan_out(fan_out, exits),
            Node::Block(block) => self.block(block, exits),
            Node::Rust(rust) => self.sites(rust, exits),
        }
    }

    /// The steps and calls inside plain code, one after another.
    fn sites(&mut self, rust: &Rust<'_>, mut exits: Vec<Exit>) -> Vec<Exit> {
        for site in &rust.sites {
            exits = self.node(site, exits);
        }
        exits
    }

    fn if_(&mut self, branch: &If<'_>, exits: Vec<Exit>) -> Vec<Exit> {
        let exits = self.sites(&branch.cond, exits);
        let id = self.fresh("b");
        let text = format!(
            "if {}",
            tokens_text(&branch.syntax.cond.expr.to_token_stream())
        );
        self.declare(&id, Kind::Branch, None, 0, ("{\"", &escape(&text), "\"}"));
        self.nodes.last_mut().expect("just declared").arms =
            vec!["yes".to_owned(), "no".to_owned()];
        self.connect(&exits, &id);
        self.context.enter_arm(&id, 0);
        let mut out = self.block(
            &branch.then_branch,
            vec![Exit::labelled(&id, "yes".to_owned())],
        );
        self.context.leave_arm();
        self.context.enter_arm(&id, 1);
        let no = vec![Exit::labelled(&id, "no".to_owned())];
        match &branch.else_branch {
            Some(Else::If(inner)) if inner.has_sites() => out.extend(self.if_(inner, no)),
            Some(Else::Block(block)) => out.extend(self.block(block, no)),
            Some(Else::If(_)) | None => out.extend(no),
        }
        self.context.leave_arm();
        out
    }

    fn loop_(&mut self, looped: &Loop<'_>, exits: Vec<Exit>) -> Vec<Exit> {
        let exits = match &looped.kind {
            LoopKind::For { expr, .. } => self.sites(expr, exits),
            LoopKind::While { .. } | LoopKind::Loop => exits,
        };
        let id = self.fresh("l");
        let (text, done) = match &looped.kind {
            LoopKind::For { pat, expr, stream } => (
                format!(
                    "{}for {} in {}{}",
                    if stream.is_some() { "stream " } else { "" },
                    tokens_text(&pat.to_token_stream()),
                    tokens_text(&expr.expr.to_token_stream()),
                    stream.as_ref().map(checkpoints).unwrap_or_default()
                ),
                "done",
            ),
            LoopKind::While { cond } => (
                format!("while {}", tokens_text(&cond.expr.to_token_stream())),
                "done",
            ),
            LoopKind::Loop => ("loop".to_owned(), "break"),
        };
        // A stream loop's node is its checkpoint's site: its entry colours it.
        let site = match &looped.kind {
            LoopKind::For {
                stream: Some(stream),
                ..
            } => Some(self.workflow.sites[stream.site].name.as_str()),
            _ => None,
        };
        self.declare(
            &id,
            Kind::Loop,
            site,
            looped.depth,
            ("{{\"", &escape(&text), "\"}}"),
        );
        self.connect(&exits, &id);
        self.context.enter_scope(&id);
        let mut entry = vec![Exit::labelled(&id, "each".to_owned())];
        if let LoopKind::While { cond } = &looped.kind {
            entry = self.sites(cond, entry);
        }
        let body_exits = self.block(&looped.body, entry);
        self.context.leave_scope();
        let back: Vec<Exit> = body_exits
            .into_iter()
            .map(|exit| Exit {
                dotted: true,
                // An arm that skips the rest of the body keeps its own label.
                label: exit.label.or_else(|| Some("next".to_owned())),
                ..exit
            })
            .collect();
        self.connect(&back, &id);
        vec![Exit::labelled(&id, done.to_owned())]
    }

    /// A fan-out is one box, a subgraph holding its body, marked with its limit.
    fn fan_out(&mut self, fan_out: &FanOut<'_>, exits: Vec<Exit>) -> Vec<Exit> {
        let exits = self.sites(&fan_out.expr, exits);
        let id = self.fresh("f");
        let mut text = format!(
            "{} for {} in {}",
            if fan_out.stream.is_some() {
                "stream"
            } else {
                "parallel"
            },
            tokens_text(&fan_out.syntax.pat.to_token_stream()),
            tokens_text(&fan_out.syntax.expr.expr.to_token_stream())
        );
        if let Some(limit) = &fan_out.syntax.limit {
            let _ = write!(text, " · limit {}", tokens_text(&limit.to_token_stream()));
        }
        if let Some(stream) = &fan_out.stream {
            text.push_str(&checkpoints(stream));
        }
        self.lines
            .push(format!("    subgraph {id}[\"{}\"]", escape(&text)));
        let site = fan_out
            .stream
            .as_ref()
            .map(|stream| self.workflow.sites[stream.site].name.as_str());
        self.record(
            &id,
            Kind::FanOut,
            site,
            fan_out.depth,
            ("[\"", &escape(&text), "\"]"),
        );
        self.context.enter_scope(&id);
        self.block(&fan_out.body, Vec::new());
        self.context.leave_scope();
        self.lines.push("    end".to_owned());
        self.connect(&exits, &id);
        vec![Exit::plain(&id)]
    }

    fn fresh(&mut self, prefix: &str) -> String {
        let id = format!("{prefix}{}", self.next_id);
        self.next_id += 1;
        id
    }

    /// Draws node `id` as `open label close` and records it.
    fn declare(
        &mut self,
        id: &str,
        kind: Kind,
        site: Option<&str>,
        depth: usize,
        shape: (&str, &str, &str),
    ) {
        let (open, label, close) = shape;
        self.lines.push(format!("    {id}{open}{label}{close}"));
        self.record(id, kind, site, depth, shape);
    }

    /// Records node `id` in the graph, in the context of the walk.
    fn record(
        &mut self,
        id: &str,
        kind: Kind,
        site: Option<&str>,
        depth: usize,
        (open, label, close): (&str, &str, &str),
    ) {
        self.nodes.push(GraphNode {
            id: id.to_owned(),
            kind,
            site: site.map(str::to_owned),
            target: None,
            shape: (open.to_owned(), label.to_owned(), close.to_owned()),
            scope: self.context.scope(),
            depth,
            arm: self.context.arm(),
            arms: Vec::new(),
        });
    }

    /// Gives the node just recorded its target: the function it runs.
    fn aim(&mut self, target: String) {
        self.nodes.last_mut().expect("just declared").target = Some(target);
    }

    fn connect(&mut self, exits: &[Exit], to: &str) {
        for exit in exits {
            let arrow = if exit.dotted { "-.->" } else { "-->" };
            let line = match &exit.label {
                Some(label) => format!("    {} {arrow}|\"{}\"| {to}", exit.from, escape(label)),
                None => format!("    {} {arrow} {to}", exit.from),
            };
            self.lines.push(line);
        }
    }
}

/// ` · checkpoint every 1000 items / 10s`: when a stream loop journals its
/// progress, as written (the defaults when not).
fn checkpoints(stream: &StreamSite<'_>) -> String {
    let options = &stream.syntax.stream;
    let every = options.every.as_ref().map_or(1_000, |(_, every)| *every);
    let interval = options.interval.as_ref().map_or_else(
        || "10s".to_owned(),
        |(expr, _)| tokens_text(&expr.to_token_stream()),
    );
    format!(" · checkpoint every {every} items / {interval}")
}
