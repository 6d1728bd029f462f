//! A run's picture: the workflow's graph with each node's state from the
//! journal of a real run and the live engine, as data and as Mermaid with
//! status classes (compared against snapshots in `tests/snapshots/picture_*`;
//! refresh with `UPDATE_SNAPSHOTS=1 cargo test --test behaviour picture` and
//! read the diff before committing).

use crate::support;

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::Semaphore;
use trailhead::picture::{self, NodeKind, NodeState, PictureError, RunPicture};
use trailhead::{Engine, EngineError, Error, Event, RunId, SqliteStore, StoreError, workflow};

async fn prepare(n: u32) -> Result<u32, Error> {
    Ok(n)
}
async fn small(n: u32) -> Result<u32, Error> {
    Ok(n)
}
async fn big(n: u32) -> Result<u32, Error> {
    Ok(n * 2)
}
async fn seat(i: u32) -> Result<u32, Error> {
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(i)
}
async fn live_price(n: u32) -> Result<u32, Error> {
    Err(Error::msg(format!("no price for {n}")))
}
async fn leg(n: u32) -> Result<u32, Error> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    Ok(n + 1)
}

workflow! {
    /// A tour: a step, a branch (its `yes` arm skipped for small tours), a
    /// loop, a step that falls back, and a call.
    pub workflow tour(n: u32) -> Result<u32, Error> {
        let base = step prepare(n);
        let sized = if n > 100 {
            step big(n)
        } else {
            step small(n)
        };
        let mut seats = 0;
        for i in 0..n {
            seats += step seat(i);
        }
        let price = step live_price(n).fallback(7);
        let child = call tour_leg(n);
        Ok(base + sized + seats + price + child)
    }

    pub workflow tour_leg(n: u32) -> Result<u32, Error> {
        let x = step leg(n);
        Ok(x)
    }
}

/// The picture's node `id`.
fn node<'a>(picture: &'a RunPicture, id: &str) -> &'a picture::NodePicture {
    picture
        .node(id)
        .unwrap_or_else(|| panic!("no node `{id}` in {picture:#?}"))
}

/// The picture's node standing for step key name `site`.
fn site<'a>(picture: &'a RunPicture, name: &str) -> &'a picture::NodePicture {
    picture
        .site(name)
        .unwrap_or_else(|| panic!("no node for `{name}` in {picture:#?}"))
}

fn check_snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("picture_{name}.mmd"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot at {}: run with UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    assert_eq!(
        actual,
        expected,
        "picture `{name}` changed; see {}",
        path.display()
    );
}

