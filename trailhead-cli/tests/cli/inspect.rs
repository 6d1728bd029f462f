//! `trailhead trace` and `trailhead stats`: a run's timeline as trace-event
//! JSON, and where a workflow's time goes.

use crate::support::{code, filled, json, on, stderr, stdout};

#[tokio::test(flavor = "multi_thread")]
async fn a_trace_is_trace_event_json_with_a_slice_per_step() {
    let (dir, path) = filled().await;
    let printed = on(&path, &["trace", "buy-1"]);
    assert_eq!(code(&printed), 0, "{}", stderr(&printed));
    let trace = json(&printed);
    let events = trace["traceEvents"].as_array().expect("traceEvents");
    let slices: Vec<&str> = events
        .iter()
        .filter(|event| event["ph"] == "X")
        .filter_map(|event| event["name"].as_str())
        .collect();
    for step in ["price", "charge"] {
        assert!(
            slices.iter().any(|name| name.contains(step)),
            "a slice for `{step}`: {slices:?}"
        );
    }

    // To a file only its owner reads, never over an existing one.
    let file = dir.path().join("buy-1.json");
    let written = on(
        &path,
        &["trace", "buy-1", "--output", file.to_str().unwrap()],
    );
    assert_eq!(code(&written), 0, "{}", stderr(&written));
    assert!(stdout(&written).contains("ui.perfetto.dev"));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved, trace);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = on(
        &path,
        &["trace", "buy-1", "--output", file.to_str().unwrap()],
    );
    assert_eq!(code(&again), 1);
    assert!(
        stderr(&again).contains("cannot write the trace"),
        "{}",
        stderr(&again)
    );

    let missing = on(&path, &["trace", "nope"]);
    assert_eq!(code(&missing), 3, "{}", stderr(&missing));
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_count_each_step_site_over_the_workflows_runs() {
    let (_dir, path) = filled().await;
    let printed = on(&path, &["stats", "buy", "--json"]);
    assert_eq!(code(&printed), 0, "{}", stderr(&printed));
    let stats = json(&printed);
    assert_eq!(stats["workflow"], "buy");
    // buy-1..3 and order-1's child.
    assert_eq!(stats["runs"], 4);
    let sites = stats["sites"].as_array().unwrap();
    let price = sites.iter().find(|site| site["site"] == "price").unwrap();
    assert_eq!(price["count"], 4);
    let charge = sites.iter().find(|site| site["site"] == "charge").unwrap();
    assert_eq!(charge["count"], 4);
    assert_eq!(charge["failed"], 1, "buy-2's charge failed");

    let table = stdout(&on(&path, &["stats", "buy"]));
    assert!(table.starts_with("workflow `buy`, 4 runs\n"), "{table}");
    assert!(table.contains("charge"), "{table}");
    let none = stdout(&on(&path, &["stats", "nothing"]));
    assert_eq!(none, "no runs of workflow `nothing` in the store\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_diagram_shows_each_nodes_state_from_the_journal() {
    let (_dir, path) = filled().await;
    let failed = on(&path, &["diagram", "buy-2"]);
    assert_eq!(code(&failed), 0, "{}", stderr(&failed));
    let mermaid = stdout(&failed);
    assert!(mermaid.starts_with("flowchart"), "{mermaid}");
    assert!(mermaid.contains("classDef"), "status classes: {mermaid}");
    let picture = json(&on(&path, &["diagram", "buy-2", "--json"]));
    assert_eq!(picture["run"], "buy-2");
    let nodes = picture["nodes"].as_array().unwrap();
    let state_of = |site: &str| {
        let node = nodes
            .iter()
            .find(|node| node["site"] == site)
            .unwrap_or_else(|| panic!("a node for `{site}`: {nodes:?}"));
        node["state"].clone()
    };
    let (price, charge) = (state_of("price"), state_of("charge"));
    assert_ne!(
        price, charge,
        "price completed, charge failed: {price} {charge}"
    );
    assert!(charge.to_string().contains("failed"), "{charge}");
    assert!(price.to_string().contains("completed"), "{price}");

    // A call links to its child run.
    let order = json(&on(&path, &["diagram", "order-1", "--json"]));
    let call = order["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["children"].as_array().is_some_and(|c| !c.is_empty()))
        .expect("the call node names its child");
    assert!(
        call["children"][0]
            .as_str()
            .unwrap()
            .starts_with("order-1/")
    );

    assert_eq!(code(&on(&path, &["diagram", "nope"])), 3);
}
