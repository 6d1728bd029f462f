//! `trailhead serve`: the dashboard of a store another process fills,
//! read-only unless told otherwise.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use crate::support;

/// The dashboard, served by the binary on a free port, and its address.
struct Served {
    child: Child,
    address: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailhead"))
        .arg("serve")
        .args(args)
        .args(["--addr", "127.0.0.1:0"])
        .env_remove("TRAILHEAD_STORE")
        .env_remove("TRAILHEAD_DASHBOARD_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("serve said where it listens: {line}"))
        .to_owned();
    assert!(
        line.contains("read-only") || line.contains("actions"),
        "{line}"
    );
    Served { child, address }
}

/// `method path` on the dashboard: the status code and the body.
fn request(served: &Served, method: &str, path: &str, headers: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(&served.address).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: 2\r\n\
         Content-Type: application/json\r\n{headers}\r\n{{}}",
        served.address
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    (status, answer)
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_shows_the_stores_runs_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    support::fill(&path).await;
    let served = serve(&[path.to_str().unwrap()]);
    let (status, list) = request(&served, "GET", "/", "");
    assert_eq!(status, 200, "{list}");
    for run in ["buy-1", "buy-2", "order-1", "buy-3"] {
        assert!(list.contains(&format!("/runs/{run}\"")), "{run}: {list}");
    }
    let (status, page) = request(&served, "GET", "/runs/buy-2", "");
    assert_eq!(status, 200);
    assert!(page.contains("card declined"), "{page}");
    let (status, refused) = request(
        &served,
        "POST",
        "/runs/buy-2/cancel",
        "x-trailhead-action: 1\r\n",
    );
    assert_eq!(status, 403, "{refused}");
    assert!(refused.contains("read-only"), "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_with_a_token_cancels_a_run_only_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let engine = support::engine(&path);
    let handle = engine
        .start_with_id(
            trailhead::RunId::new("review-9"),
            support::review,
            "spec".to_owned(),
        )
        .await
        .unwrap();
    let served = serve(&["--store", path.to_str().unwrap(), "--token", "t0ken"]);
    let (status, _) = request(
        &served,
        "POST",
        "/runs/review-9/cancel",
        "x-trailhead-action: 1\r\n",
    );
    assert_eq!(status, 401);
    let (status, answer) = request(
        &served,
        "POST",
        "/runs/review-9/cancel",
        "x-trailhead-action: 1\r\nAuthorization: Bearer t0ken\r\n",
    );
    assert_eq!(status, 200, "{answer}");
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), handle.result())
        .await
        .expect("the run's worker hears of the cancel");
    assert!(ended.is_err(), "the run was cancelled");
}

#[test]
fn serve_without_a_store_or_on_a_missing_file_fails_clearly() {
    let missing = support::trailhead(&["serve", "/nonexistent/runs.db", "--addr", "127.0.0.1:0"]);
    assert_eq!(support::code(&missing), 4, "{}", support::stderr(&missing));
    let none = support::trailhead(&["serve", "--addr", "127.0.0.1:0"]);
    assert_eq!(support::code(&none), 2);
}