#[tokio::test(start_paused = true)]
async fn a_finished_run_shows_each_node_its_loop_counts_the_skipped_arm_the_fallback_and_the_child()
{
    let engine = Engine::new();
    let handle = engine
        .start_with_id(RunId::new("tour-1"), tour, 3)
        .await
        .unwrap();
    let run = handle.id().clone();
    // 3 + 3 + (0+1+2) + 7 + 4
    assert_eq!(handle.result().await.unwrap(), 20);

    let picture = engine.picture::<tour>(&run).await.unwrap();
    assert_eq!(picture.workflow, "tour");
    assert_eq!(node(&picture, "start").state.name(), "completed");
    assert!(matches!(
        node(&picture, "finish").state,
        NodeState::Completed { .. }
    ));
    assert!(matches!(
        site(&picture, "prepare").state,
        NodeState::Completed { duration_ms: 0 }
    ));
    // The branch: `small` ran, so `big`'s arm is skipped.
    let branch = picture
        .nodes
        .iter()
        .find(|n| n.kind == NodeKind::Branch)
        .unwrap();
    assert_eq!(branch.state.name(), "completed");
    assert_eq!(site(&picture, "small").state.name(), "completed");
    assert_eq!(site(&picture, "big").state, NodeState::Skipped);
    // The loop: three iterations, each seat 10 ms, one after another.
    let seats = site(&picture, "seat");
    assert_eq!(seats.counts.total, 3);
    assert_eq!(seats.counts.done, 3);
    assert_eq!(seats.state, NodeState::Completed { duration_ms: 30 });
    assert_eq!(
        seats
            .steps
            .iter()
            .map(|s| s.key.as_str())
            .collect::<Vec<_>>(),
        ["seat[0]", "seat[1]", "seat[2]"]
    );
    let looped = picture
        .nodes
        .iter()
        .find(|n| n.kind == NodeKind::Loop)
        .unwrap();
    assert_eq!((looped.counts.total, looped.counts.done), (3, 3));
    // The fallback: the step fell back, its fallback value node was taken.
    assert_eq!(site(&picture, "live_price").state, NodeState::FellBack);
    let fallback = picture
        .nodes
        .iter()
        .find(|n| n.kind == NodeKind::Fallback)
        .unwrap();
    assert_eq!(fallback.state.name(), "completed");
    // The call: linked to its child run, whose own picture is complete.
    let call = site(&picture, "tour_leg");
    assert_eq!(call.kind, NodeKind::Call);
    assert_eq!(
        call.children,
        [run.child(&trailhead::StepKey::new("tour_leg", &[]))]
    );
    let child = engine.picture::<tour_leg>(&call.children[0]).await.unwrap();
    assert!(matches!(
        site(&child, "leg").state,
        NodeState::Completed { duration_ms: 5 }
    ));
    assert!(picture.unplaced.is_empty());

    // The same picture from the store alone, without the type, and as JSON.
    let record = engine.run_record(&run).await.unwrap().unwrap();
    let journal = engine.journal(&run).await.unwrap();
    let stored = picture::from_records(&record, &journal).unwrap();
    assert_eq!(stored.nodes, picture.nodes);
    assert_eq!(engine.picture_of(&run).await.unwrap().nodes, picture.nodes);
    let json = serde_json::to_value(&picture).unwrap();
    assert_eq!(json["nodes"][1]["state"]["state"], "completed");
    assert_eq!(json["status"], "Completed");

    let diagram = engine.diagram::<tour>(&run).await.unwrap();
    assert_eq!(diagram, engine.diagram_of(&run).await.unwrap());
    assert!(diagram.starts_with(tour::MERMAID.lines().next().unwrap()));
    check_snapshot("tour_completed", &diagram);
}

static SEATS: Semaphore = Semaphore::const_new(0);

async fn assign_seat(i: u32) -> Result<u32, Error> {
    if i >= 32 {
        SEATS.acquire().await.unwrap().forget();
    }
    Ok(i)
}

workflow! {
    /// Forty seats at once; the last eight wait until let through.
    pub workflow board(n: u32) -> Result<u32, Error> {
        let seats = parallel(limit = 40) for i in 0..n {
            step assign_seat(i)
        };
        Ok(seats.iter().sum())
    }
}

#[tokio::test(start_paused = true)]
async fn a_fan_out_counts_its_items_while_it_runs() {
    let engine = Engine::builder().live_pictures(true).build();
    let mut events = engine.subscribe();
    let handle = engine
        .start_with_id(RunId::new("board-1"), board, 40)
        .await
        .unwrap();
    let run = handle.id().clone();
    let mut completed = 0;
    let mut started = 0;
    while completed < 32 || started < 40 {
        match events.recv().await.unwrap() {
            Event::StepCompleted { .. } => completed += 1,
            Event::StepStarted { .. } => started += 1,
            _ => {}
        }
    }
    let picture = engine.picture::<board>(&run).await.unwrap();
    let seats = site(&picture, "assign_seat");
    assert_eq!(
        (
            seats.counts.total,
            seats.counts.done,
            seats.counts.running,
            seats.counts.failed
        ),
        (40, 32, 8, 0)
    );
    assert_eq!(seats.state, NodeState::Running { attempt: 1 });
    let fan_out = picture
        .nodes
        .iter()
        .find(|n| n.kind == NodeKind::FanOut)
        .unwrap();
    assert_eq!((fan_out.counts.total, fan_out.counts.running), (40, 8));
    assert_eq!(node(&picture, "finish").state, NodeState::NotReached);
    let diagram = picture.to_mermaid();
    assert!(
        diagram.contains("×40: 32 done, 8 running, 0 failed"),
        "{diagram}"
    );
    check_snapshot("board_running", &diagram);

    SEATS.add_permits(8);
    assert_eq!(handle.result().await.unwrap(), (0..40).sum::<u32>());
    let picture = engine.picture::<board>(&run).await.unwrap();
    let seats = site(&picture, "assign_seat");
    assert_eq!((seats.counts.done, seats.counts.running), (40, 0));
}

