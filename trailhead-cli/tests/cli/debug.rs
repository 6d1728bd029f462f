//! `trailhead debug …`: the debugger of a process driven through the
//! dashboard it serves. The process is this test's: an engine with a
//! debugger over a temporary store, its dashboard served on a free port,
//! and runs of the support workflows; the binary talks to it over HTTP.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use trailhead::dashboard::{Actions, Dashboard};
use trailhead::{Engine, RunId, SqliteStore};

use crate::support::{self, code, stderr, stdout};

/// An engine over the SQLite store at `path`, with a debugger or without.
fn engine(path: &Path, debugger: bool) -> Engine {
    Engine::builder()
        .store(SqliteStore::open(path).unwrap())
        .debugger(debugger)
        .build()
}

/// Serves `engine`'s dashboard with `actions` on a free local port; gives
/// its address.
async fn serve(engine: &Engine, actions: Actions) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let dashboard = Dashboard::new(engine.clone()).actions(actions);
    tokio::spawn(dashboard.serve(listener));
    format!("http://{address}")
}

/// The binary with `args`, with no store, dashboard or token from the
/// environment.
fn trailhead(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailhead"))
        .args(args)
        .env_remove("TRAILHEAD_STORE")
        .env_remove("TRAILHEAD_DASHBOARD_URL")
        .env_remove("TRAILHEAD_DASHBOARD_TOKEN")
        .output()
        .unwrap()
}

/// `trailhead debug --url URL ARGS…`, off the async workers (the runs go
/// on meanwhile).
async fn debug(url: &str, args: &[&str]) -> Output {
    let mut all = vec!["debug".to_owned(), "--url".to_owned(), url.to_owned()];
    all.extend(args.iter().map(|&arg| arg.to_owned()));
    tokio::task::spawn_blocking(move || trailhead(&all))
        .await
        .unwrap()
}

/// `trailhead debug ARGS…`, no `--url`.
fn bare(args: &[&str]) -> Output {
    let mut all = vec!["debug".to_owned()];
    all.extend(args.iter().map(|&arg| arg.to_owned()));
    trailhead(&all)
}

/// Its stdout, after checking it succeeded with nothing on stderr.
fn ok(output: &Output) -> String {
    assert_eq!(code(output), 0, "stderr: {}", stderr(output));
    assert_eq!(stderr(output), "");
    stdout(output)
}

/// Its one-line stderr, after checking it failed with exit code 1 and
/// printed nothing on stdout.
fn refused(output: &Output) -> String {
    assert_eq!(code(output), 1, "stdout: {}", stdout(output));
    assert_eq!(stdout(output), "");
    let message = stderr(output);
    assert_eq!(message.lines().count(), 1, "{message}");
    message
}

/// The value of field `name` in a pause as `wait` and `paused` print it,
/// and the lines under it (`arguments`, `journaled`).
fn field(text: &str, name: &str) -> Vec<String> {
    let mut lines = text
        .lines()
        .skip_while(|line| line.split_whitespace().next() != Some(name) || !line.starts_with(name));
    let Some(first) = lines.next() else {
        panic!("no `{name}` in:\n{text}");
    };
    let indent = first.len() - first[name.len()..].trim_start().len();
    let mut values = vec![first[indent..].to_owned()];
    values.extend(
        lines
            .take_while(|line| line.len() > indent && line[..indent].trim().is_empty())
            .map(|line| line[indent..].to_owned()),
    );
    values
}

