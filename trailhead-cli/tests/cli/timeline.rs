//! `trailhead timeline RUN`: a recorded run's journal as start and end
//! events, and the run's picture after any of them.

use trailhead::store::{RunRecord, Store as _, Value};
use trailhead::{RunId, SqliteStore};

use crate::support::{code, filled, json, on, stderr, stdout};

/// The rows of the event table (the lines after its header, up to the
/// blank line).
fn rows(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .skip_while(|line| !line.starts_with('#'))
        .skip(1)
        .take_while(|line| !line.is_empty())
        .map(|line| line.split_whitespace().collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_runs_events_come_in_order_and_name_the_failing_step() {
    let (_dir, path) = filled().await;
    let listed = on(&path, &["timeline", "buy-2"]);
    assert_eq!(code(&listed), 0, "{}", stderr(&listed));
    let text = stdout(&listed);
    assert!(text.starts_with("#  TIME "), "{text}");
    let listed = rows(&text);
    let events: Vec<(&str, &str, &str)> =
        listed.iter().map(|row| (row[0], row[2], row[3])).collect();
    assert_eq!(
        events,
        [
            ("0", "price", "started"),
            ("1", "price", "completed"),
            ("2", "charge", "started"),
            ("3", "charge", "failed"),
        ],
        "{text}"
    );
    assert_eq!(listed[1][4..], ["600"], "price's value: {text}");
    assert_eq!(
        listed[3][4..],
        ["card", "declined"],
        "charge's error: {text}"
    );
    assert_eq!(listed[0].len(), 4, "a start has no value: {text}");
    // Times as `show` prints them, in order.
    let times: Vec<&str> = listed.iter().map(|row| row[1]).collect();
    assert!(
        times.iter().all(|at| at.ends_with('Z') && at.len() == 24),
        "{text}"
    );
    assert!(times.windows(2).all(|two| two[0] <= two[1]), "{text}");
    assert_eq!(
        text.lines().last().unwrap(),
        "the run failed: its failure came from event 3, step `charge`: card declined",
        "{text}"
    );

    let completed = stdout(&on(&path, &["timeline", "buy-1"]));
    assert_eq!(rows(&completed).len(), 4, "{completed}");
    assert!(
        !completed.contains("failed"),
        "no failure line: {completed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn at_an_event_the_picture_shows_the_run_as_it_was_then() {
    let (_dir, path) = filled().await;
    // Event 1 is the end of `price`, the first step; `charge` starts at 2.
    let shown = on(&path, &["timeline", "buy-2", "--at", "1"]);
    assert_eq!(code(&shown), 0, "{}", stderr(&shown));
    let text = stdout(&shown);
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("event 1 of 4 (") && first.ends_with("): `price` completed: 600"),
        "{text}"
    );
    assert!(text.contains("\nflowchart "), "the Mermaid picture: {text}");
    // The picture's node ids for the steps, from its JSON.
    let picture =
        json(&on(&path, &["timeline", "buy-2", "--at", "1", "--json"]))["picture"].clone();
    let node = |site: &str| {
        picture["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|node| node["site"] == site)
            .unwrap_or_else(|| panic!("a node for `{site}`: {picture}"))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (price, charge) = (node("price"), node("charge"));
    assert_eq!(class_of(&text, &price), "completed", "{text}");
    assert_eq!(class_of(&text, &charge), "not_reached", "{text}");
    assert!(
        text.contains(&format!("{price}[\"price<br/><i>completed in ")),
        "{text}"
    );
    // The state list under it.
    let state = |site: &str| {
        text.lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .find(|cells| cells.get(1) == Some(&site))
            .unwrap_or_else(|| panic!("a state line for `{site}`: {text}"))[2]
            .to_owned()
    };
    assert_eq!(state("price"), "completed", "{text}");
    assert_eq!(state("charge"), "not_reached", "{text}");

    // After the last event, `charge` failed as the run did.
    let last = stdout(&on(&path, &["timeline", "buy-2", "--at", "3"]));
    assert_eq!(class_of(&last, &charge), "failed", "{last}");
    // Between its start and its end, running.
    let during = stdout(&on(&path, &["timeline", "buy-2", "--at", "2"]));
    assert_eq!(class_of(&during, &charge), "running", "{during}");
}

/// The status class the Mermaid text gives node `id`.
fn class_of(text: &str, id: &str) -> String {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("class "))
        .find_map(|line| {
            let (ids, class) = line.split_once(' ')?;
            ids.split(',')
                .any(|each| each == id)
                .then(|| class.to_owned())
        })
        .unwrap_or_else(|| panic!("a class for `{id}`: {text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn json_gives_the_events_and_at_gives_the_event_and_its_picture() {
    let (_dir, path) = filled().await;
    let events = json(&on(&path, &["timeline", "buy-2", "--json"]));
    let events = events.as_array().expect("an array of events");
    assert_eq!(events.len(), 4);
    assert_eq!(events[0]["index"], 0);
    assert_eq!(events[0]["key"], "price");
    assert_eq!(events[0]["kind"], "started");
    assert_eq!(events[0]["value"], serde_json::Value::Null);
    assert_eq!(events[1]["kind"], "completed");
    assert_eq!(events[1]["value"], "600");
    assert_eq!(events[3]["kind"], "failed");
    assert_eq!(events[3]["value"], "card declined");
    let at = events[3]["at"].as_str().unwrap();
    assert!(at.ends_with('Z') && at.contains('T'), "RFC 3339: {at}");

    let shown = json(&on(&path, &["timeline", "buy-2", "--at", "2", "--json"]));
    assert_eq!(shown["event"], events[2]);
    assert_eq!(shown["picture"]["run"], "buy-2");
    let charge = shown["picture"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["site"] == "charge")
        .unwrap();
    assert_eq!(charge["state"]["state"], "running", "{charge}");
}

#[tokio::test(flavor = "multi_thread")]
async fn at_past_the_end_and_a_run_without_a_graph_are_refused() {
    let (_dir, path) = filled().await;
    let store = path.display();
    let past = on(&path, &["timeline", "buy-2", "--at", "4"]);
    assert_eq!(code(&past), 1);
    assert_eq!(
        stderr(&past),
        format!(
            "trailhead: the store at `{store}`: run `buy-2` has 4 events (--at 0 to 3): no event 4\n"
        )
    );
    assert_eq!(stdout(&past), "");

    let missing = on(&path, &["timeline", "nope"]);
    assert_eq!(code(&missing), 3);
    assert_eq!(stderr(&missing), stderr(&on(&path, &["show", "nope"])));

    // A run recorded without a graph, as a hand-written workflow's is.
    {
        let writable = SqliteStore::open(&path).unwrap();
        let record = RunRecord::new(RunId::new("old-1"), "old", Value::encode(&1_u32).unwrap());
        writable.create_run(record).await.unwrap();
    }
    let diagram = on(&path, &["diagram", "old-1"]);
    assert_eq!(code(&diagram), 1, "{}", stderr(&diagram));
    for args in [
        &["timeline", "old-1"][..],
        &["timeline", "old-1", "--at", "0"],
    ] {
        let refused = on(&path, args);
        assert_eq!(code(&refused), code(&diagram), "{args:?}");
        assert_eq!(stderr(&refused), stderr(&diagram), "{args:?}");
    }
}