static FLAKY: Semaphore = Semaphore::const_new(0);
static FLAKY_TRIES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

async fn flaky(n: u32) -> Result<u32, Error> {
    let attempt = FLAKY_TRIES.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
    if attempt == 1 {
        return Err(Error::msg("the line is busy"));
    }
    FLAKY.acquire().await.unwrap().forget();
    if n == 0 {
        return Err(Error::msg("no such thing"));
    }
    Ok(n)
}

workflow! {
    /// A step retried once after 1 s, then a step that may fail.
    pub workflow dial(n: u32) -> Result<u32, Error> {
        let answer = step flaky(n).retry(3, backoff = 1s);
        Ok(answer)
    }
}

#[tokio::test(start_paused = true)]
async fn a_retried_step_shows_retrying_then_its_running_attempt_then_its_failure() {
    let engine = Engine::builder().live_pictures(true).build();
    let mut events = engine.subscribe();
    let handle = engine
        .start_with_id(RunId::new("dial-1"), dial, 0)
        .await
        .unwrap();
    let run = handle.id().clone();
    support::until(&mut events, |e| matches!(e, Event::StepRetrying { .. })).await;
    let picture = engine.picture::<dial>(&run).await.unwrap();
    assert_eq!(
        site(&picture, "flaky").state,
        NodeState::Retrying {
            attempt: 1,
            error: "the line is busy".to_owned(),
            delay_ms: 1000,
        }
    );
    check_snapshot("dial_retrying", &picture.to_mermaid());

    support::until(&mut events, |e| {
        matches!(e, Event::StepStarted { attempt: 2, .. })
    })
    .await;
    let picture = engine.picture::<dial>(&run).await.unwrap();
    assert_eq!(
        site(&picture, "flaky").state,
        NodeState::Running { attempt: 2 }
    );
    let diagram = picture.to_mermaid();
    assert!(diagram.contains("running (attempt 2)"), "{diagram}");

    // Let every remaining attempt through: each fails, the last for good.
    FLAKY.add_permits(10);
    handle.result().await.unwrap_err();
    let picture = engine.picture::<dial>(&run).await.unwrap();
    assert_eq!(
        site(&picture, "flaky").state,
        NodeState::Failed {
            error: "no such thing".to_owned()
        }
    );
    let tries = FLAKY_TRIES.load(std::sync::atomic::Ordering::SeqCst);
    assert!(tries > 2, "{tries}");
    assert_eq!(site(&picture, "flaky").steps[0].attempts, tries);
    assert!(matches!(
        node(&picture, "finish").state,
        NodeState::Failed { .. }
    ));
    assert!(picture.error.as_deref().unwrap().contains("no such thing"));
    check_snapshot("dial_failed", &picture.to_mermaid());
}

async fn reserve(n: u32) -> Result<u32, Error> {
    Ok(n)
}
async fn release(n: u32) -> Result<(), Error> {
    let _ = n;
    Ok(())
}
async fn pay(n: u32) -> Result<u32, Error> {
    Err(Error::msg(format!("card declined for {n}")))
}

workflow! {
    /// A reservation undone when the payment fails.
    pub workflow reserve_and_pay(n: u32) -> Result<u32, Error> {
        let held = step reserve(n).compensate(release);
        let paid = step pay(held);
        Ok(paid)
    }
}

#[tokio::test(start_paused = true)]
async fn a_rolled_back_run_shows_its_compensated_step_and_the_compensation() {
    let engine = Engine::new();
    let handle = engine
        .start_with_id(RunId::new("reserve-1"), reserve_and_pay, 4)
        .await
        .unwrap();
    let run = handle.id().clone();
    handle.result().await.unwrap_err();
    let picture = engine.picture::<reserve_and_pay>(&run).await.unwrap();
    assert_eq!(site(&picture, "reserve").state, NodeState::Compensated);
    let undo = picture
        .nodes
        .iter()
        .find(|n| n.kind == NodeKind::Compensation)
        .unwrap();
    assert_eq!(undo.state.name(), "completed");
    assert_eq!(undo.steps[0].key, "undo:reserve");
    assert_eq!(
        site(&picture, "pay").state,
        NodeState::Failed {
            error: "card declined for 4".to_owned()
        }
    );
    check_snapshot("reserve_and_pay_compensated", &picture.to_mermaid());
}

