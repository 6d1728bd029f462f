//! (c) A fan-out of 100,000 trivial steps, at most 64 at a time: trailhead's
//! `parallel(limit = 64) for` against
//! `futures::stream::iter(..).map(f).buffer_unordered(64)` with the outputs put
//! back in input order, and `buffered(64)` (which keeps the order itself).
//!
//! `cargo bench --bench fanout`; every row counts 100,000 steps.

mod common;

use divan::Bencher;
use divan::counter::ItemsCount;
use futures::{StreamExt, TryStreamExt, stream};
use trailhead::{Engine, workflow};

use common::{inc, runtime, sum_of_inc};

/// Items in the fan-out.
const N: u64 = 100_000;
/// At most this many in flight.
const LIMIT: usize = 64;

workflow! {
    /// `inc(i)` for every `i` in `0..n`, 64 at a time; outputs in input order.
    workflow fan_out(n: u64) -> Result<u64, trailhead::Error> {
        let outputs = parallel(limit = 64) for i in 0..n {
            step inc(i)
        };
        Ok(outputs.iter().sum())
    }
}

fn main() {
    divan::main();
}

/// The floor: `buffer_unordered(64)`, each output written to its input's slot.
#[divan::bench(sample_count = 50)]
fn buffer_unordered(bencher: Bencher<'_, '_>) {
    let rt = runtime();
    bencher.counter(ItemsCount::new(N)).bench_local(|| {
        let outputs = rt
            .block_on(rt.spawn(async {
                let mut outputs = vec![0; N as usize];
                stream::iter(0..N)
                    .map(|i| async move { (i, inc(i).await) })
                    .buffer_unordered(LIMIT)
                    .for_each(|(i, output)| {
                        outputs[i as usize] = output.unwrap();
                        async {}
                    })
                    .await;
                outputs
            }))
            .unwrap();
        assert_eq!(outputs.iter().sum::<u64>(), sum_of_inc(N));
    });
}

/// The second floor: `buffered(64)`, which yields the outputs in input order.
#[divan::bench(sample_count = 50)]
fn buffered(bencher: Bencher<'_, '_>) {
    let rt = runtime();
    bencher.counter(ItemsCount::new(N)).bench_local(|| {
        let outputs: Vec<u64> = rt
            .block_on(rt.spawn(stream::iter(0..N).map(inc).buffered(LIMIT).try_collect()))
            .unwrap()
            .unwrap();
        assert_eq!(outputs.iter().sum::<u64>(), sum_of_inc(N));
    });
}

/// trailhead's fan-out with limit 64, no event subscriber.
#[divan::bench(sample_count = 50)]
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
