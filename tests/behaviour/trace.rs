//! A run's timeline in the Chrome trace-event format: the JSON is checked as
//! a viewer reads it (fields, nesting, tracks that never overlap) on a run
//! with a fan-out, a retry, a sleep, a signal wait, a call and a
//! compensation.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value as Json;
use trailhead::{Engine, Error, RunId, SqliteStore, StoreError, workflow};

/// Prices item `n`, taking `n * 10` ms: the fan-out's items overlap.
async fn price(n: u32) -> Result<u32, Error> {
    tokio::time::sleep(Duration::from_millis(u64::from(n) * 10)).await;
    Ok(n * 100)
}

/// Fails its first attempt.
async fn check(total: u32) -> Result<u32, Error> {
    let attempt = trailhead::current_step().expect("in a step").attempt;
    tokio::time::sleep(Duration::from_millis(5)).await;
    if attempt == 1 {
        return Err(Error::msg("the checker is busy"));
    }
    Ok(total)
}

async fn render(total: u32) -> Result<String, Error> {
    tokio::time::sleep(Duration::from_millis(7)).await;
    Ok(format!("receipt for {total}"))
}

async fn hold(total: u32) -> Result<u32, Error> {
    Ok(total)
}

async fn release(_held: u32) -> Result<(), Error> {
    tokio::time::sleep(Duration::from_millis(3)).await;
    Ok(())
}

async fn charge(total: u32) -> Result<u32, Error> {
    Err(Error::msg(format!("the card was declined for {total}")))
}

workflow! {
    /// Renders a receipt (the child run).
    pub workflow receipt(total: u32) -> Result<String, Error> {
        let text = step render(total);
        Ok(text)
    }

    /// Prices items at once, checks the total (retried), waits, waits for
    /// `go`, renders a receipt, holds the money and fails to charge it: the
    /// hold is undone.
    pub workflow traced_order(items: Vec<u32>) -> Result<u32, Error> {
        let prices = parallel for item in &items {
            step price(*item)
        };
        let total = step check(prices.iter().sum()).retry(3, backoff = 5ms);
        sleep 50ms;
        let go: bool = signal "go";
        let text = call receipt(total);
        let held = step hold(total + u32::from(go) + text.len() as u32).compensate(release);
        let paid = step charge(held);
        Ok(paid)
    }
}

/// The trace's complete slices, by process, then track.
type Tracks = BTreeMap<u64, BTreeMap<u64, Vec<Json>>>;

fn number(event: &Json, field: &str) -> u64 {
    event[field]
        .as_u64()
        .unwrap_or_else(|| panic!("`{field}` is a number in {event}"))
}

/// Checks what the trace-event format requires of every event; returns the
/// complete slices by process and track.
fn well_formed(trace: &Json) -> Tracks {
    let events = trace["traceEvents"]
        .as_array()
        .expect("a traceEvents array");
    let mut tracks = Tracks::new();
    for event in events {
        assert!(event["name"].is_string(), "a name: {event}");
        let ph = event["ph"].as_str().expect("a phase");
        for field in ["ts", "pid", "tid"] {
            number(event, field);
        }
        match ph {
            "X" => {
                number(event, "dur");
                tracks
                    .entry(number(event, "pid"))
                    .or_default()
                    .entry(number(event, "tid"))
                    .or_default()
                    .push(event.clone());
            }
            "M" => assert!(event["args"].is_object(), "metadata has args: {event}"),
            "s" | "f" => {
                number(event, "id");
            }
            other => panic!("unexpected phase {other} in {event}"),
        }
    }
    tracks
}

fn end(slice: &Json) -> u64 {
    number(slice, "ts") + number(slice, "dur")
}

fn within(inner: &Json, outer: &Json) -> bool {
    number(inner, "ts") >= number(outer, "ts") && end(inner) <= end(outer)
}

/// The parts of a slice (a retried step's attempts and backoff waits),
/// drawn nested in it on its track.
fn is_part(slice: &Json) -> bool {
    slice["cat"] == "attempt" || slice["cat"] == "backoff"
}