static UNHOLD: Semaphore = Semaphore::const_new(0);
static UNHOLD_TRIES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Fails its first attempt, then waits to be let through; fails for good on 0.
async fn unhold(n: u32) -> Result<(), Error> {
    let attempt = UNHOLD_TRIES.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
    if attempt == 1 {
        return Err(Error::msg("the desk is busy"));
    }
    UNHOLD.acquire().await.unwrap().forget();
    if n == 0 {
        return Err(Error::msg("the desk is closed"));
    }
    Ok(())
}

workflow! {
    /// Two holds undone, the first after a retry, when the payment fails.
    pub workflow hold_and_pay(n: u32) -> Result<u32, Error> {
        let a = step reserve(n).name("hold_a").compensate(unhold, retry(3, backoff = 1s));
        let b = step reserve(a).name("hold_b").compensate(unhold, retry(3, backoff = 1s));
        let paid = step pay(b);
        Ok(paid)
    }
}

#[tokio::test(start_paused = true)]
async fn a_compensation_shows_retrying_and_running_while_the_rollback_runs_it() {
    let engine = Engine::builder().live_pictures(true).build();
    let mut events = engine.subscribe();
    let handle = engine
        .start_with_id(RunId::new("hold-1"), hold_and_pay, 0)
        .await
        .unwrap();
    let run = handle.id().clone();
    let undo_of = |picture: &RunPicture, key: &str| {
        picture
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Compensation)
            .flat_map(|n| n.steps.iter())
            .find(|s| s.key == key)
            .map(|s| s.state.clone())
    };
    // The last hold is undone first: its first attempt fails.
    support::until(&mut events, |e| {
        matches!(e, Event::CompensationRetrying { .. })
    })
    .await;
    let picture = engine.picture::<hold_and_pay>(&run).await.unwrap();
    assert_eq!(
        undo_of(&picture, "undo:hold_b"),
        Some(NodeState::Retrying {
            attempt: 1,
            error: "the desk is busy".to_owned(),
            delay_ms: 1000,
        })
    );
    assert_eq!(undo_of(&picture, "undo:hold_a"), None, "not begun yet");
    assert_eq!(site(&picture, "hold_b").state.name(), "completed");
    assert_eq!(picture.status, trailhead::store::RunStatus::Compensating);

    // Its second attempt waits to be let through: running.
    support::until(&mut events, |e| {
        matches!(e, Event::CompensationStarted { attempt: 2, .. })
    })
    .await;
    let picture = engine.picture::<hold_and_pay>(&run).await.unwrap();
    assert_eq!(
        undo_of(&picture, "undo:hold_b"),
        Some(NodeState::Running { attempt: 2 })
    );
    let diagram = picture.to_mermaid();
    assert!(diagram.contains("running (attempt 2)"), "{diagram}");

    // Every remaining attempt fails (n = 0): the first compensation fails
    // for good, once, and the rollback stops there.
    UNHOLD.add_permits(10);
    handle.result().await.unwrap_err();
    let picture = engine.picture::<hold_and_pay>(&run).await.unwrap();
    assert_eq!(
        undo_of(&picture, "undo:hold_b"),
        Some(NodeState::Failed {
            error: "the desk is closed".to_owned()
        })
    );
    let undone: Vec<_> = picture
        .nodes
        .iter()
        .flat_map(|n| n.steps.iter())
        .filter(|s| s.key.starts_with("undo:"))
        .map(|s| s.key.as_str())
        .collect();
    assert_eq!(
        undone,
        ["undo:hold_b"],
        "one entry for the failed compensation"
    );
    assert_eq!(
        site(&picture, "hold_b").state.name(),
        "completed",
        "its compensation failed: it was not undone"
    );
    assert!(
        picture
            .error
            .as_deref()
            .unwrap()
            .contains("the desk is closed")
    );
}

static OPEN: Semaphore = Semaphore::const_new(0);
static LAST: Semaphore = Semaphore::const_new(0);

async fn first(n: u32) -> Result<u32, Error> {
    Ok(n)
}
async fn wait_open(n: u32) -> Result<u32, Error> {
    OPEN.acquire().await.unwrap().forget();
    Ok(n)
}
async fn last(n: u32) -> Result<u32, Error> {
    LAST.acquire().await.unwrap().forget();
    Ok(n)
}

