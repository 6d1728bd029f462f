//! The dashboard's routes, called without a socket (`oneshot`): pages,
//! JSON, the live stream's events, actions and who may take them, the
//! debugger's state and commands, and what a hostile run id or `Host` gets.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;
use trailhead::debug::{Breakpoint, Resume};
use trailhead::{Engine, Error, RunId, RunStatus, workflow};
use trailhead_dashboard::{Actions, Dashboard};

async fn pack(n: u32) -> Result<u32, Error> {
    Ok(n * 2)
}

async fn unpack(packed: u32) -> Result<(), Error> {
    let _ = packed;
    Ok(())
}

async fn ship(n: u32) -> Result<u32, Error> {
    Err(Error::msg(format!(
        "no truck for {n}\ncaused by: the depot is closed"
    )))
}

workflow! {
    /// Packs, waits for approval, then passes the approved number on.
    pub workflow approve(n: u32) -> Result<u32, Error> {
        let packed = step pack(n);
        let go: u32 = signal "go";
        Ok(packed + go)
    }
}

workflow! {
    /// Packs, then fails to ship.
    pub workflow stranded(n: u32) -> Result<u32, Error> {
        let packed = step pack(n);
        let shipped = step ship(packed);
        Ok(shipped)
    }
}

workflow! {
    /// Packs (undone by unpacking), then fails to ship: compensated.
    pub workflow unshipped(n: u32) -> Result<u32, Error> {
        let packed = step pack(n).compensate(unpack);
        let shipped = step ship(packed);
        Ok(shipped)
    }
}

async fn quote(items: u32) -> Result<u32, Error> {
    Ok(items * 1_250)
}

async fn charge(cents: u32) -> Result<String, Error> {
    Ok(format!("pay-{cents}"))
}

async fn receipt(payment: String) -> Result<String, Error> {
    Ok(format!("receipt for {payment}"))
}

workflow! {
    /// Quotes, charges, writes the receipt: three steps to stop at.
    pub workflow checkout(items: u32) -> Result<String, Error> {
        let cents = step quote(items);
        let payment = step charge(cents);
        let done = step receipt(payment);
        Ok(done)
    }
}

async fn call(router: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn get(router: &Router, path: &str) -> (StatusCode, String) {
    call(router, Request::get(path).body(Body::empty()).unwrap()).await
}

fn post(path: &str, headers: &[(&str, &str)], json: &str) -> Request<Body> {
    let mut request = Request::post(path).header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Body::from(json.to_owned())).unwrap()
}

fn delete(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::delete(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Body::empty()).unwrap()
}

async fn json(router: &Router, request: Request<Body>) -> (StatusCode, serde_json::Value) {
    let (status, body) = call(router, request).await;
    let value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    (status, value)
}

