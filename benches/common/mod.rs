//! What the benches share: the trivial step every row runs, and the runtime.
//!
//! Each bench target includes this file with `mod common;` and uses part of it.
#![allow(dead_code)]

use std::convert::Infallible;
use std::hint::black_box;

pub(crate) mod process;

/// The trivial step of every row, trailhead's and the baselines': `x + 1`,
/// behind `black_box` so that no loop of it folds into one addition.
pub(crate) async fn inc(x: u64) -> Result<u64, Infallible> {
    Ok(black_box(x) + 1)
}

/// The runtime every row runs on: tokio's multi-thread scheduler with one
/// worker per core of the 2-core machine, as `#[tokio::main]` would build it.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Times building a graph of `items` nodes with `build` and running it with
/// `run` on [`runtime`], which must give `expected`; the graph is dropped
/// outside the timing.
pub(crate) fn build_and_run<G>(
    bencher: divan::Bencher<'_, '_>,
    items: u64,
    build: impl Fn() -> G + Sync,
    run: impl Fn(&tokio::runtime::Runtime, &mut G) -> u64 + Sync,
    expected: u64,
) {
    let rt = runtime();
    bencher
        .counter(divan::counter::ItemsCount::new(items))
        .bench_local(|| {
            let mut graph = build();
            assert_eq!(run(&rt, &mut graph), expected);
            graph
        });
}

/// [`build_and_run`] with the graph built outside the timing: only running
/// it is timed.
pub(crate) fn run_only<G>(
    bencher: divan::Bencher<'_, '_>,
    items: u64,
    build: impl Fn() -> G + Sync,
    run: impl Fn(&tokio::runtime::Runtime, &mut G) -> u64 + Sync,
    expected: u64,
) {
    let rt = runtime();
    bencher
        .counter(divan::counter::ItemsCount::new(items))
        .with_inputs(build)
        .bench_local_values(|mut graph| {
            assert_eq!(run(&rt, &mut graph), expected);
            graph
        });
}

/// `1 + 2 + … + n`: what `inc` over `0..n` sums to.
pub(crate) const fn sum_of_inc(n: u64) -> u64 {
    n * (n + 1) / 2
}

/// The chain and wide shapes in [dagx](https://docs.rs/dagx): one task per
/// node, each running [`inc`].
pub(crate) mod dagx_shapes {
    use dagx::{DagRunner, TaskHandle, task_fn};

    use super::inc;

    /// Spawns dagx's ready tasks on tokio, as dagx's own examples do.
    fn spawn(future: futures::future::BoxFuture<'static, ()>) {
        tokio::spawn(future);
    }

    /// A chain of `n` nodes, each incrementing the previous node's output (the
    /// first starts from 0), and its last node.
    pub(crate) fn chain_graph(n: u64) -> (DagRunner, TaskHandle<u64>) {
        let dag = DagRunner::new();
        let first = dag.add_task(task_fn(|(): ()| async { inc(0).await.unwrap() }));
        let mut last: TaskHandle<u64> = (&first).into();
        for _ in 1..n {
            last = dag
                .add_task(task_fn(|x: u64| async move { inc(x).await.unwrap() }))
                .depends_on(last);
        }
        (dag, last)
    }

    /// Runs a graph made by [`chain_graph`]; gives the last node's output.
    pub(crate) async fn run_chain((dag, last): &(DagRunner, TaskHandle<u64>)) -> u64 {
        dag.run(spawn).await.expect("the dagx chain runs");
        dag.get(*last).expect("the last node's output")
    }

    /// `n` independent nodes, node `i` computing `inc(i)`, and the nodes.
    pub(crate) fn wide_graph(n: u64) -> (DagRunner, Vec<TaskHandle<u64>>) {
        let dag = DagRunner::new();
        let nodes = (0..n)
            .map(|i| {
                let node =
                    dag.add_task(task_fn(move |(): ()| async move { inc(i).await.unwrap() }));
                (&node).into()
            })
            .collect();
        (dag, nodes)
    }

    /// Runs a graph made by [`wide_graph`]; gives the sum of the outputs.
    pub(crate) async fn run_wide((dag, nodes): &(DagRunner, Vec<TaskHandle<u64>>)) -> u64 {
        dag.run(spawn).await.expect("the dagx nodes run");
        nodes
            .iter()
            .map(|&node| dag.get(node).expect("every node's output"))
            .sum()
    }
}

/// The chain and wide shapes in [dagrs](https://docs.rs/dagrs): one
/// `DefaultNode` per node, each running [`inc`] in its `Action`.
pub(crate) mod dagrs_shapes {
    use std::sync::Arc;

    use dagrs::async_trait::async_trait;
    use dagrs::{
        Action, Content, DefaultNode, EnvVar, Graph, InChannels, Node, NodeId, NodeTable,
        OutChannels, Output,
    };

    use super::inc;

    /// Increments the output of its one predecessor, or `start` when it has none,
    /// and sends the result on to its successors.
    struct Inc {
        start: u64,
    }

    #[async_trait]
    impl Action for Inc {
        async fn run(
            &self,
            inputs: &mut InChannels,
            outputs: &mut OutChannels,
            _: Arc<EnvVar>,
        ) -> Output {
            let received: Vec<u64> = inputs
                .map(|content| {
                    *content
                        .expect("the predecessor's output")
                        .into_inner::<u64>()
                        .expect("a u64")
                })
                .await;
            let x = received.first().copied().unwrap_or(self.start);
            let y = inc(x).await.unwrap();
            outputs.broadcast(Content::new(y)).await;
            Output::new(y)
        }
    }

    /// A graph of `n` nodes, node `i` starting from `i`, and their ids.
    fn nodes(n: u64) -> (Graph, Vec<NodeId>) {
        let mut table = NodeTable::new();
        let mut graph = Graph::new();
        let mut ids = Vec::new();
        for i in 0..n {
            let node = DefaultNode::with_action(format!("inc{i}"), Inc { start: i }, &mut table);
            ids.push(node.id());
            graph.add_node(node).expect("a new node");
        }
        graph.set_env(EnvVar::new(table));
        (graph, ids)
    }

    /// A chain of `n` nodes, each incrementing the previous node's output.
    pub(crate) fn chain_graph(n: u64) -> (Graph, NodeId) {
        let (mut graph, ids) = nodes(n);
        for pair in ids.windows(2) {
            graph.add_edge(pair[0], [pair[1]]).expect("a new edge");
        }
        let last = *ids.last().expect("at least one node");
        (graph, last)
    }

    /// Runs a graph made by [`chain_graph`]; gives the last node's output.
    pub(crate) async fn run_chain((graph, last): &mut (Graph, NodeId)) -> u64 {
        graph.async_start().await.expect("the dagrs chain runs");
        let results = graph.get_results::<u64>();
        **results[last].as_ref().expect("the last node's output")
    }

    /// `n` independent nodes, node `i` computing `inc(i)`.
    pub(crate) fn wide_graph(n: u64) -> Graph {
        nodes(n).0
    }

    /// Runs a graph made by [`wide_graph`]; gives the sum of the outputs.
    pub(crate) async fn run_wide(graph: &mut Graph) -> u64 {
        graph.async_start().await.expect("the dagrs nodes run");
        graph
            .get_results::<u64>()
            .values()
            .map(|output| **output.as_ref().expect("every node's output"))
            .sum()
    }
}
