//! `trailhead show RUN`: the record, the journal, the children.

use crate::support::{code, filled, json, on, stderr, stdout};

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_run_shows_its_error_and_the_step_that_failed() {
    let (_dir, path) = filled().await;
    let shown = on(&path, &["show", "buy-2"]);
    assert_eq!(code(&shown), 0, "{}", stderr(&shown));
    let text = stdout(&shown);
    let line = |name: &str| {
        text.lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("no `{name}` line in:\n{text}"))
            .to_owned()
    };
    assert!(line("status").ends_with("failed"), "{text}");
    assert!(line("error").contains("card declined"), "{text}");
    assert!(line("workflow").ends_with("buy"), "{text}");
    assert!(text.contains("journal (2 entries)"), "{text}");
    let header = line("KEY");
    let charge = line("charge");
    let outcome = header.find("OUTCOME").unwrap();
    assert_eq!(&charge[outcome..outcome + 6], "failed", "{text}");
    let error = header.find("ERROR").unwrap();
    assert!(charge[error..].contains("card declined"), "{text}");
    assert!(line("price").contains("completed"), "{text}");
    assert!(text.contains("children (0)"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parent_shows_its_children_and_json_has_it_all() {
    let (_dir, path) = filled().await;
    let shown = json(&on(&path, &["show", "order-1", "--json"]));
    assert_eq!(shown["run"]["status"], "completed");
    assert_eq!(shown["run"]["output"], "receipt for 300 cents");
    let children = shown["children"].as_array().unwrap();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0]["workflow"], "buy");
    assert_eq!(children[0]["parent"], "order-1");
    let journal = shown["journal"].as_array().unwrap();
    assert_eq!(journal.len(), 1, "the call: {journal:?}");

    let child = children[0]["id"].as_str().unwrap();
    let child = json(&on(&path, &["show", child, "--json"]));
    let keys: Vec<&str> = child["journal"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["price", "charge"]);
    assert_eq!(child["journal"][0]["output"], 300);
    assert_eq!(child["journal"][0]["attempts"], 1);

    let text = stdout(&on(&path, &["show", "order-1"]));
    assert!(text.contains("children (1)"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_run_is_not_found() {
    let (_dir, path) = filled().await;
    let missing = on(&path, &["show", "nope"]);
    assert_eq!(code(&missing), 3);
    let message = stderr(&missing);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("`nope`"), "names the run: {message}");
    assert!(
        message.contains(path.to_str().unwrap()),
        "names the store: {message}"
    );
}

/// Calls of `flaky`: only the test below runs it.
static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Fails its first two attempts.
async fn flaky(_number: &str) -> Result<u32, trailhead::Error> {
    match CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
        0 => Err(trailhead::Error::msg("the line was busy")),
        1 => Err(trailhead::Error::msg("the line was busy again")),
        n => Ok(n),
    }
}

trailhead::workflow! {
    /// Dials until the line is free.
    pub workflow dial(number: String) -> Result<u32, trailhead::Error> {
        let answer = step flaky(&number).retry(3, backoff = 1ms);
        Ok(answer)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_step_shows_each_failed_attempt_and_its_wait() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    {
        let engine = crate::support::engine(&path);
        let handle = engine
            .start_with_id(trailhead::RunId::new("dial-1"), dial, "555".to_owned())
            .await
            .unwrap();
        assert_eq!(handle.result().await.unwrap(), 2);
    }
    let text = stdout(&on(&path, &["show", "dial-1"]));
    let rows: Vec<&str> = text
        .lines()
        .skip_while(|line| !line.starts_with("KEY"))
        .skip(1)
        .take_while(|line| !line.is_empty())
        .collect();
    assert_eq!(
        rows.len(),
        3,
        "the step and its two retried attempts:\n{text}"
    );
    assert!(
        rows[0].starts_with("flaky") && rows[0].contains("completed"),
        "{text}"
    );
    assert!(
        rows[1].trim_start().starts_with("attempt 1") && rows[1].contains("the line was busy"),
        "{text}"
    );
    assert!(
        rows[2].contains("attempt 2") && rows[2].contains("busy again") && rows[2].contains("wait"),
        "{text}"
    );

    let shown = json(&on(&path, &["show", "dial-1", "--json"]));
    let step = &shown["journal"][0];
    assert_eq!(step["attempts"], 3);
    let retries = step["retries"].as_array().unwrap();
    assert_eq!(retries.len(), 2, "{step}");
    assert_eq!(retries[1]["error"], "the line was busy again");
    for retry in retries {
        let (started, failed, retried) = (
            retry["started_at"].as_str().unwrap(),
            retry["failed_at"].as_str().unwrap(),
            retry["retried_at"].as_str().unwrap(),
        );
        assert!(started <= failed && failed <= retried, "{retry}");
    }
}
