//! (a) A chain of 10,000 trivial steps, each reading the previous step's output:
//! trailhead with no event subscriber, with one subscriber draining every event
//! and with the debugger on (no breakpoint; a breakpoint on another step),
//! against the same async fn awaited in a hand-written tokio loop (the floor).
//! (d) The same chain in the `dagx` and `dagrs` crates, and in
//! `sayiir-runtime`'s in-process runner (no persistence).
//!
//! `cargo bench --bench chain`; every row counts 10,000 steps (nodes), so divan's
//! throughput column is steps per second and the median divided by 10,000 is the
//! cost per step. BENCHMARKS.md has the table.

mod common;

use divan::Bencher;
use divan::counter::ItemsCount;
use trailhead::{Engine, Event, workflow};

use common::{build_and_run, dagrs_shapes, dagx_shapes, inc, run_only, runtime};

/// Steps in the chain.
const N: u64 = 10_000;

workflow! {
    /// `x = inc(x)`, `n` times: each step depends on the one before.
    workflow chain(n: u64) -> Result<u64, trailhead::Error> {
        let mut x = 0;
        for _ in 0..n {
            x = step inc(x);
        }
        Ok(x)
    }
}

fn main() {
    divan::main();
}

/// The floor: the same `inc` awaited in a loop, in one spawned task as a run is.
#[divan::bench(sample_count = 100)]
fn tokio_loop(bencher: Bencher<'_, '_>) {
    let rt = runtime();
    bencher.counter(ItemsCount::new(N)).bench_local(|| {
        let x = rt.block_on(async {
            tokio::spawn(async {
                let mut x = 0;
                for _ in 0..N {
                    x = inc(x).await?;
                }
                Ok::<_, std::convert::Infallible>(x)
            })
            .await
        });
        assert_eq!(x.unwrap().unwrap(), N);
    });
}

/// trailhead, no event subscriber. A fresh engine per sample, made and dropped
/// outside the timing: the in-memory store keeps every run's journal.
#[divan::bench(sample_count = 100)]
fn trailhead_no_subscriber(bencher: Bencher<'_, '_>) {
    let rt = runtime();
    bencher
        .counter(ItemsCount::new(N))
        .with_inputs(Engine::new)
        .bench_local_values(|engine| {
            let x = rt.block_on(async { engine.start(chain, N).await?.result().await });
            assert_eq!(x.unwrap(), N);
            engine
        });
}

/// trailhead on an engine built with the debugger and no breakpoint: what
/// debugging on costs each step (its arguments described, the breakpoints
/// looked up), against `trailhead_no_subscriber` in the same run.
#[divan::bench(sample_count = 100)]
fn trailhead_debugger_no_breakpoint(bencher: Bencher<'_, '_>) {
    let rt = runtime();
    bencher
        .counter(ItemsCount::new(N))
        .with_inputs(|| Engine::builder().debugger(true).build())
        .bench_local_values(|engine| {
            let x = rt.block_on(async { engine.start(chain, N).await?.result().await });
            assert_eq!(x.unwrap(), N);
            engine
        });
}

/// trailhead on an engine with the debugger and a breakpoint on a step the
/// chain does not have: every step describes its argument and looks the
/// breakpoints up, and none stops.
#[divan::bench(sample_count = 100)]
fn trailhead_debugger_breakpoint_elsewhere(bencher: Bencher<'_, '_>) {
    let rt = runtime();
    bencher
        .counter(ItemsCount::new(N))
        .with_inputs(|| {
            let engine = Engine::builder().debugger(true).build();
            let pattern = "elsewhere".parse().expect("a step pattern");
            let breakpoint = trailhead::debug::Breakpoint::before(pattern);
            engine
                .debugger()
                .expect("built with one")
                .break_at(breakpoint);
            engine
        })
        .bench_local_values(|engine| {
            let x = rt.block_on(async { engine.start(chain, N).await?.result().await });
            assert_eq!(x.unwrap(), N);
            engine
        });
}