fn one(text: &str, name: &str) -> String {
    let values = field(text, name);
    assert_eq!(values.len(), 1, "one `{name}` line in:\n{text}");
    values.into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn break_wait_step_and_continue_drive_a_run_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir.path().join("runs.db"), true);
    let url = serve(&engine, Actions::Allowed).await;

    assert_eq!(ok(&debug(&url, &["breakpoints"]).await), "no breakpoints\n");
    assert_eq!(ok(&debug(&url, &["paused"]).await), "no step is paused\n");
    assert_eq!(
        ok(&debug(&url, &["break", "price"]).await),
        "breakpoint 1 set: stops before `price` starts, in every run\n"
    );
    assert_eq!(
        ok(&debug(&url, &["break", "charge", "--after", "--workflow", "buy"]).await),
        "breakpoint 2 set: stops after `charge` completes, in runs of workflow `buy`\n"
    );
    let listed = ok(&debug(&url, &["breakpoints"]).await);
    let rows: Vec<Vec<&str>> = listed
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["ID", "WHEN", "STEPS", "WORKFLOW", "RUN"],
            vec!["1", "before", "price", "-", "-"],
            vec!["2", "after", "charge", "buy", "-"],
        ],
        "{listed}"
    );
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&debug(&url, &["breakpoints", "--json"]).await)).unwrap();
    assert_eq!(
        listed,
        serde_json::json!([
            {"id": 1, "steps": "price", "when": "before", "workflow": null, "run": null},
            {"id": 2, "steps": "charge", "when": "after", "workflow": "buy", "run": null},
        ])
    );

    let handle = engine
        .start_with_id(RunId::new("buy-7"), support::buy, "book".to_owned())
        .await
        .unwrap();

    // Stopped before `price`, with its argument.
    let paused = ok(&debug(&url, &["wait", "buy-7", "--timeout", "20"]).await);
    assert_eq!(one(&paused, "run"), "buy-7", "{paused}");
    assert_eq!(one(&paused, "workflow"), "buy", "{paused}");
    assert_eq!(one(&paused, "step"), "price", "{paused}");
    assert_eq!(one(&paused, "when"), "before", "{paused}");
    assert_eq!(field(&paused, "arguments"), ["\"book\""], "{paused}");
    assert_eq!(one(&paused, "journaled"), "(nothing yet)", "{paused}");
    assert!(one(&paused, "node").starts_with('s'), "{paused}");
    assert_eq!(
        ok(&debug(&url, &["paused"]).await),
        paused,
        "`paused` lists the one pause as `wait` showed it"
    );
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&debug(&url, &["paused", "--json"]).await)).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["run"], "buy-7");
    assert_eq!(listed[0]["key"], "price");
    assert_eq!(listed[0]["arguments"], serde_json::json!(["\"book\""]));

    // `step` goes on to the next step, `charge`, and stops it: no
    // breakpoint stops `charge` before it starts.
    assert_eq!(
        ok(&debug(&url, &["step", "buy-7"]).await),
        "run `buy-7` resumed: it stops before its next step starts\n"
    );
    let paused = ok(&debug(&url, &["wait", "buy-7", "--timeout", "20"]).await);
    assert_eq!(one(&paused, "step"), "charge", "{paused}");
    assert_eq!(one(&paused, "when"), "before", "{paused}");
    assert_eq!(field(&paused, "arguments"), ["\"book\"", "400"], "{paused}");
    assert_eq!(field(&paused, "journaled"), ["price  400"], "{paused}");
    let pause: serde_json::Value =
        serde_json::from_str(&ok(&debug(&url, &["wait", "--json"]).await)).unwrap();
    assert_eq!(pause["key"], "charge", "{pause}");
    assert_eq!(pause["journaled"], serde_json::json!([["price", "400"]]));

    // `continue`: `charge` runs, and breakpoint 2 stops it after it completed.
    assert_eq!(
        ok(&debug(&url, &["continue", "buy-7"]).await),
        "run `buy-7` resumed: it runs on to its next breakpoint\n"
    );
    let paused = ok(&debug(&url, &["wait", "buy-7", "--timeout", "20"]).await);
    assert_eq!(one(&paused, "step"), "charge", "{paused}");
    assert_eq!(one(&paused, "when"), "after", "{paused}");
    assert_eq!(
        one(&paused, "output"),
        "\"receipt for 400 cents\"",
        "{paused}"
    );

    // Deleted, breakpoint 2 is gone; deleted again, there is none.
    assert_eq!(
        ok(&debug(&url, &["delete", "2"]).await),
        "breakpoint 2 deleted\n"
    );
    let listed = ok(&debug(&url, &["breakpoints"]).await);
    assert_eq!(
        listed.lines().count(),
        2,
        "the header and breakpoint 1: {listed}"
    );
    assert_eq!(
        refused(&debug(&url, &["delete", "2"]).await),
        format!("trailhead: the dashboard at {url}: there is no breakpoint 2\n")
    );

    // `continue` lets the run end.
    ok(&debug(&url, &["continue", "buy-7"]).await);
    let receipt = tokio::time::timeout(Duration::from_secs(20), handle.result())
        .await
        .expect("the run ends once continued")
        .unwrap();
    assert_eq!(receipt, "receipt for 400 cents");
    assert_eq!(ok(&debug(&url, &["paused"]).await), "no step is paused\n");

    // A run not paused, and a wait that times out.
    for command in ["continue", "step", "step-over"] {
        assert_eq!(
            refused(&debug(&url, &[command, "buy-7"]).await),
            format!("trailhead: the dashboard at {url}: run `buy-7` is not paused\n"),
            "{command}"
        );
    }
    let waited = refused(&debug(&url, &["wait", "buy-7", "--timeout", "0.3"]).await);
    assert!(
        waited.starts_with("trailhead: no step of run `buy-7` paused within 300ms"),
        "{waited}"
    );
    engine.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_dashboard_refuses_break_and_a_token_one_wants_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir.path().join("runs.db"), true);

    let read_only = serve(&engine, Actions::ReadOnly).await;
    let message = refused(&debug(&read_only, &["break", "charge"]).await);
    assert!(
        message.starts_with(&format!(
            "trailhead: the dashboard at {read_only}: this dashboard is read-only"
        )),
        "{message}"
    );
    // Reading is allowed; nothing was set.
    assert_eq!(
        ok(&debug(&read_only, &["breakpoints"]).await),
        "no breakpoints\n"
    );

    let guarded = serve(&engine, Actions::Token("s3cret".to_owned())).await;
    let message = refused(&debug(&guarded, &["break", "charge"]).await);
    assert!(message.contains("token"), "{message}");
    let message = refused(&debug(&guarded, &["--token", "wrong", "break", "charge"]).await);
    assert!(message.contains("token"), "{message}");
    assert_eq!(
        ok(&debug(&guarded, &["break", "charge", "--token", "s3cret"]).await),
        "breakpoint 1 set: stops before `charge` starts, in every run\n"
    );
    assert_eq!(
        ok(&debug(&guarded, &["--token", "s3cret", "delete", "1"]).await),
        "breakpoint 1 deleted\n"
    );
    engine.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_engine_without_a_debugger_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir.path().join("runs.db"), false);
    let url = serve(&engine, Actions::Allowed).await;
    let note = format!(
        "trailhead: the engine behind the dashboard at {url} has no debugger \
         (build it with `EngineBuilder::debugger(true)`)\n"
    );
    let listed = debug(&url, &["paused"]).await;
    assert_eq!(code(&listed), 0);
    assert_eq!(stdout(&listed), "no step is paused\n");
    assert_eq!(stderr(&listed), note);
    // Waiting would never end: refused at once.
    assert_eq!(refused(&debug(&url, &["wait"]).await), note);
    let message = refused(&debug(&url, &["break", "charge"]).await);
    assert!(message.contains("no debugger"), "{message}");
    engine.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dashboard_that_is_not_there_or_no_url_fails_clearly() {
    // A port nothing listens on any more.
    let url = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    for args in [
        &["paused"][..],
        &["break", "charge"],
        &["continue", "buy-1"],
    ] {
        let message = refused(&debug(&url, args).await);
        assert!(
            message.starts_with(&format!("trailhead: cannot reach the dashboard at {url}: ")),
            "{args:?}: {message}"
        );
    }

    // Something else answers there: not a trailhead dashboard.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "my service" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let message = refused(&debug(&other, &["paused"]).await);
    assert!(
        message.contains(&format!(
            "the dashboard at {other}: no /api/debug there (404)"
        )),
        "{message}"
    );

    // No --url: a usage error; a bad one too.
    let none = bare(&["paused"]);
    assert_eq!(code(&none), 2);
    assert!(stderr(&none).contains("--url"), "{}", stderr(&none));
    let tls = bare(&["--url", "https://127.0.0.1:7420", "paused"]);
    assert_eq!(code(&tls), 2);
    let pattern = bare(&["--url", &url, "break", "charge["]);
    assert_eq!(code(&pattern), 2, "a bad step pattern is a usage error");
}
