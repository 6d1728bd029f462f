//! `patterns::request`: requesters ask an entity, each gets its own answer;
//! a finished responder is a typed error.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use trailhead::patterns::entity::{Entity, entity};
use trailhead::patterns::request::{Mailbox, Request, RequestError, ask, respond};
use trailhead::{Engine, EngineError, Error, RunError, RunHandle, RunId, Workflow, workflow};

use crate::support::journal_keys;

/// The engines the mailboxes reach, by name (one per test).
static ENGINES: Mutex<Option<HashMap<String, Engine>>> = Mutex::new(None);

/// Signals runs of the engine registered under its name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Post {
    engine: String,
}

impl Post {
    fn register(name: &str, engine: &Engine) -> Self {
        ENGINES
            .lock()
            .unwrap()
            .get_or_insert_with(HashMap::new)
            .insert(name.to_owned(), engine.clone());
        Post {
            engine: name.to_owned(),
        }
    }
}

impl Mailbox for Post {
    /// The responders are entities: requests are their messages.
    const REQUESTS: &'static str = "message";

    async fn signal<T: Serialize + Send + Sync>(
        &self,
        run: &RunId,
        name: &str,
        value: T,
    ) -> Result<(), EngineError> {
        let engine = ENGINES
            .lock()
            .unwrap()
            .as_ref()
            .and_then(|engines| engines.get(&self.engine).cloned())
            .expect("registered by the test");
        engine.signal(run, name, value).await
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Cmd {
    Add(u64),
    Stop,
}

/// The responder: a counter entity that answers each request with what it
/// added and the total after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Counter {
    post: Post,
    total: u64,
}

impl Entity for Counter {
    type Message = Request<Cmd>;

    fn is_stop(message: &Request<Cmd>) -> bool {
        message.body == Cmd::Stop
    }

