//! Stream loops: items from a resumable source, checkpoints instead of
//! per-item entries, backpressure, resuming after the last checkpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use futures::StreamExt as _;
use trailhead::stream::{self, Checkpoint, Page, Source, SourceExt as _};
use trailhead::{Engine, Event, RunId, workflow};

/// Counts what a source gave, and where it was opened.
#[derive(Clone, Default)]
struct Counter {
    pulled: Arc<AtomicU64>,
    opened_after: Arc<std::sync::Mutex<Vec<Option<u64>>>>,
}

impl Counter {
    fn pulled(&self) -> u64 {
        self.pulled.load(Ordering::SeqCst)
    }

    fn opened(&self) -> Vec<Option<u64>> {
        self.opened_after.lock().unwrap().clone()
    }
}

/// The numbers `0..n`, counted as they are pulled; reopened after a
/// cursor by skipping to it (a "primary key" source).
fn numbers(
    n: u64,
    counter: &Counter,
) -> impl Source<Item = u64, Cursor = u64, Error = std::io::Error> + use<> {
    let counter = counter.clone();
    stream::resumable(move |after: Option<u64>| {
        counter.opened_after.lock().unwrap().push(after);
        let from = after.map_or(0, |at| at + 1);
        let pulled = Arc::clone(&counter.pulled);
        futures::stream::iter(from..n).map(move |x| {
            pulled.fetch_add(1, Ordering::SeqCst);
            Ok::<_, std::io::Error>((x, x))
        })
    })
}

/// Fails for good at item `fail_at` when `armed`.
static FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);
/// Items `double` ran, all tests together (each test reads its own delta
/// through its source counter instead).
static DOUBLED: AtomicU64 = AtomicU64::new(0);

async fn double(x: u64) -> Result<u64, std::io::Error> {
    DOUBLED.fetch_add(1, Ordering::Relaxed);
    if x == FAIL_AT.load(Ordering::SeqCst) {
        return Err(std::io::Error::other(format!("item {x} failed")));
    }
    Ok(x * 2)
}

/// The source of a test, by its name: workflows take plain inputs.
fn counter_of(name: &str) -> Counter {
    static COUNTERS: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<String, Counter>>,
    > = std::sync::LazyLock::new(Default::default);
    COUNTERS
        .lock()
        .unwrap()
        .entry(name.to_owned())
        .or_default()
        .clone()
}

workflow! {
    workflow sum_doubled(name: String, n: u64) -> Result<(u64, u64), trailhead::Error> {
        let mut total: u64 = 0;
        let mut count: u64 = 0;
        stream(every = 100) for x in numbers(n, &counter_of(&name)) {
            total += step double(x);
            count += 1;
        }
        Ok((total, count))
    }

    workflow sum_parallel(name: String, n: u64) -> Result<u64, trailhead::Error> {
        stream(limit = 8, every = 100, name = "doubling") for x in numbers(n, &counter_of(&name)) {
            step double(x);
        }
        Ok(n)
    }

    workflow batches(items: Vec<u32>) -> Result<(u32, u32), trailhead::Error> {
        let mut chunks: u32 = 0;
        let mut sum: u32 = 0;
        stream(every = 2) for batch in stream::iter(items).chunks(3) {
            sum += step add_all(batch);
            chunks += 1;
        }
        Ok((chunks, sum))
    }

    workflow broken_off(n: u64) -> Result<u64, trailhead::Error> {
        let mut seen: u64 = 0;
        stream for x in stream::iter(0..n) {
            if x % 2 == 1 {
                continue;
            }
            if x >= 10 {
                break;
            }
            seen += step double(x);
        }
        Ok(seen)
    }
}

async fn add_all(batch: Vec<u32>) -> Result<u32, std::io::Error> {
    Ok(batch.iter().sum())
}

fn checkpoint_of(journal: &[trailhead::store::StepRecord], key: &str) -> Checkpoint {
    let entry = journal
        .iter()
        .find(|entry| entry.key.to_string() == key)
        .unwrap_or_else(|| panic!("no checkpoint `{key}` in {journal:?}"));
    match &entry.outcome {
        trailhead::store::StepOutcome::Completed(value) => value.decode().expect("a checkpoint"),
        other => panic!("`{key}` is {other:?}"),
    }
}