/// No two slices of one track overlap or start together; every slice of a
/// run's process lies within the run's slice (track 0, alone); a slice's
/// parts lie within it on its track and do not overlap each other.
fn nests(tracks: &Tracks) {
    for (pid, by_track) in tracks {
        let run = &by_track[&0];
        assert_eq!(run.len(), 1, "track 0 of process {pid} holds the run alone");
        let run = &run[0];
        assert_eq!(run["cat"], "run");
        for (tid, slices) in by_track {
            let (parts, slices): (Vec<Json>, Vec<Json>) = slices.iter().cloned().partition(is_part);
            for part in &parts {
                assert!(
                    slices.iter().any(|outer| within(part, outer)),
                    "{part} lies within a slice of track {tid} of process {pid}"
                );
            }
            let mut parts = parts;
            parts.sort_by_key(|part| number(part, "ts"));
            for pair in parts.windows(2) {
                assert!(end(&pair[0]) <= number(&pair[1], "ts"), "{pair:?} overlap");
            }
            let mut slices = slices;
            slices.sort_by_key(|slice| number(slice, "ts"));
            for pair in slices.windows(2) {
                assert!(
                    end(&pair[0]) <= number(&pair[1], "ts"),
                    "{} and {} overlap on track {tid} of process {pid}",
                    pair[0],
                    pair[1]
                );
                // Nor start together: a viewer would draw one inside the other.
                assert!(
                    number(&pair[0], "ts") < number(&pair[1], "ts"),
                    "{} and {} start together on track {tid} of process {pid}",
                    pair[0],
                    pair[1]
                );
            }
            for slice in &slices {
                assert!(within(slice, run), "{slice} lies outside its run {run}");
            }
        }
    }
}

fn slices(tracks: &Tracks) -> impl Iterator<Item = &Json> {
    tracks
        .values()
        .flat_map(|by_track| by_track.values().flatten())
}

fn slice<'a>(tracks: &'a Tracks, name: &str) -> &'a Json {
    slices(tracks)
        .find(|slice| slice["name"] == name)
        .unwrap_or_else(|| panic!("a slice named {name}"))
}

/// Runs `traced_order` on `engine` to its failure; returns its id.
async fn run_order(engine: &Engine) -> RunId {
    let handle = engine.start(traced_order, vec![1, 2, 3]).await.unwrap();
    let run = handle.id().clone();
    engine.signal(&run, "go", true).await.unwrap();
    let error = handle.result().await.unwrap_err();
    assert!(error.to_string().contains("declined"), "{error}");
    run
}

