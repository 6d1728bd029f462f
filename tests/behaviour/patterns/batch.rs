//! `patterns::batch`: chunks as child runs, a failing chunk named, a
//! resumed batch that skips the chunks it finished.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use trailhead::patterns::batch::{BatchError, for_each_batch};
use trailhead::{Engine, Error, RunError, RunId, Workflow, workflow};

use crate::support::{journal_keys, step_started};

/// Every chunk a body step was given, in order (each test its own items).
static CHUNKS: Mutex<Vec<Vec<u32>>> = Mutex::new(Vec::new());
/// While set, `gate` never returns: the "process" stops there.
static GATE_SHUT: AtomicBool = AtomicBool::new(true);

/// The chunks seen whose first item is in `items`.
fn chunks_seen(items: std::ops::Range<u32>) -> Vec<Vec<u32>> {
    CHUNKS
        .lock()
        .unwrap()
        .iter()
        .filter(|chunk| chunk.first().is_some_and(|first| items.contains(first)))
        .cloned()
        .collect()
}

async fn sum(chunk: Vec<u32>) -> Result<u32, Error> {
    CHUNKS.lock().unwrap().push(chunk.clone());
    if chunk.contains(&107) {
        return Err(Error::msg("item 107 is malformed"));
    }
    Ok(chunk.iter().sum())
}

async fn gate(chunk: Vec<u32>) -> Result<(), Error> {
    if chunk.contains(&206) && GATE_SHUT.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    Ok(())
}

workflow! {
    /// The body: sums a chunk.
    workflow add_up(chunk: Vec<u32>) -> Result<u32, Error> {
        Ok(step sum(chunk))
    }

    /// The body of the durable test: sums, then waits at the gate.
    workflow add_up_gated(chunk: Vec<u32>) -> Result<u32, Error> {
        let total = step sum(chunk.clone());
        step gate(chunk).after(total);
        Ok(total)
    }
}

type Sums = for_each_batch<add_up, u32>;
type GatedSums = for_each_batch<add_up_gated, u32>;

#[tokio::test]
async fn ten_items_in_chunks_of_three_are_four_child_runs() {
    let engine = Engine::new();
    let run = RunId::new("batch-ten");
    let handle = engine
        .start_with_id(run.clone(), Sums::default(), ((0..10).collect(), 3, 2))
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), [3, 12, 21, 9]);
    let mut seen = chunks_seen(0..10);
    seen.sort();
    assert_eq!(seen, [vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8], vec![9]]);
    let children: Vec<(String, Vec<u32>)> = engine
        .store()
        .children(&run)
        .await
        .unwrap()
        .into_iter()
        .map(|child| (child.id.to_string(), child.input.decode().unwrap()))
        .collect();
    assert_eq!(
        children,
        [
            ("batch-ten/W[0]".to_owned(), vec![0, 1, 2]),
            ("batch-ten/W[1]".to_owned(), vec![3, 4, 5]),
            ("batch-ten/W[2]".to_owned(), vec![6, 7, 8]),
            ("batch-ten/W[3]".to_owned(), vec![9]),
        ]
    );
    assert_eq!(
        journal_keys(&engine, &run).await.len(),
        4,
        "one entry per chunk"
    );
}

#[tokio::test]
async fn a_failing_chunk_fails_the_batch_naming_the_chunk() {
    let engine = Engine::new();
    let result = Sums::run(&engine, (100..110).collect(), 3, 1).await;
    let Err(RunError::Failed {
        error:
            BatchError::Chunk {
                index,
                items,
                error,
            },
        ..
    }) = result
    else {
        panic!("chunk 2 holds item 107: {result:?}");
    };
    assert_eq!((index, items), (2, 6..9));
    assert_eq!(error.step.to_string(), "W[2]");
    assert!(
        error.to_string().contains("item 107 is malformed"),
        "{error}"
    );
    assert!(
        chunks_seen(100..110).len() == 3,
        "one at a time: the last chunk never started"
    );
}

#[test]
fn the_chart_shows_the_call_in_a_fan_out() {
    let chart = <Sums as Workflow>::mermaid();
    super::chapter::assert_charted("for_each_batch", <Sums as Workflow>::MERMAID);
    assert!(chart.contains("call W"), "{chart}");
    assert!(chart.contains("parallel"), "{chart}");
    assert_eq!(<Sums as Workflow>::name(), "for_each_batch<add_up, u32>");
}

#[tokio::test(start_paused = true)]
async fn a_resumed_batch_skips_the_chunks_it_finished() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let run = RunId::new("batch-durable");
    let items: Vec<u32> = (200..210).collect();
    {
        let engine = Engine::open(&path).unwrap();
        let mut events = engine.subscribe();
        engine
            .start_with_id(run.clone(), GatedSums::default(), (items.clone(), 3, 1))
            .await
            .unwrap();
        // Chunks 0 and 1 finished; chunk 2 (206..209) waits at its gate.
        step_started(&mut events, "gate").await;
        step_started(&mut events, "gate").await;
        step_started(&mut events, "gate").await;
        engine.shutdown(Duration::ZERO).await;
        assert_eq!(chunks_seen(200..210).len(), 3);
    }
    GATE_SHUT.store(false, Ordering::SeqCst);
    let engine = Engine::open(&path).unwrap();
    let handle = engine
        .resume(GatedSums::default())
        .await
        .unwrap()
        .into_iter()
        .next()
        .expect("the stopped batch");
    assert_eq!(handle.result().await.unwrap(), [603, 612, 621, 209]);
    assert_eq!(
        chunks_seen(200..210),
        [
            vec![200, 201, 202],
            vec![203, 204, 205],
            vec![206, 207, 208],
            vec![209]
        ],
        "no chunk summed twice: chunk 2 resumed at its gate"
    );
}
