//! (b) 10,000 independent trivial steps: trailhead's unlimited fan-out
//! `parallel for` against `futures::future::join_all` and `FuturesUnordered` over
//! the same async fn (the floor); for comparison, the same 10,000 steps in a plain
//! trailhead `for` loop (one after another).
//! (d) The same wide shape in the `dagx` and `dagrs` crates.
//!
//! `cargo bench --bench wide`; every row counts 10,000 steps (nodes).

mod common;

use divan::Bencher;
use divan::counter::ItemsCount;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use trailhead::{Engine, workflow};

use common::{build_and_run, dagrs_shapes, dagx_shapes, inc, run_only, runtime, sum_of_inc};

/// Independent steps.
const N: u64 = 10_000;

workflow! {
    /// `inc(i)` for every `i` in `0..n`, one step after another (today's loops).
    workflow sequential(n: u64) -> Result<u64, trailhead::Error> {
        let mut total = 0;
        for i in 0..n {
            total += step inc(i);
        }
        Ok(total)
    }
}

workflow! {
    /// `inc(i)` for every `i` in `0..n`, all at once; outputs in input order.
    workflow fan_out(n: u64) -> Result<u64, trailhead::Error> {
        let outputs = parallel for i in 0..n {
            step inc(i)
        };
        Ok(outputs.iter().sum())
    }
}

fn main() {
    divan::main();
}

/// The floor: `join_all` over the 10,000 futures, in one spawned task.
#[divan::bench(sample_count = 100)]
fn join_all(bencher: Bencher<'_, '_>) {
    let rt = runtime();
    bencher.counter(ItemsCount::new(N)).bench_local(|| {
        let outputs = rt
            .block_on(rt.spawn(futures::future::join_all((0..N).map(inc))))
            .unwrap();
        let total: u64 = outputs.into_iter().map(Result::unwrap).sum();
        assert_eq!(total, sum_of_inc(N));
    });
}

/// The floor: a `FuturesUnordered` of the 10,000 futures, in one spawned task.
#[divan::bench(sample_count = 100)]
fn futures_unordered(bencher: Bencher<'_, '_>) {
    let rt = runtime();
    bencher.counter(ItemsCount::new(N)).bench_local(|| {
        let total = rt
            .block_on(rt.spawn(async {
                let mut pending: FuturesUnordered<_> = (0..N).map(inc).collect();
                let mut total = 0;
                while let Some(output) = pending.next().await {
                    total += output.unwrap();
                }
                total
            }))
            .unwrap();
        assert_eq!(total, sum_of_inc(N));
    });
}

/// trailhead's fan-out, unlimited, no event subscriber.
#[divan::bench(sample_count = 100)]
fn trailhead_parallel_for(bencher: Bencher<'_, '_>) {
    let rt = runtime();
    bencher
        .counter(ItemsCount::new(N))
        .with_inputs(Engine::new)
        .bench_local_values(|engine| {
            let total = rt.block_on(async { engine.start(fan_out, N).await?.result().await });
            assert_eq!(total.unwrap(), sum_of_inc(N));
            engine
        });
}

/// For comparison: the 10,000 steps in a plain `for` loop, one after another,
/// no event subscriber.
#[divan::bench(sample_count = 100)]
fn trailhead_sequential_for(bencher: Bencher<'_, '_>) {
    let rt = runtime();
    bencher
        .counter(ItemsCount::new(N))
        .with_inputs(Engine::new)
        .bench_local_values(|engine| {
            let total = rt.block_on(async { engine.start(sequential, N).await?.result().await });
            assert_eq!(total.unwrap(), sum_of_inc(N));
            engine
        });
}

/// dagx: builds the graph of 10,000 source tasks and runs it (a graph runs once).
#[divan::bench(sample_count = 60)]
fn dagx(bencher: Bencher<'_, '_>) {
    build_and_run(
        bencher,
        N,
        || dagx_shapes::wide_graph(N),
        |rt, graph| rt.block_on(dagx_shapes::run_wide(graph)),
        sum_of_inc(N),
    );
}

/// dagx: builds the graph of 10,000 source tasks (outside the timing) and runs it.
#[divan::bench(sample_count = 60)]
fn dagx_run_only(bencher: Bencher<'_, '_>) {
    run_only(
        bencher,
        N,
        || dagx_shapes::wide_graph(N),
        |rt, graph| rt.block_on(dagx_shapes::run_wide(graph)),
        sum_of_inc(N),
    );
}

/// dagrs: builds the graph of 10,000 unconnected nodes and runs it.
#[divan::bench(sample_count = 20)]
fn dagrs(bencher: Bencher<'_, '_>) {
    build_and_run(
        bencher,
        N,
        || dagrs_shapes::wide_graph(N),
        |rt, graph| rt.block_on(dagrs_shapes::run_wide(graph)),
        sum_of_inc(N),
    );
}

/// dagrs: builds the graph of 10,000 unconnected nodes (outside the timing) and
/// runs it.
#[divan::bench(sample_count = 20)]
fn dagrs_run_only(bencher: Bencher<'_, '_>) {
    run_only(
        bencher,
        N,
        || dagrs_shapes::wide_graph(N),
        |rt, graph| rt.block_on(dagrs_shapes::run_wide(graph)),
        sum_of_inc(N),
    );
}