#[tokio::test]
async fn a_stream_loop_sums_every_item_and_journals_one_checkpoint_not_an_entry_per_item() {
    let engine = Engine::new();
    let counter = counter_of("sum");
    let handle = engine
        .start(sum_doubled, ("sum".to_owned(), 1_000))
        .await
        .unwrap();
    let run = handle.id().clone();
    let (total, count) = handle.result().await.unwrap();
    assert_eq!(count, 1_000);
    assert_eq!(total, (0..1_000).map(|x| x * 2).sum::<u64>());
    assert_eq!(counter.pulled(), 1_000);
    let journal = engine.journal(&run).await.unwrap();
    let keys: Vec<String> = journal.iter().map(|entry| entry.key.to_string()).collect();
    assert_eq!(
        keys,
        ["stream"],
        "one entry for 1,000 items, no per-item steps"
    );
    let checkpoint = checkpoint_of(&journal, "stream");
    assert!(checkpoint.done);
    assert_eq!(checkpoint.items, 1_000);
    assert_eq!(checkpoint.cursor.unwrap().decode::<u64>().unwrap(), 999);
    let state: Vec<u64> = checkpoint
        .state
        .iter()
        .map(|v| v.decode().unwrap())
        .collect();
    assert_eq!(
        state,
        [count, total],
        "the accumulators, in the order of their names"
    );
}

#[tokio::test]
async fn a_failed_run_reruns_from_its_last_checkpoint_with_the_accumulators_it_had_there() {
    let engine = Engine::new();
    let counter = counter_of("rerun");
    FAIL_AT.store(2_550, Ordering::SeqCst);
    let handle = engine
        .start(sum_doubled, ("rerun".to_owned(), 5_000))
        .await
        .unwrap();
    let run = handle.id().clone();
    let error = handle.result().await.unwrap_err();
    assert!(error.to_string().contains("item 2550 failed"), "{error}");
    let journal = engine.journal(&run).await.unwrap();
    let checkpoint = checkpoint_of(&journal, "stream");
    assert_eq!(
        checkpoint.items, 2_500,
        "every 100 items: the last before 2,550"
    );
    assert!(!checkpoint.done);
    assert_eq!(counter.pulled(), 2_551);

    FAIL_AT.store(u64::MAX, Ordering::SeqCst);
    let (total, count) = engine
        .rerun(sum_doubled, &run)
        .await
        .unwrap()
        .result()
        .await
        .unwrap();
    assert_eq!(
        count, 5_000,
        "the accumulators came back from the checkpoint"
    );
    assert_eq!(total, (0..5_000).map(|x| x * 2).sum::<u64>());
    assert_eq!(
        counter.opened(),
        [None, Some(2_499)],
        "reopened after the checkpoint's cursor"
    );
    assert_eq!(
        counter.pulled(),
        2_551 + 2_500,
        "items 2,500.. were read again, no more"
    );
    let journal = engine.journal(&run).await.unwrap();
    assert_eq!(journal.len(), 1);
    assert!(checkpoint_of(&journal, "stream").done);
}