workflow! {
    /// Three steps, the last two waiting to be let through.
    pub workflow resumable(n: u32) -> Result<u32, Error> {
        let a = step first(n);
        let b = step wait_open(a);
        let c = step last(b);
        Ok(c)
    }
}

#[test]
fn a_resumed_run_shows_its_replayed_steps_and_an_old_process_store_has_its_graph() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let run = RunId::new("resumable-1");
    // First process: stops while `wait_open` runs.
    {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let engine = Engine::builder()
                .store(SqliteStore::open(&path).unwrap())
                .live_pictures(true)
                .build();
            let mut events = engine.subscribe();
            let _handle = engine
                .start_with_id(run.clone(), resumable, 5)
                .await
                .unwrap();
            support::step_started(&mut events, "wait_open").await;
            let picture = engine.picture::<resumable>(&run).await.unwrap();
            assert_eq!(
                site(&picture, "wait_open").state,
                NodeState::Running { attempt: 1 }
            );
        });
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // The store alone: the graph is in the run's record; nothing live.
        let engine = Engine::builder()
            .store(SqliteStore::open(&path).unwrap())
            .live_pictures(true)
            .build();
        let stored = engine.picture_of(&run).await.unwrap();
        assert_eq!(site(&stored, "first").state.name(), "completed");
        assert_eq!(site(&stored, "wait_open").state, NodeState::NotReached);

        let mut events = engine.subscribe();
        OPEN.add_permits(1);
        let handles = engine.resume(resumable).await.unwrap();
        assert_eq!(handles.len(), 1);
        support::step_started(&mut events, "last").await;
        let picture = engine.picture::<resumable>(&run).await.unwrap();
        assert_eq!(site(&picture, "first").state, NodeState::Replayed);
        assert_eq!(site(&picture, "wait_open").state.name(), "completed");
        assert_eq!(
            site(&picture, "last").state,
            NodeState::Running { attempt: 1 }
        );
        check_snapshot("resumable_replayed", &picture.to_mermaid());
        LAST.add_permits(1);
        let output = handles.into_iter().next().unwrap().result().await.unwrap();
        assert_eq!(output, 5);
    });
}

#[tokio::test]
async fn invalid_requests_are_typed_errors_naming_the_run() {
    let engine = Engine::new();
    let nobody = RunId::new("nobody");
    let error = engine.picture::<tour>(&nobody).await.unwrap_err();
    assert!(
        matches!(&error, EngineError::Store(StoreError::UnknownRun { run }) if *run == nobody),
        "{error}"
    );
    assert!(matches!(
        engine.diagram_of(&nobody).await.unwrap_err(),
        EngineError::Store(StoreError::UnknownRun { .. })
    ));

    let handle = engine.start(tour_leg, 1).await.unwrap();
    let run = handle.id().clone();
    handle.result().await.unwrap();
    let error = engine.picture::<tour>(&run).await.unwrap_err();
    assert!(
        matches!(&error, EngineError::OtherWorkflow { recorded, given: "tour", .. } if recorded == "tour_leg"),
        "{error}"
    );

    // A record without a graph (an older build's): a typed error, not a
    // picture without nodes.
    let mut record = engine.run_record(&run).await.unwrap().unwrap();
    record.mermaid = tour_leg::MERMAID.to_owned();
    let error = picture::from_records(&record, &[]).unwrap_err();
    assert_eq!(error, PictureError::NoGraph { run: run.clone() });
    record.mermaid = format!("{}%% trailhead-graph {{oops\n", tour_leg::MERMAID);
    assert!(matches!(
        picture::from_records(&record, &[]).unwrap_err(),
        PictureError::BadGraph { run: Some(bad), .. } if bad == run
    ));
}

async fn fetch_rate(n: u32) -> Result<u32, Error> {
    Err(Error::msg(format!("rates are down ({n})")))
}
async fn cached_rate(n: u32) -> Result<u32, Error> {
    Ok(n * 10)
}
async fn ping(i: u32) -> Result<u32, Error> {
    Ok(i)
}
async fn odd(i: u32) -> Result<u32, Error> {
    Ok(i)
}