/// trailhead with one subscriber: a task receives every event as it is sent and
/// the sample ends when it has seen the run's last one (`RunCompleted`).
#[divan::bench(sample_count = 100)]
fn trailhead_one_subscriber(bencher: Bencher<'_, '_>) {
    let rt = runtime();
    bencher
        .counter(ItemsCount::new(N))
        .with_inputs(|| {
            // A ring that holds the whole run's events: the drainer may fall
            // behind, and this row measures delivering every one of them.
            let engine = Engine::builder().event_capacity(2 * N as usize + 2).build();
            let events = engine.subscribe();
            (engine, events)
        })
        .bench_local_values(|(engine, mut events)| {
            let (x, seen) = rt.block_on(async {
                let drain = tokio::spawn(async move {
                    let mut seen = 0_u64;
                    while let Some(event) = events.recv().await {
                        seen += 1;
                        if matches!(event, Event::RunCompleted { .. }) {
                            break;
                        }
                    }
                    seen
                });
                let x = engine.start(chain, N).await.unwrap().result().await;
                (x.unwrap(), drain.await.unwrap())
            });
            assert_eq!(x, N);
            // RunStarted, StepStarted and StepCompleted per step, RunCompleted.
            assert_eq!(seen, 2 * N + 2);
            engine
        });
}

/// dagx: builds the chain's graph and runs it (a graph runs once).
#[divan::bench(sample_count = 60)]
fn dagx(bencher: Bencher<'_, '_>) {
    build_and_run(
        bencher,
        N,
        || dagx_shapes::chain_graph(N),
        |rt, graph| rt.block_on(dagx_shapes::run_chain(graph)),
        N,
    );
}

/// dagx: builds the chain's graph (outside the timing) and runs it.
#[divan::bench(sample_count = 60)]
fn dagx_run_only(bencher: Bencher<'_, '_>) {
    run_only(
        bencher,
        N,
        || dagx_shapes::chain_graph(N),
        |rt, graph| rt.block_on(dagx_shapes::run_chain(graph)),
        N,
    );
}

/// dagrs: builds the chain's graph (outside the timing) and runs it.
#[divan::bench(sample_count = 20)]
fn dagrs_run_only(bencher: Bencher<'_, '_>) {
    run_only(
        bencher,
        N,
        || dagrs_shapes::chain_graph(N),
        |rt, graph| rt.block_on(dagrs_shapes::run_chain(graph)),
        N,
    );
}

/// dagrs: builds the chain's graph and runs it.
#[divan::bench(sample_count = 20)]
fn dagrs(bencher: Bencher<'_, '_>) {
    build_and_run(
        bencher,
        N,
        || dagrs_shapes::chain_graph(N),
        |rt, graph| rt.block_on(dagrs_shapes::run_chain(graph)),
        N,
    );
}

/// sayiir-runtime 1.0's in-process runner (`InProcessRunner`: no
/// persistence, no journal): the chain as 10,000 `then` tasks, built outside
/// the timing. Run with `execute_continuation_async`, the call
/// `InProcessRunner::run` makes, whose output (here the last task's) the
/// runner itself drops: this row decodes it and checks it is `n`.
#[divan::bench(sample_count = 60)]
fn sayiir_in_process(bencher: Bencher<'_, '_>) {
    use sayiir_runtime::prelude::{
        Decoder as _, Encoder as _, RkyvCodec, WorkflowBuilder, WorkflowContext,
    };
    use std::sync::Arc;

    let rt = runtime();
    let build = || {
        let context = WorkflowContext::new("chain", Arc::new(RkyvCodec), Arc::new(()));
        let task = |x: u64| async move { inc(x).await.map_err(|never| match never {}) };
        let mut builder = WorkflowBuilder::new(context).then("inc0", task);
        for i in 1..N {
            builder = builder.then(&format!("inc{i}"), task);
        }
        builder.build().expect("a sayiir chain")
    };
    bencher
        .counter(ItemsCount::new(N))
        .with_inputs(build)
        .bench_local_values(|workflow| {
            let codec = Arc::clone(&workflow.context().codec);
            let x = rt.block_on(async {
                let input = codec.encode(&0_u64).expect("encodes");
                tokio::spawn(async move {
                    let output = sayiir_runtime::execute_continuation_async(
                        workflow.continuation(),
                        input,
                        &*codec,
                    )
                    .await
                    .expect("the sayiir chain runs");
                    (codec.decode::<u64>(output).expect("a u64"), workflow)
                })
                .await
                .unwrap()
            });
            assert_eq!(x.0, N);
            x.1
        });
}