#[tokio::test]
async fn a_parallel_stream_loop_runs_every_item_within_its_window_and_checkpoints_without_gaps() {
    // Room for every event of the run: none is lost to a slow reader.
    let engine = Engine::builder().event_capacity(1 << 16).build();
    let counter = counter_of("parallel");
    let mut events = engine.subscribe();
    let handle = engine
        .start(sum_parallel, ("parallel".to_owned(), 3_000))
        .await
        .unwrap();
    let run = handle.id().clone();
    assert_eq!(handle.result().await.unwrap(), 3_000);
    assert_eq!(counter.pulled(), 3_000);
    let journal = engine.journal(&run).await.unwrap();
    assert_eq!(journal.len(), 1);
    let checkpoint = checkpoint_of(&journal, "doubling");
    assert_eq!((checkpoint.items, checkpoint.done), (3_000, true));
    assert_eq!(checkpoint.cursor.unwrap().decode::<u64>().unwrap(), 2_999);
    // Unconstrained: tokio's budget would end the reading after 128 events.
    let checkpoints = tokio::task::unconstrained(async {
        let mut checkpoints = Vec::new();
        while let Some(event) = events.try_recv() {
            if let Event::StreamCheckpointed { items, .. } = event {
                checkpoints.push(items);
            }
        }
        checkpoints
    })
    .await;
    assert!(
        checkpoints.len() >= 30,
        "at least every 100 items: {checkpoints:?}"
    );
    assert!(
        checkpoints.windows(2).all(|pair| pair[0] <= pair[1]),
        "{checkpoints:?}"
    );
    assert_eq!(checkpoints.last(), Some(&3_000));
}

#[tokio::test]
async fn chunks_run_the_body_once_per_batch_and_break_and_continue_work() {
    let engine = Engine::new();
    let (chunks, sum) = batches::run(&engine, (1..=10).collect()).await.unwrap();
    assert_eq!((chunks, sum), (4, 55));
    assert_eq!(
        broken_off::run(&engine, 100).await.unwrap(),
        (0..10).step_by(2).map(|x| x * 2).sum::<u64>()
    );
}

#[tokio::test]
async fn the_diagram_draws_a_stream_loop_with_its_checkpoints() {
    assert!(
        sum_doubled::MERMAID.contains("stream for x in numbers(n, &amp;counter_of(&amp;name)) · checkpoint every 100 items / 10s")
            || sum_doubled::MERMAID.contains("stream for x in numbers"),
        "{}",
        sum_doubled::MERMAID
    );
    assert!(
        sum_parallel::MERMAID.contains("limit 8"),
        "{}",
        sum_parallel::MERMAID
    );
}

#[tokio::test]
async fn paged_and_file_sources_resume_after_their_cursor() {
    let api = |token: Option<u32>| async move {
        let first = token.unwrap_or(0);
        let items: Vec<u32> = (first..(first + 4).min(10)).collect();
        Ok::<_, std::io::Error>(Page {
            items,
            next: (first + 4 < 10).then_some(first + 4),
        })
    };
    let all: Vec<_> = stream::paged(api)
        .open(None)
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(all.len(), 10);
    let (cursor, item) = all[5].clone();
    assert_eq!(item, 5);
    let rest: Vec<u32> = stream::paged(api)
        .open(Some(cursor))
        .map(|item| item.unwrap().1)
        .collect()
        .await;
    assert_eq!(rest, [6, 7, 8, 9]);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lines.txt");
    std::fs::write(&path, "one\ntwo\r\nthree\n").unwrap();
    let lines: Vec<_> = stream::lines(&path)
        .open(None)
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(
        lines
            .iter()
            .map(|(_, line)| line.as_str())
            .collect::<Vec<_>>(),
        ["one", "two", "three"]
    );
    let rest: Vec<_> = stream::lines(&path)
        .open(Some(lines[0].0))
        .map(|line| line.unwrap().1)
        .collect()
        .await;
    assert_eq!(rest, ["two", "three"]);
    let missing = stream::lines(dir.path().join("nope"))
        .open(None)
        .next()
        .await
        .unwrap();
    assert!(missing.unwrap_err().to_string().contains("nope"));
}

/// A gate the body's step waits at, and how many steps are inside it.
static GATE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(0);
static INSIDE: AtomicUsize = AtomicUsize::new(0);
static MOST_INSIDE: AtomicUsize = AtomicUsize::new(0);
static GATED: AtomicBool = AtomicBool::new(false);

async fn slow_sink(x: u64) -> Result<u64, std::io::Error> {
    let inside = INSIDE.fetch_add(1, Ordering::SeqCst) + 1;
    MOST_INSIDE.fetch_max(inside, Ordering::SeqCst);
    if GATED.load(Ordering::SeqCst) {
        GATE.acquire().await.unwrap().forget();
    }
    INSIDE.fetch_sub(1, Ordering::SeqCst);
    Ok(x)
}