fn check_trace(trace: &Json, run: &RunId) {
    let tracks = well_formed(trace);
    nests(&tracks);
    assert_eq!(trace["otherData"]["run"], run.as_str());

    // The fan-out's items ran at once: each on a track of its own.
    let items: Vec<&Json> = (0..3)
        .map(|i| slice(&tracks, &format!("price[{i}]")))
        .collect();
    let tids: std::collections::HashSet<u64> = items.iter().map(|s| number(s, "tid")).collect();
    assert_eq!(
        tids.len(),
        3,
        "the concurrent items share no track: {items:?}"
    );
    assert!(number(items[2], "dur") >= 30_000, "{}", items[2]);

    let checked = slice(&tracks, "check");
    assert_eq!(checked["cat"], "step");
    assert_eq!(checked["args"]["attempts"], 2);
    // Both attempts (5 ms each) and the backoff (5 ms) between them.
    assert!(number(checked, "dur") >= 15_000, "{checked}");
    // Nested in it, on its track: each attempt, and the wait between them.
    let parts: Vec<&Json> = slices(&tracks)
        .filter(|part| is_part(part) && number(part, "tid") == number(checked, "tid"))
        .filter(|part| number(part, "pid") == number(checked, "pid") && within(part, checked))
        .collect();
    let names: Vec<&str> = parts.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["attempt 1", "backoff", "attempt 2"], "{parts:?}");
    assert_eq!(parts[0]["args"]["error"], "the checker is busy");
    assert_eq!(parts[2]["args"]["outcome"], "completed");
    for (part, least) in parts.iter().zip([5_000, 5_000, 5_000]) {
        assert!(number(part, "dur") >= least, "{part}");
    }
    assert!(end(parts[0]) <= number(parts[1], "ts") && end(parts[1]) <= number(parts[2], "ts"));

    let nap = slice(&tracks, "sleep");
    assert_eq!(nap["cat"], "sleep");
    assert!(
        number(nap, "dur") >= 50_000,
        "the sleep lasts until it woke: {nap}"
    );
    assert!(
        number(nap, "ts") >= end(checked),
        "the sleep follows the check"
    );

    let go = slice(&tracks, "go");
    assert_eq!(go["cat"], "signal");
    assert_eq!(go["args"]["signal"], "received");

    let call = slice(&tracks, "receipt");
    assert_eq!(call["cat"], "call");
    let child = call["args"]["child_run"].as_str().expect("the child run");
    assert_eq!(child, format!("{run}/receipt"));
    // The child run is a process of its own, its slice within the call's.
    let child_run = slices(&tracks)
        .find(|slice| slice["cat"] == "run" && slice["args"]["run"] == child)
        .expect("the child run's slice");
    assert_ne!(number(child_run, "pid"), number(call, "pid"));
    assert!(within(child_run, call), "{child_run} within {call}");
    let render = slice(&tracks, "render");
    assert_eq!(number(render, "pid"), number(child_run, "pid"));
    assert!(number(render, "dur") >= 7_000, "{render}");
    // A flow arrow from the call step to the child run.
    let events = trace["traceEvents"].as_array().unwrap();
    let start = events
        .iter()
        .find(|e| e["ph"] == "s")
        .expect("a flow start");
    let finish = events.iter().find(|e| e["ph"] == "f").expect("a flow end");
    assert_eq!(start["id"], finish["id"]);
    assert_eq!(
        (start["pid"].clone(), start["tid"].clone()),
        (call["pid"].clone(), call["tid"].clone())
    );
    assert_eq!(finish["pid"], child_run["pid"]);

    let charged = slice(&tracks, "charge");
    assert_eq!(charged["args"]["outcome"], "failed");
    assert!(
        charged["args"]["error"]
            .as_str()
            .unwrap()
            .contains("declined")
    );

    let undo = slice(&tracks, "undo:hold");
    assert_eq!(undo["cat"], "compensation");
    assert_eq!(undo["args"]["undoes"], "hold");
    assert!(
        number(undo, "ts") >= end(charged),
        "the hold is undone after the charge failed"
    );

    // Processes are named after their runs.
    let named: Vec<&str> = events
        .iter()
        .filter(|e| e["name"] == "process_name")
        .filter_map(|e| e["args"]["name"].as_str())
        .collect();
    assert_eq!(
        named,
        [format!("traced_order {run}"), format!("receipt {child}")]
    );
}

#[tokio::test(start_paused = true)]
async fn a_runs_trace_nests_its_steps_and_child_runs_on_tracks_that_never_overlap() {
    let engine = Engine::new();
    let run = run_order(&engine).await;
    let trace = engine.trace(&run).await.unwrap();
    let json: Json = serde_json::from_str(&trace.to_json()).expect("the trace is JSON");
    check_trace(&json, &run);
}

#[tokio::test]
async fn a_trace_is_read_from_a_store_file_without_the_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let run = {
        let engine = Engine::builder()
            .store(SqliteStore::open(&path).unwrap())
            .build();
        run_order(&engine).await
    };
    // As a tool would: the file opened again, no engine, no workflow type.
    let store = SqliteStore::open(&path).unwrap();
    let trace = trailhead::trace::of_run(&store, &run).await.unwrap();
    let json = serde_json::to_value(&trace).unwrap();
    check_trace(&json, &run);

    let unknown = RunId::new("no-such-run");
    match trailhead::trace::of_run(&store, &unknown).await {
        Err(StoreError::UnknownRun { run }) => assert_eq!(run, unknown),
        other => panic!("expected UnknownRun, got {other:?}"),
    }
}
