//! `trailhead runs`: filters, order, pages, the table and the JSON.

use crate::support::{code, filled, ids, json, on, stderr, stdout};

#[tokio::test(flavor = "multi_thread")]
async fn runs_are_listed_newest_first_and_filtered() {
    let (_dir, path) = filled().await;
    let all = json(&on(&path, &["runs", "--json"]));
    let listed = ids(&all);
    assert_eq!(listed.len(), 5, "{listed:?}");
    let child = all.as_array().unwrap()[1].clone();
    assert_eq!(
        child["parent"], "order-1",
        "the child comes after its parent"
    );
    let child = child["id"].as_str().unwrap().to_owned();
    assert_eq!(listed, ["buy-3", &child, "order-1", "buy-2", "buy-1"]);

    let listed = |args: &[&str]| {
        let mut all = vec!["runs", "--json"];
        all.extend_from_slice(args);
        ids(&json(&on(&path, &all)))
    };
    assert_eq!(listed(&["--status", "failed"]), ["buy-2"]);
    assert_eq!(
        listed(&["--workflow", "buy", "--top-level"]),
        ["buy-3", "buy-2", "buy-1"]
    );
    assert_eq!(listed(&["--parent", "order-1"]), [child.as_str()]);
    assert_eq!(
        listed(&[
            "--status",
            "failed",
            "--status",
            "completed",
            "--workflow",
            "order"
        ]),
        ["order-1"]
    );
    assert_eq!(listed(&["--since", "1h"]).len(), 5);
    assert!(listed(&["--until", "1h"]).is_empty());
    let order = all.as_array().unwrap()[2]["created_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(listed(&["--until", &order]), ["buy-2", "buy-1"]);
    assert_eq!(
        listed(&["--since", &order, "--oldest-first"]),
        ["order-1", &child, "buy-3"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_come_a_page_at_a_time() {
    let (_dir, path) = filled().await;
    let first = on(&path, &["runs", "--json", "--oldest-first", "--limit", "2"]);
    assert_eq!(ids(&json(&first)), ["buy-1", "buy-2"]);
    let next = json(&on(
        &path,
        &[
            "runs",
            "--json",
            "--oldest-first",
            "--limit",
            "2",
            "--after",
            "buy-2",
        ],
    ));
    assert_eq!(ids(&next)[0], "order-1");
    assert_eq!(ids(&next).len(), 2);
    let last = on(
        &path,
        &["runs", "--json", "--oldest-first", "--offset", "4"],
    );
    assert_eq!(ids(&json(&last)), ["buy-3"]);

    // The table says where the next page starts.
    let page = on(&path, &["runs", "--limit", "3"]);
    assert_eq!(code(&page), 0);
    let hint = stderr(&page);
    assert!(hint.contains("2 more runs"), "{hint}");
    assert!(hint.contains("--after order-1"), "{hint}");

    let unknown = on(&path, &["runs", "--after", "nope"]);
    assert_eq!(code(&unknown), 3, "{}", stderr(&unknown));
    assert!(stderr(&unknown).contains("`nope`"));
    let both = on(&path, &["runs", "--after", "buy-1", "--offset", "1"]);
    assert_eq!(code(&both), 2, "conflicting options are a usage error");
    let status = on(&path, &["runs", "--status", "sleeping"]);
    assert_eq!(code(&status), 2, "an unknown status is a usage error");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_table_lines_up_and_the_json_has_stable_fields() {
    let (_dir, path) = filled().await;
    let table = stdout(&on(&path, &["runs", "--workflow", "buy", "--top-level"]));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("RUN"), "{table}");
    let column = lines[0].find("STATUS").unwrap();
    assert_eq!(&lines[2][column..column + 6], "failed", "{table}");
    assert!(lines[2].starts_with("buy-2 "), "{table}");
    assert!(lines.iter().all(|line| !line.ends_with(' ')));

    let runs = json(&on(&path, &["runs", "--json", "--oldest-first"]));
    let runs = runs.as_array().unwrap();
    let fields = [
        "id",
        "workflow",
        "status",
        "parent",
        "created_at",
        "finished_at",
        "duration_ms",
        "output",
        "error",
        "cause",
        "definition_hash",
    ];
    for run in runs {
        let mut keys: Vec<&str> = run
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut expected = fields.to_vec();
        expected.sort_unstable();
        assert_eq!(keys, expected);
    }
    assert_eq!(runs[0]["output"], "receipt for 400 cents");
    assert_eq!(runs[0]["status"], "completed");
    assert_eq!(runs[0]["error"], serde_json::Value::Null);
    assert_eq!(runs[1]["status"], "failed");
    assert!(
        runs[1]["error"].as_str().unwrap().contains("card declined"),
        "{}",
        runs[1]
    );
    assert!(runs[1]["finished_at"].is_string());
    assert!(runs[1]["duration_ms"].is_u64());
}

#[tokio::test(flavor = "multi_thread")]
async fn schedules_are_listed_from_the_store_file() {
    let (_dir, path) = filled().await;
    assert_eq!(stdout(&on(&path, &["schedules"])), "no schedules\n");
    let engine = crate::support::engine(&path);
    let nine =
        trailhead::cron!("0 9 * * *").in_time_zone(trailhead::schedule::chrono_tz::Europe::Paris);
    engine
        .schedule("morning", nine, crate::support::buy, "paper".to_owned())
        .await
        .unwrap();
    engine.pause_schedule("morning").await.unwrap();
    let listed = json(&on(&path, &["schedules", "--json"]));
    let morning = &listed.as_array().unwrap()[0];
    assert_eq!(morning["name"], "morning");
    assert_eq!(morning["workflow"], "buy");
    assert_eq!(morning["spec"], "cron `0 9 * * *` in Europe/Paris");
    assert_eq!(morning["paused"], true);
    assert_eq!(morning["runs_started"], 0);
    assert!(morning["last_tick"].is_null(), "{morning}");
    let next = morning["next_tick"].as_str().unwrap();
    assert!(
        next.ends_with("T08:00:00.000Z") || next.ends_with("T07:00:00.000Z"),
        "9:00 in Paris: {next}"
    );
    let table = on(&path, &["schedules"]);
    assert_eq!(code(&table), 0);
    let table = stdout(&table);
    assert!(table.starts_with("SCHEDULE"), "{table}");
    assert!(table.contains("morning"), "{table}");
}
