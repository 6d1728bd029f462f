//! `patterns::entity`: messages over generations, none lost or applied
//! twice, a journal that stays bounded, and a stop and resume on SQLite.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use trailhead::patterns::entity::{Entity, entity};
use trailhead::{Engine, Error, Event, RunId, Workflow};

use crate::support::{journal_keys, until};

/// Every message applied, with the tally's name.
static APPLIED: Mutex<Vec<(String, u32)>> = Mutex::new(Vec::new());

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Msg {
    Add(u32),
    Stop,
}

/// Keeps the numbers it was sent, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Tally {
    name: String,
    numbers: Vec<u32>,
}

impl Entity for Tally {
    type Message = Msg;
    const HISTORY: u64 = 10;

    fn is_stop(message: &Msg) -> bool {
        *message == Msg::Stop
    }

    async fn apply(&self, message: Msg) -> Result<Tally, Error> {
        let Msg::Add(number) = message else {
            return Err(Error::msg("a stop is not applied"));
        };
        APPLIED.lock().unwrap().push((self.name.clone(), number));
        let mut numbers = self.numbers.clone();
        numbers.push(number);
        Ok(Tally {
            name: self.name.clone(),
            numbers,
        })
    }
}

type Tallies = entity<Tally>;

fn tally(name: &str) -> Tally {
    Tally {
        name: name.to_owned(),
        numbers: Vec::new(),
    }
}

/// The numbers applied for tally `name`, in order.
fn applied(name: &str) -> Vec<u32> {
    APPLIED
        .lock()
        .unwrap()
        .iter()
        .filter(|(tally, _)| tally == name)
        .map(|(_, number)| *number)
        .collect()
}

async fn send(engine: &Engine, run: &RunId, numbers: impl IntoIterator<Item = u32>) {
    for number in numbers {
        Tallies::signal_message(engine, run, Msg::Add(number))
            .await
            .unwrap();
    }
}

/// The journal of the third generation after messages 21 to 25 and the stop.
const LAST_GENERATION: [&str; 12] = [
    "~generation",
    "message[0]",
    "apply[0]",
    "message[1]",
    "apply[1]",
    "message[2]",
    "apply[2]",
    "message[3]",
    "apply[3]",
    "message[4]",
    "apply[4]",
    "message[5]",
];

#[tokio::test]
async fn twenty_five_messages_over_three_generations_each_applied_once() {
    let engine = Engine::new();
    let run = RunId::new("tally-25");
    let handle = engine
        .start_with_id(run.clone(), Tallies::default(), (tally("25"), 0))
        .await
        .unwrap();
    // All at once: most arrive while the run is in another generation.
    send(&engine, &run, 1..=25).await;
    Tallies::signal_message(&engine, &run, Msg::Stop)
        .await
        .unwrap();
    let last = handle.result().await.unwrap();
    let all: Vec<u32> = (1..=25).collect();
    assert_eq!(last.numbers, all);
    assert_eq!(applied("25"), all, "each once, in the order sent");
    assert_eq!(journal_keys(&engine, &run).await, LAST_GENERATION);
    let record = engine.store().run(&run).await.unwrap().unwrap();
    let (input, handled): (Tally, u64) = record.input.decode().unwrap();
    assert_eq!(handled, 20, "the last generation began after 20 messages");
    assert_eq!(input.numbers, (1..=20).collect::<Vec<_>>());
}

#[tokio::test]
async fn messages_sent_while_it_continues_as_new_are_received_by_the_next_generation() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let run = RunId::new("tally-between");
    let handle = engine
        .start_with_id(run.clone(), Tallies::default(), (tally("between"), 0))
        .await
        .unwrap();
    send(&engine, &run, 1..=10).await;
    // Sent as the first generation ends, before the second waits.
    until(&mut events, |event| {
        matches!(event, Event::RunContinuedAsNew { generation: 1, .. })
    })
    .await;
    send(&engine, &run, 11..=12).await;
    Tallies::signal_message(&engine, &run, Msg::Stop)
        .await
        .unwrap();
    assert_eq!(
        handle.result().await.unwrap().numbers,
        (1..=12).collect::<Vec<_>>()
    );
    assert_eq!(applied("between"), (1..=12).collect::<Vec<_>>());
}

#[test]
fn the_chart_shows_the_message_and_the_step_that_applies_it() {
    let chart = <Tallies as Workflow>::mermaid();
    super::chapter::assert_charted("entity", <Tallies as Workflow>::MERMAID);
    assert!(chart.contains("message"), "{chart}");
    assert!(chart.contains("apply"), "{chart}");
    assert_eq!(
        <Tallies as Workflow>::name(),
        "entity<behaviour::patterns::entity::Tally>"
    );
    let signals: Vec<&str> = <Tallies as Workflow>::SIGNALS
        .iter()
        .map(|signal| signal.name())
        .collect();
    assert_eq!(signals, ["message"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_entity_resumes_in_its_generation_and_applies_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let run = RunId::new("tally-durable");
    {
        let engine = Engine::open(&path).unwrap();
        engine
            .start_with_id(run.clone(), Tallies::default(), (tally("durable"), 0))
            .await
            .unwrap();
        send(&engine, &run, 1..=13).await;
        // Until the second generation applied its third message.
        loop {
            let keys = journal_keys(&engine, &run).await;
            if keys.first().map(String::as_str) == Some("~generation") && keys.len() == 1 + 3 * 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        engine.shutdown(Duration::ZERO).await;
    }
    assert_eq!(applied("durable"), (1..=13).collect::<Vec<_>>());
    let engine = Engine::open(&path).unwrap();
    let handle = engine
        .resume(Tallies::default())
        .await
        .unwrap()
        .into_iter()
        .next()
        .expect("the entity");
    send(&engine, &run, 14..=25).await;
    Tallies::signal_message(&engine, &run, Msg::Stop)
        .await
        .unwrap();
    let all: Vec<u32> = (1..=25).collect();
    assert_eq!(handle.result().await.unwrap().numbers, all);
    assert_eq!(applied("durable"), all, "none applied twice");
    assert_eq!(journal_keys(&engine, &run).await, LAST_GENERATION);
}

/// A counter whose generations were set to hold no message at all.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Eager {
    total: u32,
}

impl Entity for Eager {
    type Message = Msg;
    const HISTORY: u64 = 0;

    fn is_stop(message: &Msg) -> bool {
        *message == Msg::Stop
    }

    async fn apply(&self, message: Msg) -> Result<Eager, Error> {
        let Msg::Add(number) = message else {
            return Err(Error::msg("a stop is not applied"));
        };
        Ok(Eager {
            total: self.total + number,
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_history_of_zero_still_takes_one_message_per_generation() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let run = RunId::new("eager");
    let handle = engine
        .start_with_id(
            run.clone(),
            entity::<Eager>::default(),
            (Eager { total: 0 }, 0),
        )
        .await
        .unwrap();
    // Not a generation after another without a message: the run waits.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut generations = 0;
    while let Some(event) = events.try_recv() {
        generations += u32::from(matches!(event, Event::RunContinuedAsNew { .. }));
    }
    assert_eq!(generations, 0, "no generation went by without a message");
    for number in [3, 4] {
        entity::<Eager>::signal_message(&engine, &run, Msg::Add(number))
            .await
            .unwrap();
    }
    entity::<Eager>::signal_message(&engine, &run, Msg::Stop)
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap().total, 7);
    let record = engine.store().run(&run).await.unwrap().unwrap();
    let (_, handled): (Eager, u64) = record.input.decode().unwrap();
    assert_eq!(handled, 2, "one generation per message");
}