workflow! {
    /// A fallback step, a sleep, a signal, and a branch in a loop whose
    /// `yes` arm is taken in some iterations only.
    pub workflow wait_and_see(n: u32) -> Result<u32, Error> {
        let rate = step fetch_rate(n).fallback(step cached_rate(n));
        sleep 1s;
        let go: u32 = signal "go";
        let mut sum = 0;
        for i in 0..n {
            sum += step ping(i);
            if i % 2 == 1 {
                sum += step odd(i);
            }
        }
        Ok(rate + go + sum)
    }
}

#[tokio::test(start_paused = true)]
async fn sleeps_and_signals_show_while_they_wait_and_a_fallback_step_is_its_own_node() {
    let engine = Engine::builder().live_pictures(true).build();
    let mut events = engine.subscribe();
    let handle = engine
        .start_with_id(RunId::new("wait-1"), wait_and_see, 3)
        .await
        .unwrap();
    let run = handle.id().clone();
    support::step_started(&mut events, "sleep").await;
    let picture = engine.picture::<wait_and_see>(&run).await.unwrap();
    let sleeping = picture
        .nodes
        .iter()
        .find(|n| n.kind == NodeKind::Sleep)
        .unwrap();
    assert_eq!(sleeping.state, NodeState::Running { attempt: 1 });
    assert_eq!(site(&picture, "fetch_rate").state, NodeState::FellBack);
    assert_eq!(
        site(&picture, "fetch_rate.fallback").kind,
        NodeKind::Fallback
    );
    assert_eq!(
        site(&picture, "fetch_rate.fallback").state.name(),
        "completed"
    );
    let signal = picture
        .nodes
        .iter()
        .find(|n| n.kind == NodeKind::Signal)
        .unwrap();
    assert_eq!(signal.state, NodeState::NotReached);
    assert!(picture.to_mermaid().contains("sleeping"));

    support::step_started(&mut events, "go").await;
    let picture = engine.picture::<wait_and_see>(&run).await.unwrap();
    assert_eq!(
        site(&picture, "go").state,
        NodeState::Running { attempt: 1 }
    );
    assert!(picture.to_mermaid().contains("waiting"));
    assert!(matches!(
        site(&picture, "sleep").state,
        NodeState::Completed { .. }
    ));

    engine.signal(&run, "go", 100_u32).await.unwrap();
    // 30 (the cached rate) + 100 + (0 + 1 + 2) + 1
    assert_eq!(handle.result().await.unwrap(), 134);
    let picture = engine.picture::<wait_and_see>(&run).await.unwrap();
    assert_eq!(site(&picture, "go").state.name(), "completed");
    assert_eq!(site(&picture, "ping").counts.done, 3);
    // The branch in the loop: its `yes` arm ran in one iteration of three.
    let odd = site(&picture, "odd");
    assert_eq!((odd.counts.total, odd.counts.done), (1, 1));
    assert_eq!(odd.steps[0].key, "odd[1]");
    check_snapshot("wait_and_see_completed", &picture.to_mermaid());
}

static HELD: Semaphore = Semaphore::const_new(0);

async fn held(i: u32) -> Result<u32, Error> {
    HELD.acquire().await.unwrap().forget();
    Ok(i)
}

workflow! {
    /// Two held steps, one after the other.
    pub workflow two_held(n: u32) -> Result<u32, Error> {
        let a = step held(n).name("one");
        let b = step held(a).name("two");
        Ok(b)
    }
}

#[tokio::test(start_paused = true)]
async fn by_default_live_attempts_are_kept_from_the_first_picture_on() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let handle = engine
        .start_with_id(RunId::new("held-1"), two_held, 1)
        .await
        .unwrap();
    let run = handle.id().clone();
    support::step_started(&mut events, "one").await;
    // Nobody had looked: the attempt running began unrecorded.
    let picture = engine.picture::<two_held>(&run).await.unwrap();
    assert_eq!(site(&picture, "one").state, NodeState::NotReached);
    HELD.add_permits(1);
    support::step_started(&mut events, "two").await;
    let picture = engine.picture::<two_held>(&run).await.unwrap();
    assert_eq!(site(&picture, "one").state.name(), "completed");
    assert_eq!(
        site(&picture, "two").state,
        NodeState::Running { attempt: 1 }
    );
    HELD.add_permits(1);
    assert_eq!(handle.result().await.unwrap(), 1);
}