async fn until_waiting(engine: &Engine, run: &RunId) {
    while engine.journal(run).await.unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn the_pages_show_runs_their_errors_and_health() {
    let engine = Engine::new();
    let failed = engine.start(stranded, 4).await.unwrap();
    let failed_id = failed.id().clone();
    failed.result().await.unwrap_err();
    let router = Dashboard::new(engine.clone()).router();

    let (status, list) = get(&router, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains(failed_id.as_str()), "{list}");
    assert!(list.contains("status-failed"), "{list}");
    let (_, filtered) = get(&router, "/?status=completed").await;
    assert!(!filtered.contains(failed_id.as_str()), "{filtered}");
    assert!(filtered.contains("No runs."));
    let (status, _) = get(&router, "/?status=sideways").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, page) = get(&router, &format!("/runs/{failed_id}")).await;
    assert_eq!(status, StatusCode::OK);
    // The error with its whole chain, and the failed step's own text.
    assert!(page.contains("caused by: the depot is closed"), "{page}");
    assert!(page.contains("data-state=\"failed\""), "{page}");
    assert!(page.contains("data-key=\"ship\""), "{page}");
    // An ended run's page opens no live stream, and offers no actions.
    assert!(page.contains("data-ended=\"true\""), "{page}");
    assert!(!page.contains("id=\"actions\""), "{page}");

    let (status, svg) = get(&router, &format!("/runs/{failed_id}/diagram.svg")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(svg.starts_with("<svg"), "{svg}");
    let (status, trace) = get(&router, &format!("/runs/{failed_id}/trace.json")).await;
    assert_eq!(status, StatusCode::OK);
    let trace: serde_json::Value = serde_json::from_str(&trace).unwrap();
    assert!(
        trace["traceEvents"].as_array().unwrap().len() >= 3,
        "{trace}"
    );
    let (status, json) = get(&router, &format!("/api/runs/{failed_id}")).await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["run"]["status"], "failed");
    assert_eq!(json["journal"].as_array().unwrap().len(), 2);
    assert_eq!(json["picture"]["nodes"][2]["state"]["state"], "failed");

    let (status, page) = get(&router, "/runs/nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("no run `nobody`"), "{page}");
    let (status, _) = get(&router, "/api/runs/nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&router, "/assets/../Cargo.toml").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, health) = get(&router, "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert!(health.contains("Stalled runs"), "{health}");
    assert!(health.contains("Schedules"), "{health}");
}

#[tokio::test]
async fn the_health_page_lists_the_schedules() {
    let engine = Engine::new();
    let every = trailhead::Schedule::every(Duration::from_secs(3600)).unwrap();
    engine
        .schedule("<hourly>", every, stranded, 2)
        .await
        .unwrap();
    engine.pause_schedule("<hourly>").await.unwrap();
    let router = Dashboard::new(engine.clone()).router();
    let (status, health) = get(&router, "/health").await;
    assert_eq!(status, StatusCode::OK);
    // The name escaped, the workflow, and the pause shown.
    assert!(health.contains("&lt;hourly&gt;"), "{health}");
    assert!(health.contains("<td>stranded</td>"), "{health}");
    assert!(health.contains("paused"), "{health}");
}

#[tokio::test]
async fn a_hostile_run_id_is_escaped_and_its_links_are_encoded() {
    let engine = Engine::new();
    let id = RunId::new("<script>alert(1)</script> a/b?c");
    engine
        .start_with_id(id.clone(), stranded, 1)
        .await
        .unwrap()
        .result()
        .await
        .unwrap_err();
    let router = Dashboard::new(engine).router();
    let (_, list) = get(&router, "/").await;
    assert!(!list.contains("<script>alert"), "{list}");
    assert!(
        list.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{list}"
    );
    let link = "/runs/%3Cscript%3Ealert%281%29%3C%2Fscript%3E%20a%2Fb%3Fc";
    assert!(list.contains(link), "{list}");
    let (status, page) = get(&router, link).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(!page.contains("<script>alert"), "{page}");
}

#[tokio::test]
async fn the_live_stream_sends_the_run_then_its_end() {
    // Live attempts from the start: the wait for the signal shows running.
    let engine = Engine::builder().live_pictures(true).build();
    let handle = engine.start(approve, 1).await.unwrap();
    let run = handle.id().clone();
    until_waiting(&engine, &run).await;
    let router = Dashboard::new(engine.clone())
        .refresh_every(Duration::from_millis(10))
        .router();
    let stream = tokio::spawn({
        let router = router.clone();
        let path = format!("/runs/{run}/live");
        async move { get(&router, &path).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    engine.signal(&run, "go", &5_u32).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), 7);
    let (status, events) = tokio::time::timeout(Duration::from_secs(10), stream)
        .await
        .expect("the stream ends when the run does")
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    let updates: Vec<serde_json::Value> = events
        .split("\n\n")
        .filter(|event| event.starts_with("event: update"))
        .map(|event| serde_json::from_str(event.split_once("data: ").unwrap().1).unwrap())
        .collect();
    let first = &updates[0];
    assert_eq!(first["status"], "running");
    for part in ["run-header", "diagram", "journal", "children"] {
        assert!(
            first["parts"][part].is_string(),
            "the first update has every part: {first}"
        );
    }
    assert!(
        first["parts"]["diagram"]
            .as_str()
            .unwrap()
            .contains("data-state=\"running\"")
    );
    let last = updates.last().unwrap();
    assert_eq!(last["status"], "completed");
    assert_eq!(last["ended"], true);
    assert!(
        events.trim_end().ends_with("event: end\ndata: {}"),
        "{events}"
    );
}

#[tokio::test]
async fn a_read_only_dashboard_refuses_every_action() {
    let engine = Engine::new();
    let handle = engine.start(approve, 1).await.unwrap();
    let run = handle.id().clone();
    until_waiting(&engine, &run).await;
    let router = Dashboard::new(engine.clone()).router();
    let (_, page) = get(&router, &format!("/runs/{run}")).await;
    assert!(
        !page.contains("id=\"actions\""),
        "no controls on a read-only page"
    );
    let headers = [("x-trailhead-action", "1")];
    let (status, body) = call(
        &router,
        post(&format!("/runs/{run}/cancel"), &headers, "{}"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("read-only"), "{body}");
    let signal = post(
        &format!("/runs/{run}/signal"),
        &headers,
        r#"{"name":"go","value":1}"#,
    );
    assert_eq!(call(&router, signal).await.0, StatusCode::FORBIDDEN);
    let record = engine.run_record(&run).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Running);
    handle.cancel();

    // A finished run: no fork buttons, and a fork is refused.
    let failed = engine.start(stranded, 4).await.unwrap();
    let failed_id = failed.id().clone();
    failed.result().await.unwrap_err();
    let (_, page) = get(&router, &format!("/runs/{failed_id}")).await;
    assert!(page.contains("data-key=\"ship\""), "{page}");
    assert!(!page.contains("fork from here"), "{page}");
    assert!(!page.contains("data-fork"), "{page}");
    let fork = post(
        &format!("/runs/{failed_id}/fork"),
        &headers,
        r#"{"from":"ship"}"#,
    );
    let (status, body) = call(&router, fork).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("read-only"), "{body}");
    let runs = engine.store().list_runs(None).await.unwrap();
    assert!(
        runs.iter().all(|run| !run.id.as_str().contains("~fork")),
        "nothing forked"
    );
}

#[tokio::test]
async fn allowed_actions_need_the_action_header_and_cancel_and_signal() {
    let engine = Engine::new();
    let router = Dashboard::new(engine.clone())
        .actions(Actions::Allowed)
        .router();

    let cancelled = engine.start(approve, 1).await.unwrap();
    let run = cancelled.id().clone();
    until_waiting(&engine, &run).await;
    let (_, page) = get(&router, &format!("/runs/{run}")).await;
    assert!(page.contains("id=\"actions\""), "{page}");
    assert!(
        page.contains("<option value=\"go\">"),
        "the signal the run waits for: {page}"
    );
    // A form another site's page could post: no action header.
    let (status, _) = call(&router, post(&format!("/runs/{run}/cancel"), &[], "{}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let headers = [("x-trailhead-action", "1")];
    let (status, body) = call(
        &router,
        post(&format!("/runs/{run}/cancel"), &headers, "{}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    cancelled.result().await.unwrap_err();
    let record = engine.run_record(&run).await.unwrap().unwrap();
    assert!(
        matches!(
            record.status(),
            RunStatus::Cancelled | RunStatus::Compensated
        ),
        "{:?}",
        record.status()
    );

    let signalled = engine.start(approve, 2).await.unwrap();
    let run = signalled.id().clone();
    until_waiting(&engine, &run).await;
    let body = r#"{"name":"go","value":10}"#;
    let (status, answer) = call(
        &router,
        post(&format!("/runs/{run}/signal"), &headers, body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(signalled.result().await.unwrap(), 14);
    let (status, answer) = call(&router, post("/runs/nobody/signal", &headers, body)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        answer.contains("nobody"),
        "the error names the run: {answer}"
    );
}

#[tokio::test]
async fn a_token_dashboard_acts_only_with_its_token() {
    let engine = Engine::new();
    let actions = Actions::Token("s3cret".to_owned());
    assert_eq!(
        format!("{actions:?}"),
        "Token(..)",
        "the token never shows in a log"
    );
    let router = Dashboard::new(engine.clone()).actions(actions).router();
    let handle = engine.start(approve, 3).await.unwrap();
    let run = handle.id().clone();
    until_waiting(&engine, &run).await;
    let path = format!("/runs/{run}/signal");
    let body = r#"{"name":"go","value":1}"#;
    for wrong in [
        None,
        Some("Bearer s3cre"),
        Some("Bearer s3cret2"),
        Some("s3cret"),
    ] {
        let mut headers = vec![("x-trailhead-action", "1")];
        if let Some(wrong) = wrong {
            headers.push(("authorization", wrong));
        }
        let (status, _) = call(&router, post(&path, &headers, body)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{wrong:?}");
    }
    let headers = [
        ("x-trailhead-action", "1"),
        ("authorization", "Bearer s3cret"),
    ];
    let (status, answer) = call(&router, post(&path, &headers, body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(handle.result().await.unwrap(), 7);
}

#[tokio::test]
async fn a_nested_dashboard_links_under_its_path() {
    let engine = Engine::new();
    engine
        .start(stranded, 2)
        .await
        .unwrap()
        .result()
        .await
        .unwrap_err();
    let app = Router::new().nest("/ops/trailhead", Dashboard::new(engine).router());
    let (status, list) = get(&app, "/ops/trailhead").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list.contains("href=\"/ops/trailhead/assets/style.css\""),
        "{list}"
    );
    assert!(list.contains("href=\"/ops/trailhead/runs/"), "{list}");
    assert!(list.contains("href=\"/ops/trailhead/health\""), "{list}");
    assert!(
        list.contains("action=\"/ops/trailhead\""),
        "the filter form: {list}"
    );
}

/// Sends a raw request with `host` to `address` and gives the status line.
async fn status_line(address: std::net::SocketAddr, host: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn served_on_loopback_it_answers_loopback_hosts_only() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(Dashboard::new(Engine::new()).serve(listener));
    assert_eq!(
        status_line(address, &address.to_string()).await,
        "HTTP/1.1 200 OK"
    );
    assert_eq!(
        status_line(address, &format!("localhost:{}", address.port())).await,
        "HTTP/1.1 200 OK"
    );
    // DNS rebinding: a name of the attacker's that resolves to 127.0.0.1.
    assert_eq!(
        status_line(address, "rebind.attacker.example:7420").await,
        "HTTP/1.1 421 Misdirected Request"
    );
}

#[tokio::test]
async fn a_finished_run_forks_from_a_step_of_its_journal() {
    let engine = Engine::new();
    let router = Dashboard::new(engine.clone())
        .actions(Actions::Allowed)
        .router();
    let failed = engine.start(stranded, 4).await.unwrap();
    let run = failed.id().clone();
    failed.result().await.unwrap_err();
    let before = engine.journal(&run).await.unwrap();
    assert_eq!(before.len(), 2, "pack, then ship failed");
    let headers = [("x-trailhead-action", "1")];
    let path = format!("/runs/{run}/fork");

    // Without the action header, as another site's form would post it.
    let (status, _) = call(&router, post(&path, &[], r#"{"from":"ship"}"#)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, answer) = call(&router, post(&path, &headers, r#"{"from":"ship"}"#)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let forked = format!("{run}~fork-1");
    assert_eq!(
        answer,
        serde_json::json!({ "forked": forked, "from": run.as_str(), "at": "ship", "copied": 1 })
    );
    let fork_id = RunId::new(forked.as_str());
    let record = engine.run_record(&fork_id).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Running, "unfinished, to resume");
    assert_eq!(record.workflow, "stranded");
    let copied = engine.journal(&fork_id).await.unwrap();
    assert_eq!(copied.len(), 1);
    assert_eq!(copied[0].key.to_string(), "pack");
    assert_eq!(copied[0].outcome, before[0].outcome);
    // The original is untouched.
    assert_eq!(engine.journal(&run).await.unwrap(), before);
    let original = engine.run_record(&run).await.unwrap().unwrap();
    assert_eq!(original.status(), RunStatus::Failed);
    // The next fork takes the next number.
    let (status, answer) = call(&router, post(&path, &headers, r#"{"from":"pack"}"#)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer.contains(&format!("\"{run}~fork-2\"")), "{answer}");
    assert!(answer.contains("\"copied\":0"), "{answer}");

    // A key that does not parse.
    let (status, answer) = call(&router, post(&path, &headers, r#"{"from":"ship["}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let message = answer["error"].as_str().unwrap();
    assert!(message.contains("invalid step key `ship[`"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
    // A key the journal lacks.
    let (status, answer) = call(&router, post(&path, &headers, r#"{"from":"print"}"#)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer.contains("has no journaled step `print` to fork from"),
        "{answer}"
    );
    // No such run.
    let (status, answer) = call(
        &router,
        post("/runs/nobody/fork", &headers, r#"{"from":"ship"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert!(answer.contains("no run `nobody`"), "{answer}");
    // A run still going.
    let waiting = engine.start(approve, 1).await.unwrap();
    let running = waiting.id().clone();
    until_waiting(&engine, &running).await;
    let (status, answer) = call(
        &router,
        post(
            &format!("/runs/{running}/fork"),
            &headers,
            r#"{"from":"pack"}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer.contains(&format!(
            "run `{running}` has not finished: only a finished run is forked"
        )),
        "{answer}"
    );
    // The running run's page has its controls, and no fork buttons yet.
    let (_, page) = get(&router, &format!("/runs/{running}")).await;
    assert!(page.contains("id=\"actions\""), "{page}");
    assert!(!page.contains("fork from here"), "{page}");
    waiting.cancel();
}

#[tokio::test]
async fn a_finished_runs_page_has_a_fork_button_on_each_step_row() {
    let engine = Engine::new();
    let router = Dashboard::new(engine.clone())
        .actions(Actions::Allowed)
        .router();
    let handle = engine.start(unshipped, 2).await.unwrap();
    let run = handle.id().clone();
    handle.result().await.unwrap_err();
    let keys: Vec<String> = engine
        .journal(&run)
        .await
        .unwrap()
        .iter()
        .map(|entry| entry.key.to_string())
        .collect();
    assert_eq!(keys, ["pack", "ship", "undo:pack"]);
    let (status, page) = get(&router, &format!("/runs/{run}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("data-fork=\"/runs/{run}/fork\"")),
        "{page}"
    );
    assert!(page.contains("data-runs=\"/runs/\""), "{page}");
    for step in ["pack", "ship"] {
        assert!(
            page.contains(&format!(
                "<button class=\"fork\" type=\"button\" data-from=\"{step}\""
            )),
            "a button on row {step}: {page}"
        );
    }
    assert_eq!(page.matches("fork from here").count(), 2, "{page}");
    assert!(page.contains("data-key=\"undo:pack\""), "{page}");
    assert!(!page.contains("data-from=\"undo:pack\""), "{page}");
    // No cancel or signal controls on a finished run.
    assert!(!page.contains("id=\"actions\""), "{page}");

    // With a token too; the page says the script must ask for it.
    let router = Dashboard::new(engine.clone())
        .actions(Actions::Token("s3cret".to_owned()))
        .router();
    let (_, page) = get(&router, &format!("/runs/{run}")).await;
    assert!(page.contains("data-token=\"true\""), "{page}");
    assert_eq!(page.matches("fork from here").count(), 2, "{page}");
    let path = format!("/runs/{run}/fork");
    let body = r#"{"from":"ship"}"#;
    let (status, _) = call(&router, post(&path, &[("x-trailhead-action", "1")], body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let headers = [
        ("x-trailhead-action", "1"),
        ("authorization", "Bearer s3cret"),
    ];
    let (status, answer) = call(&router, post(&path, &headers, body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // A nested dashboard's buttons post under its path.
    let app = Router::new().nest(
        "/ops",
        Dashboard::new(engine).actions(Actions::Allowed).router(),
    );
    let (_, page) = get(&app, &format!("/ops/runs/{run}")).await;
    assert!(
        page.contains(&format!("data-fork=\"/ops/runs/{run}/fork\"")),
        "{page}"
    );
    assert!(page.contains("data-runs=\"/ops/runs/\""), "{page}");
}

const ACT: [(&str, &str); 1] = [("x-trailhead-action", "1")];

#[tokio::test]
async fn the_debugger_pauses_a_run_and_the_dashboard_steps_it_to_its_end() {
    let engine = Engine::builder().debugger(true).build();
    let router = Dashboard::new(engine.clone())
        .actions(Actions::Allowed)
        .router();
    let (status, state) = json(
        &router,
        Request::get("/api/debug").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        state,
        serde_json::json!({ "enabled": true, "breakpoints": [], "paused": [] })
    );

    // `when` is before unless given.
    let (status, added) = json(
        &router,
        post("/api/debug/breakpoints", &ACT, r#"{"steps":"charge"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added, serde_json::json!({ "id": 1 }));
    let (status, added) = json(
        &router,
        post(
            "/api/debug/breakpoints",
            &ACT,
            r#"{"steps":"pack[*]","when":"failed","workflow":"stranded","run":"r-1"}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let second = added["id"].as_u64().unwrap();
    let (_, state) = json(
        &router,
        Request::get("/api/debug").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        state["breakpoints"],
        serde_json::json!([
            { "id": 1, "steps": "charge", "when": "before", "workflow": null, "run": null },
            { "id": second, "steps": "pack[*]", "when": "failed", "workflow": "stranded", "run": "r-1" },
        ])
    );

    let handle = engine.start(checkout, 2).await.unwrap();
    let run = handle.id().clone();
    let debugger = engine.debugger().unwrap();
    let pause = debugger.wait_for_pause(Some(&run)).await;
    assert_eq!(pause.key.to_string(), "charge");
    let (_, state) = json(
        &router,
        Request::get("/api/debug").body(Body::empty()).unwrap(),
    )
    .await;
    let paused = state["paused"].as_array().unwrap();
    assert_eq!(paused.len(), 1, "{state}");
    assert_eq!(paused[0]["run"], run.as_str());
    assert_eq!(paused[0]["workflow"], "checkout");
    assert_eq!(paused[0]["when"], "before");
    assert_eq!(paused[0]["arguments"], serde_json::json!(["2500"]));
    assert_eq!(
        paused[0]["journaled"],
        serde_json::json!([["quote", "2500"]])
    );

    // The run page: the paused panel with its buttons, the node marked, the
    // breakpoint form.
    let (status, page) = get(&router, &format!("/runs/{run}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<section class=\"paused-panel\">"), "{page}");
    assert!(
        page.contains("data-key=\"charge\" data-when=\"before\""),
        "{page}"
    );
    assert!(page.contains("before it starts"), "{page}");
    assert!(
        page.contains("<ol class=\"arguments\"><li><pre>2500</pre></li></ol>"),
        "{page}"
    );
    assert!(page.contains("1 entry"), "{page}");
    assert!(
        page.contains(&format!("data-action=\"/runs/{run}/debug\"")),
        "{page}"
    );
    for resume in ["continue", "step", "step_over"] {
        assert!(
            page.contains(&format!("data-resume=\"{resume}\"")),
            "{resume}: {page}"
        );
    }
    assert_eq!(
        page.matches(" paused\" data-node=").count(),
        1,
        "one node marked: {page}"
    );
    assert!(
        page.contains(&format!(
            "paused\" data-node=\"{}\"",
            pause.node.as_deref().unwrap()
        )),
        "{page}"
    );
    assert!(
        page.contains("<form id=\"breakpoint\" data-action=\"/api/debug/breakpoints\""),
        "{page}"
    );
    let (_, svg) = get(&router, &format!("/runs/{run}/diagram.svg")).await;
    assert_eq!(svg.matches(" paused\"").count(), 1, "{svg}");

    // Step: to the next step, receipt, before it starts.
    let path = format!("/runs/{run}/debug");
    let (status, answer) = json(&router, post(&path, &ACT, r#"{"resume":"step"}"#)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, serde_json::json!({ "resumed": run.as_str() }));
    let pause = debugger.wait_for_pause(Some(&run)).await;
    assert_eq!(pause.key.to_string(), "receipt");
    let (_, state) = json(
        &router,
        Request::get("/api/debug").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        state["paused"][0]["arguments"],
        serde_json::json!(["\"pay-2500\""])
    );
    let (_, page) = get(&router, &format!("/runs/{run}")).await;
    assert!(page.contains("data-key=\"receipt\""), "{page}");
    assert!(page.contains("2 entries"), "{page}");

    // Continue: no breakpoint is left on the way, the run ends.
    let (status, answer) = json(&router, post(&path, &ACT, r#"{"resume":"continue"}"#)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(handle.result().await.unwrap(), "receipt for pay-2500");
    let (_, state) = json(
        &router,
        Request::get("/api/debug").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(state["paused"], serde_json::json!([]));
    let (_, page) = get(&router, &format!("/runs/{run}")).await;
    assert!(!page.contains("paused-panel"), "{page}");

    // A run not paused, a resume that does not read.
    let (status, answer) = json(&router, post(&path, &ACT, r#"{"resume":"continue"}"#)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["error"], format!("run `{run}` is not paused"));
    let (status, answer) = json(&router, post(&path, &ACT, r#"{"resume":"rewind"}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("rewind"),
        "{answer}"
    );

    // A pattern that does not parse, a `when` that is none.
    let (status, answer) = json(
        &router,
        post("/api/debug/breakpoints", &ACT, r#"{"steps":"seat[x]"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.starts_with("`seat[x]` is not a step pattern"),
        "{error}"
    );
    let (status, answer) = json(
        &router,
        post(
            "/api/debug/breakpoints",
            &ACT,
            r#"{"steps":"a","when":"sometimes"}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");

    // Removing: once, then there is none.
    let (status, answer) = json(&router, delete("/api/debug/breakpoints/1", &ACT)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, serde_json::json!({ "removed": 1 }));
    let (status, answer) = json(&router, delete("/api/debug/breakpoints/1", &ACT)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert!(answer["error"].is_string(), "{answer}");
    let (status, _) = json(&router, delete("/api/debug/breakpoints/one", &ACT)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(debugger.breakpoints().len(), 1, "the second is left");
}

#[tokio::test]
async fn the_debugger_is_readable_but_its_commands_are_actions() {
    let engine = Engine::builder().debugger(true).build();
    let debugger = engine.debugger().unwrap().clone();
    debugger.break_at(Breakpoint::after("quote".parse().unwrap()));
    let handle = engine.start(checkout, 1).await.unwrap();
    let run = handle.id().clone();
    debugger.wait_for_pause(Some(&run)).await;
    let path = format!("/runs/{run}/debug");
    let resume = r#"{"resume":"continue"}"#;
    let add = r#"{"steps":"charge"}"#;

    let router = Dashboard::new(engine.clone()).router();
    let (status, state) = json(
        &router,
        Request::get("/api/debug").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(state["paused"][0]["when"], "after");
    assert_eq!(state["paused"][0]["output"], "1250");
    // The panel shows; no buttons, no breakpoint form.
    let (_, page) = get(&router, &format!("/runs/{run}")).await;
    assert!(page.contains("paused-panel"), "{page}");
    assert!(page.contains("after it completed"), "{page}");
    assert!(page.contains("<pre class=\"output\">1250</pre>"), "{page}");
    assert!(!page.contains("data-resume"), "{page}");
    assert!(!page.contains("id=\"breakpoint\""), "{page}");
    for request in [
        post("/api/debug/breakpoints", &ACT, add),
        delete("/api/debug/breakpoints/1", &ACT),
        post(&path, &ACT, resume),
    ] {
        let (status, answer) = json(&router, request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("read-only"),
            "{answer}"
        );
    }
    // The health page lists the run as paused.
    let (_, health) = get(&router, "/health").await;
    let paused = health.split("Paused runs").nth(1).unwrap();
    let paused = paused.split("<h2>").next().unwrap();
    assert!(paused.contains(run.as_str()), "{health}");
    assert!(paused.contains("<code>quote</code>"), "{health}");

    // Allowed: the action header is needed.
    let router = Dashboard::new(engine.clone())
        .actions(Actions::Allowed)
        .router();
    for request in [
        post("/api/debug/breakpoints", &[], add),
        delete("/api/debug/breakpoints/1", &[]),
        post(&path, &[], resume),
    ] {
        let (status, answer) = json(&router, request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("x-trailhead-action"),
            "{answer}"
        );
    }
    // A token: the header and the token.
    let router = Dashboard::new(engine.clone())
        .actions(Actions::Token("s3cret".to_owned()))
        .router();
    let (_, page) = get(&router, &format!("/runs/{run}")).await;
    assert!(page.contains("data-resume=\"step\""), "{page}");
    for request in [
        post("/api/debug/breakpoints", &ACT, add),
        delete("/api/debug/breakpoints/1", &ACT),
        post(&path, &ACT, resume),
    ] {
        let (status, answer) = json(&router, request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    }
    assert_eq!(debugger.breakpoints().len(), 1, "nothing added or removed");
    assert_eq!(debugger.paused().len(), 1, "still paused");
    let with_token = [
        ("x-trailhead-action", "1"),
        ("authorization", "Bearer s3cret"),
    ];
    let (status, answer) = json(&router, post(&path, &with_token, resume)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(handle.result().await.unwrap(), "receipt for pay-1250");
}

#[tokio::test]
async fn an_engine_without_a_debugger_says_so() {
    let engine = Engine::new();
    let router = Dashboard::new(engine.clone())
        .actions(Actions::Allowed)
        .router();
    let (status, state) = json(
        &router,
        Request::get("/api/debug").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        state,
        serde_json::json!({ "enabled": false, "breakpoints": [], "paused": [] })
    );
    let handle = engine.start(approve, 1).await.unwrap();
    let run = handle.id().clone();
    until_waiting(&engine, &run).await;
    for request in [
        post("/api/debug/breakpoints", &ACT, r#"{"steps":"charge"}"#),
        delete("/api/debug/breakpoints/1", &ACT),
        post(&format!("/runs/{run}/debug"), &ACT, r#"{"resume":"step"}"#),
    ] {
        let (status, answer) = json(&router, request).await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        assert_eq!(
            answer["error"],
            "this engine has no debugger (build it with `EngineBuilder::debugger(true)`)"
        );
    }
    // The run's controls, without a breakpoint form or a panel.
    let (_, page) = get(&router, &format!("/runs/{run}")).await;
    assert!(page.contains("id=\"actions\""), "{page}");
    assert!(!page.contains("id=\"breakpoint\""), "{page}");
    assert!(!page.contains("paused-panel"), "{page}");
    handle.cancel();
}

#[tokio::test]
async fn the_live_stream_shows_a_pause_come_and_go() {
    let engine = Engine::builder().debugger(true).build();
    let debugger = engine.debugger().unwrap().clone();
    debugger.break_at(Breakpoint::before("charge".parse().unwrap()));
    let handle = engine.start(checkout, 3).await.unwrap();
    let run = handle.id().clone();
    let router = Dashboard::new(engine.clone())
        .actions(Actions::Allowed)
        .refresh_every(Duration::from_millis(10))
        .router();
    let stream = tokio::spawn({
        let router = router.clone();
        let path = format!("/runs/{run}/live");
        async move { get(&router, &path).await }
    });
    debugger.wait_for_pause(Some(&run)).await;
    // Long enough for the stream to read the run paused.
    tokio::time::sleep(Duration::from_millis(200)).await;
    debugger.resume(&run, Resume::Continue).unwrap();
    handle.result().await.unwrap();
    let (_, events) = tokio::time::timeout(Duration::from_secs(10), stream)
        .await
        .expect("the stream ends when the run does")
        .unwrap();
    let updates: Vec<serde_json::Value> = events
        .split("\n\n")
        .filter(|event| event.starts_with("event: update"))
        .map(|event| serde_json::from_str(event.split_once("data: ").unwrap().1).unwrap())
        .collect();
    let shown = updates
        .iter()
        .position(|update| {
            update["parts"]["paused"]
                .as_str()
                .is_some_and(|html| html.contains("paused-panel") && html.contains("data-resume"))
        })
        .unwrap_or_else(|| panic!("an update shows the pause: {updates:?}"));
    assert_eq!(
        updates[shown]["paused"][0]["key"], "charge",
        "{}",
        updates[shown]
    );
    assert!(
        updates[shown]["parts"]["diagram"]
            .as_str()
            .is_some_and(|svg| svg.contains(" paused\"")),
        "the diagram marks the node: {}",
        updates[shown]
    );
    let hidden = updates[shown + 1..]
        .iter()
        .find(|update| update["parts"]["paused"] == "")
        .unwrap_or_else(|| panic!("a later update hides it: {updates:?}"));
    assert_eq!(hidden["paused"], serde_json::json!([]));
    assert_eq!(updates.last().unwrap()["status"], "completed");
}

/// The state picture `picture` gives the node of step site `site`.
fn state_at(picture: &serde_json::Value, site: &str) -> String {
    let node = picture["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["site"] == site)
        .unwrap_or_else(|| panic!("no node {site}: {picture}"));
    node["state"]["state"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_finished_runs_timeline_steps_through_its_journal() {
    let engine = Engine::new();
    let failed = engine.start(stranded, 4).await.unwrap();
    let run = failed.id().clone();
    failed.result().await.unwrap_err();
    let journal = engine.journal(&run).await.unwrap();
    let router = Dashboard::new(engine.clone()).router();

    let (status, timeline) = json(
        &router,
        Request::get(format!("/api/runs/{run}/timeline"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{timeline}");
    let events = timeline["events"].as_array().unwrap();
    assert_eq!(events.len(), 2 * journal.len(), "a start and an end each");
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|event| {
            (
                event["key"].as_str().unwrap(),
                event["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("pack", "started"),
            ("pack", "completed"),
            ("ship", "started"),
            ("ship", "failed")
        ]
    );
    assert_eq!(events[1]["value"], "8");
    assert_eq!(events[1]["index"], 1);
    assert_eq!(timeline["failure"], 3);

    // After pack completed: ship not reached yet, the run still going.
    let (status, early) = json(
        &router,
        Request::get(format!("/api/runs/{run}/timeline/1"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{early}");
    assert_eq!(early["index"], 1);
    assert_eq!(early["events"], 4);
    assert_eq!(early["event"]["kind"], "completed");
    assert_eq!(early["label"], "event 2 of 4: pack — completed, 8");
    assert_eq!(state_at(&early["picture"], "pack"), "completed");
    assert_eq!(state_at(&early["picture"], "ship"), "not_reached");
    let svg = early["svg"].as_str().unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.contains("data-state=\"not_reached\""), "{svg}");
    assert!(!svg.contains("data-state=\"failed\""), "{svg}");
    // After ship started, and at the end.
    let (_, started) = json(
        &router,
        Request::get(format!("/api/runs/{run}/timeline/2"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(state_at(&started["picture"], "ship"), "running");
    let (_, last) = json(
        &router,
        Request::get(format!("/api/runs/{run}/timeline/3"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(state_at(&last["picture"], "ship"), "failed");
    assert!(
        last["label"]
            .as_str()
            .unwrap()
            .starts_with("event 4 of 4: ship — failed, no truck for 8 caused by:"),
        "one line: {last}"
    );

    // Past the end, not a number, no such run.
    for (path, want) in [
        (format!("/api/runs/{run}/timeline/4"), StatusCode::NOT_FOUND),
        (
            format!("/api/runs/{run}/timeline/last"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/runs/nobody/timeline".to_owned(),
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/runs/nobody/timeline/0".to_owned(),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, answer) =
            json(&router, Request::get(&path).body(Body::empty()).unwrap()).await;
        assert_eq!(status, want, "{path}: {answer}");
        assert!(answer["error"].is_string(), "{path}: {answer}");
    }
}

#[tokio::test]
async fn an_ended_runs_page_has_the_time_travel_control() {
    let engine = Engine::new();
    let router = Dashboard::new(engine.clone()).router();
    let failed = engine.start(stranded, 4).await.unwrap();
    let run = failed.id().clone();
    failed.result().await.unwrap_err();
    let (_, page) = get(&router, &format!("/runs/{run}")).await;
    assert!(
        page.contains(&format!(
            "<div id=\"time-travel\" data-timeline=\"/api/runs/{run}/timeline\" data-at=\"3\">"
        )),
        "{page}"
    );
    assert!(page.contains("id=\"travel-back\""), "{page}");
    assert!(page.contains("id=\"travel-forward\""), "{page}");
    assert!(
        page.contains("type=\"range\" min=\"0\" max=\"3\" step=\"1\" value=\"3\""),
        "{page}"
    );
    assert!(
        page.contains("<button id=\"travel-failure\" type=\"button\" data-at=\"3\""),
        "{page}"
    );
    assert!(page.contains("Jump to the failure"), "{page}");
    assert!(
        page.contains(
            "<p id=\"travel-event\" role=\"status\">event 4 of 4: ship — failed, no truck for 8"
        ),
        "{page}"
    );

    // A completed run: no failure to jump to.
    let done = engine.start(checkout, 1).await.unwrap();
    let completed = done.id().clone();
    done.result().await.unwrap();
    let (_, page) = get(&router, &format!("/runs/{completed}")).await;
    assert!(
        page.contains("max=\"5\""),
        "three steps, six events: {page}"
    );
    assert!(!page.contains("travel-failure"), "{page}");

    // A run still going has none.
    let handle = engine.start(approve, 1).await.unwrap();
    let running = handle.id().clone();
    until_waiting(&engine, &running).await;
    let (_, page) = get(&router, &format!("/runs/{running}")).await;
    assert!(!page.contains("time-travel"), "{page}");
    handle.cancel();

    // Nested, the control fetches under the dashboard's path.
    let app = Router::new().nest("/ops", Dashboard::new(engine).router());
    let (_, page) = get(&app, &format!("/ops/runs/{run}")).await;
    assert!(
        page.contains(&format!("data-timeline=\"/ops/api/runs/{run}/timeline\"")),
        "{page}"
    );
    let (status, _) = get(&app, &format!("/ops/api/runs/{run}/timeline/0")).await;
    assert_eq!(status, StatusCode::OK);
}