    async fn apply(&self, request: Request<Cmd>) -> Result<Counter, Error> {
        let Cmd::Add(n) = request.body else {
            return Err(Error::msg("a stop is not applied"));
        };
        let total = self.total + n;
        respond(&self.post, &request, (n, total))
            .await
            .map_err(Error::new)?;
        Ok(Counter {
            post: self.post.clone(),
            total,
        })
    }
}

workflow! {
    /// Takes a request and never answers it.
    workflow deaf() -> Result<(), Error> {
        let request: Request<Cmd> = signal "message";
        let never: u32 = signal "never";
        let _ = (request, never);
        Ok(())
    }
}

type Asking = ask<Post, Cmd, (u64, u64)>;

const WITHIN: Duration = Duration::from_secs(60);

async fn counter(engine: &Engine, post: &Post, id: &str) -> RunHandle<entity<Counter>> {
    let start = Counter {
        post: post.clone(),
        total: 0,
    };
    engine
        .start_with_id(RunId::new(id), entity::<Counter>::default(), (start, 0))
        .await
        .unwrap()
}

fn question(post: &Post, responder: &RunId, cmd: Cmd) -> (Post, String, Cmd, Duration) {
    (post.clone(), responder.to_string(), cmd, WITHIN)
}

#[tokio::test]
async fn two_requesters_asking_at_once_each_get_their_own_answer() {
    let engine = Engine::new();
    let post = Post::register("two", &engine);
    let responder = counter(&engine, &post, "counter-two").await.id().clone();
    let five = engine
        .start_with_id(
            RunId::new("asks-5"),
            Asking::default(),
            question(&post, &responder, Cmd::Add(5)),
        )
        .await
        .unwrap();
    let seven = engine
        .start_with_id(
            RunId::new("asks-7"),
            Asking::default(),
            question(&post, &responder, Cmd::Add(7)),
        )
        .await
        .unwrap();
    let (added_five, total_five) = five.result().await.unwrap();
    let (added_seven, total_seven) = seven.result().await.unwrap();
    assert_eq!((added_five, added_seven), (5, 7), "each its own answer");
    let mut totals = [total_five, total_seven];
    totals.sort_unstable();
    assert!(
        totals == [5, 12] || totals == [7, 12],
        "one after the other: {totals:?}"
    );
    for requester in ["asks-5", "asks-7"] {
        assert_eq!(
            journal_keys(&engine, &RunId::new(requester)).await,
            ["request", "response"]
        );
    }
    // The responder got both, with the requesters' ids to answer to.
    // A signal's journal entry is `{"received": value}`.
    #[derive(Deserialize)]
    struct Received {
        received: Request<Cmd>,
    }
    let mut received: Vec<Request<Cmd>> = Vec::new();
    for record in engine.journal(&responder).await.unwrap() {
        if record.key.name() == "message"
            && let trailhead::StepOutcome::Completed(value) = &record.outcome
        {
            received.push(value.decode::<Received>().unwrap().received);
        }
    }
    let mut reply_to: Vec<(String, String)> = received
        .into_iter()
        .map(|request| (request.reply_to, request.id))
        .collect();
    reply_to.sort();
    assert_eq!(
        reply_to,
        [
            ("asks-5".to_owned(), "asks-5/request".to_owned()),
            ("asks-7".to_owned(), "asks-7/request".to_owned())
        ]
    );
}

#[tokio::test]
async fn a_request_to_a_finished_run_is_a_typed_error() {
    let engine = Engine::new();
    let post = Post::register("finished", &engine);
    let handle = counter(&engine, &post, "counter-finished").await;
    let responder = handle.id().clone();
    let stop = Request {
        id: "test/stop".to_owned(),
        reply_to: "nobody".to_owned(),
        body: Cmd::Stop,
    };
    entity::<Counter>::signal_message(&engine, &responder, stop)
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap().total, 0);
    let result = Asking::run(&engine, post, responder.to_string(), Cmd::Add(1), WITHIN).await;
    let Err(RunError::Failed { error, .. }) = result else {
        panic!("the counter has stopped: {result:?}");
    };
    assert!(
        matches!(&error, RequestError::ResponderGone { responder } if responder == "counter-finished"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "run `counter-finished` cannot answer: it has finished or does not exist"
    );
}

#[tokio::test(start_paused = true)]
async fn no_answer_in_time_is_a_typed_error() {
    let engine = Engine::new();
    let post = Post::register("silent", &engine);
    let responder = engine.start(deaf, ()).await.unwrap().id().clone();
    let result = Asking::run(&engine, post, responder.to_string(), Cmd::Add(1), WITHIN).await;
    let Err(RunError::Failed { error, .. }) = result else {
        panic!("nobody answers: {result:?}");
    };
    assert!(
        matches!(&error, RequestError::NoResponse { within, .. } if *within == WITHIN),
        "{error:?}"
    );
}

workflow! {
    /// Takes one request, and answers it (with 42) once told to; gives
    /// whether a second request came (it would be a request sent twice).
    workflow slow(post: Post) -> Result<bool, Error> {
        let request: Request<Cmd> = signal "message";
        let go: bool = signal "go";
        step respond(&post, &request, (u64::from(go), 42_u64));
        let again: Option<Request<Cmd>> = signal "message".timeout(Duration::from_millis(300));
        Ok(again.is_some())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requester_stopped_while_waiting_resumes_without_asking_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let (asker, slow_run) = (RunId::new("asks-durable"), RunId::new("slow"));
    {
        let engine = Engine::open(&path).unwrap();
        let post = Post::register("durable", &engine);
        engine
            .start_with_id(slow_run.clone(), slow, post.clone())
            .await
            .unwrap();
        let question = question(&post, &slow_run, Cmd::Add(1));
        engine
            .start_with_id(asker.clone(), Asking::default(), question)
            .await
            .unwrap();
        // Until the responder has journaled the request: the requester sent
        // it, and waits for the answer.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while journal_keys(&engine, &slow_run).await != ["message"] {
            assert!(std::time::Instant::now() < deadline, "never received");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(journal_keys(&engine, &asker).await, ["request"]);
        engine.shutdown(Duration::ZERO).await;
    }
    let engine = Engine::open(&path).unwrap();
    Post::register("durable", &engine);
    let asking = engine.resume(Asking::default()).await.unwrap();
    let answering = engine.resume(slow).await.unwrap();
    assert_eq!((asking.len(), answering.len()), (1, 1));
    engine.signal(&slow_run, "go", true).await.unwrap();
    let answer = asking.into_iter().next().unwrap().result().await.unwrap();
    assert_eq!(answer, (1, 42));
    assert_eq!(journal_keys(&engine, &asker).await, ["request", "response"]);
    for handle in answering {
        assert!(!handle.result().await.unwrap(), "the request was sent once");
    }
    assert_eq!(
        journal_keys(&engine, &slow_run).await,
        ["message", "go", "respond", "message#2"]
    );
}

#[test]
fn the_chart_shows_the_request_and_the_wait_for_the_response() {
    let chart = <Asking as Workflow>::mermaid();
    super::chapter::assert_charted("ask", <Asking as Workflow>::MERMAID);
    assert!(chart.contains("request"), "{chart}");
    assert!(chart.contains("response"), "{chart}");
}
