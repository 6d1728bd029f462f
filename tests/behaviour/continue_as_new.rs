//! `continue_as_new(input)`: a long-lived run goes on as its next
//! generation, same id, new input, a journal that stays bounded.

use trailhead::store::{Generation, StepOutcome, StepRecord};
use trailhead::{Engine, Event, RunId, SqliteStore, workflow};

async fn add(total: u64, n: u64) -> Result<u64, std::io::Error> {
    Ok(total + n)
}

async fn child_double(x: u64) -> Result<u64, std::io::Error> {
    Ok(x * 2)
}

workflow! {
    /// Sums `n + (n-1) + … + 1`, one generation per number.
    workflow countdown(n: u64, total: u64) -> Result<u64, trailhead::Error> {
        let total = step add(total, n);
        if n <= 1 {
            return Ok(total);
        }
        continue_as_new(n - 1, total)
    }

    /// An entity: adds the numbers sent to it, three per generation, until
    /// it has seen `until` of them.
    workflow tally(seen: u32, until: u32, total: u64) -> Result<u64, trailhead::Error> {
        let mut seen = seen;
        let mut total = total;
        for _ in 0..3 {
            let number: u64 = signal "number";
            total += number;
            seen += 1;
            if seen == until {
                return Ok(total);
            }
        }
        continue_as_new(seen, until, total)
    }

    workflow doubler(x: u64) -> Result<u64, trailhead::Error> {
        Ok(step child_double(x))
    }

    /// Calls a child at the same key in every generation.
    workflow calls_per_generation(left: u32, total: u64) -> Result<u64, trailhead::Error> {
        let doubled = call doubler(u64::from(left));
        let total = total + doubled;
        if left == 0 {
            return Ok(total);
        }
        continue_as_new(left - 1, total)
    }
}

fn generation(journal: &[StepRecord]) -> Option<u64> {
    let entry = journal.iter().find(|entry| entry.key.is_generation())?;
    match &entry.outcome {
        StepOutcome::Completed(value) => Some(value.decode::<Generation>().unwrap().generation),
        other => panic!("the generation entry is {other:?}"),
    }
}

#[tokio::test]
async fn ten_thousand_generations_keep_one_id_and_a_journal_of_two_entries() {
    let engine = Engine::builder().event_capacity(1 << 16).build();
    let mut events = engine.subscribe();
    let run = RunId::new("countdown");
    let handle = engine
        .start_with_id(run.clone(), countdown, (10_000, 0))
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), 10_000 * 10_001 / 2);
    let journal = engine.journal(&run).await.unwrap();
    let keys: Vec<String> = journal.iter().map(|entry| entry.key.to_string()).collect();
    assert_eq!(
        keys,
        ["~generation", "add"],
        "the last generation's entries only"
    );
    assert_eq!(generation(&journal), Some(9_999));
    let record = engine.store().run(&run).await.unwrap().unwrap();
    assert_eq!(
        record.input.decode::<(u64, u64)>().unwrap().0,
        1,
        "the last generation's input"
    );
    let continued = tokio::task::unconstrained(async {
        let mut continued = Vec::new();
        while let Some(event) = events.try_recv() {
            if let Event::RunContinuedAsNew { generation, .. } = event {
                continued.push(generation);
            }
        }
        continued
    })
    .await;
    assert_eq!(continued.len(), 9_999);
    assert_eq!(continued.last(), Some(&9_999));
    // The last generation's history replays clean under the code.
    let history = trailhead::replay::History::of_run(&**engine.store(), &run)
        .await
        .unwrap();
    trailhead::replay::replay(countdown, &history).unwrap();
}

#[tokio::test]
async fn an_entity_misses_no_signal_sent_across_its_generations() {
    let engine = Engine::new();
    let run = RunId::new("tally");
    let handle = engine
        .start_with_id(run.clone(), tally, (0, 10, 0))
        .await
        .unwrap();
    // All sent at once: most wait while generations come and go.
    for number in 1..=10_u64 {
        tally::signal_number(&engine, &run, number).await.unwrap();
    }
    assert_eq!(handle.result().await.unwrap(), 55);
    let journal = engine.journal(&run).await.unwrap();
    assert_eq!(
        generation(&journal),
        Some(3),
        "ten numbers, three per generation"
    );
}

#[tokio::test]
async fn a_call_in_every_generation_starts_a_child_of_its_own() {
    let engine = Engine::new();
    let run = RunId::new("calls");
    let total = engine
        .start_with_id(run.clone(), calls_per_generation, (4, 0))
        .await
        .unwrap()
        .result()
        .await
        .unwrap();
    assert_eq!(total, 2 * (4 + 3 + 2 + 1));
    let children: Vec<String> = engine
        .store()
        .children(&run)
        .await
        .unwrap()
        .into_iter()
        .map(|child| child.id.to_string())
        .collect();
    assert_eq!(
        children,
        [
            "calls/doubler",
            "calls~1/doubler",
            "calls~2/doubler",
            "calls~3/doubler",
            "calls~4/doubler"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_run_resumed_mid_way_goes_on_from_its_last_generation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let run = RunId::new("tally-durable");
    {
        let engine = Engine::builder()
            .store(SqliteStore::open(&path).unwrap())
            .build();
        engine
            .start_with_id(run.clone(), tally, (0, 9, 0))
            .await
            .unwrap();
        for number in 1..=4_u64 {
            tally::signal_number(&engine, &run, number).await.unwrap();
        }
        // Wait until the second generation took its first number.
        loop {
            let journal = engine.journal(&run).await.unwrap();
            if generation(&journal) == Some(1) && journal.len() == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        engine.shutdown(std::time::Duration::ZERO).await;
    }
    let engine = Engine::builder()
        .store(SqliteStore::open(&path).unwrap())
        .build();
    let journal = engine.journal(&run).await.unwrap();
    assert!(
        journal.len() <= 4,
        "a generation's entries at most: {journal:?}"
    );
    let resumed = engine.resume(tally).await.unwrap();
    assert_eq!(resumed.len(), 1);
    for number in 5..=9_u64 {
        tally::signal_number(&engine, &run, number).await.unwrap();
    }
    let handle = resumed.into_iter().next().unwrap();
    assert_eq!(handle.result().await.unwrap(), 45);
    assert_eq!(generation(&engine.journal(&run).await.unwrap()), Some(2));
}