workflow! {
    workflow sink_one_by_one(name: String, n: u64) -> Result<u64, trailhead::Error> {
        let mut last: u64 = 0;
        stream for x in numbers(n, &counter_of(&name)) {
            last = step slow_sink(x);
        }
        Ok(last)
    }

    workflow sink_parallel(name: String, n: u64) -> Result<u64, trailhead::Error> {
        stream(limit = 4) for x in numbers(n, &counter_of(&name)) {
            step slow_sink(x);
        }
        Ok(n)
    }
}

/// Lets the runtime run until nothing moves.
async fn settle() {
    for _ in 0..200 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_stalled_sink_stops_the_source_within_the_loops_buffer() {
    GATED.store(true, Ordering::SeqCst);
    let engine = Engine::new();

    // One at a time: the source is one item ahead of the sink at most.
    let counter = counter_of("stall-1");
    let handle = engine
        .start(sink_one_by_one, ("stall-1".to_owned(), 1_000))
        .await
        .unwrap();
    settle().await;
    assert_eq!(
        counter.pulled(),
        1,
        "the first item waits in the sink; nothing more was read"
    );
    for released in 1..=10_u64 {
        GATE.add_permits(1);
        settle().await;
        assert_eq!(
            counter.pulled(),
            released + 1,
            "one more item per item the sink took"
        );
    }
    GATE.add_permits(10_000);
    assert_eq!(handle.result().await.unwrap(), 999);

    // Four at a time within a window of eight: never more than eight read
    // past the last item the sink finished, however long it stalls.
    GATE.forget_permits(GATE.available_permits());
    MOST_INSIDE.store(0, Ordering::SeqCst);
    let counter = counter_of("stall-4");
    let handle = engine
        .start(sink_parallel, ("stall-4".to_owned(), 1_000))
        .await
        .unwrap();
    settle().await;
    assert_eq!(
        counter.pulled(),
        4,
        "four in the sink, none waiting: the limit"
    );
    assert_eq!(INSIDE.load(Ordering::SeqCst), 4);
    GATE.add_permits(2);
    settle().await;
    assert_eq!(counter.pulled(), 6, "two places freed, two more read");
    GATE.add_permits(100_000);
    assert_eq!(handle.result().await.unwrap(), 1_000);
    assert_eq!(MOST_INSIDE.load(Ordering::SeqCst), 4);
    GATED.store(false, Ordering::SeqCst);
}

/// A finished run `id` of `batches` over `1..=7` (three chunks).
async fn batches_of_seven(id: &str) -> (Engine, RunId) {
    let engine = Engine::new();
    let run = RunId::new(id);
    engine
        .start_with_id(run.clone(), batches, (1..=7).collect())
        .await
        .unwrap()
        .result()
        .await
        .unwrap();
    (engine, run)
}

#[tokio::test]
async fn a_stream_workflow_replays_clean_from_its_history() {
    let (engine, run) = batches_of_seven("replayed-stream").await;
    let history = trailhead::replay::History::of_run(&**engine.store(), &run)
        .await
        .unwrap();
    trailhead::replay::replay(batches, &history).unwrap();
}

#[tokio::test]
async fn a_stream_run_has_a_picture_with_its_loop_done() {
    let (engine, run) = batches_of_seven("pictured-stream").await;
    let picture = engine.picture_of(&run).await.unwrap();
    let mermaid = engine.diagram_of(&run).await.unwrap();
    assert!(mermaid.contains("stream for batch"), "{mermaid}");
    assert!(
        mermaid.contains("×3: 3 done"),
        "the chunks the checkpoint counted: {mermaid}"
    );
    let loop_node = picture
        .nodes
        .iter()
        .find(|node| node.site.as_deref() == Some("stream"))
        .unwrap();
    assert_eq!(loop_node.counts.done, 3, "three chunks of 7 items");
    assert!(
        matches!(
            loop_node.state,
            trailhead::picture::NodeState::Completed { .. }
        ),
        "{:?}",
        loop_node.state
    );
}
