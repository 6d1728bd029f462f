//! A run's throughput with its dashboard page open (issue 12): a fan-out of
//! 10,000 trivial steps at `parallel(limit = 64)`, on the memory store and
//! on SQLite, each sample either with nobody looking or with the dashboard
//! following the run, in the same run of the bench.
//!
//! `cargo bench -p trailhead-benches --bench dashboard` (a plain binary:
//! each sample is a whole run with its own engine, store and dashboard).
//!
//! Every sample builds a fresh engine (a fresh SQLite file in a temporary
//! folder), serves its dashboard with `Dashboard::serve` on a free loopback
//! port at the default refresh (250 ms), starts the run, and times it from
//! `start` to its result. In an **open** sample a client loads the run's
//! page and then follows its live stream (`/runs/{id}/live`, server-sent
//! events) until the stream ends, as a browser tab would: the dashboard
//! reads the run's record, whole journal and picture on every refresh,
//! renders the parts, and turns the engine's live attempt table on. A
//! **closed** sample serves the dashboard but nobody opens it. Samples
//! alternate closed/open, the order flipping each round.
//!
//! Each sample checks its work: the run's output (the sum of `i + 1`), and
//! for an open sample that the client got the run page, at least one live
//! update and the stream's end. Any wrong result panics.
//!
//! Arguments (after `--`): `rounds=N` (default 5).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use trailhead::dashboard::Dashboard;
use trailhead::{Engine, RunId, SqliteStore, workflow};

use common::{inc, runtime, sum_of_inc};

/// Items in the fan-out.
const ITEMS: u64 = 10_000;

workflow! {
    /// `inc(i)` for every `i` in `0..n`, 64 at a time.
    workflow fan_out(n: u64) -> Result<u64, trailhead::Error> {
        let outputs = parallel(limit = 64) for i in 0..n {
            step inc(i)
        };
        Ok(outputs.iter().sum())
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Memory,
    Sqlite,
}

/// What a client following the run saw.
#[derive(Debug)]
struct Followed {
    page_bytes: usize,
    updates: usize,
    ended: bool,
}

/// Loads run `run`'s page, then follows its live stream until it ends.
fn follow(address: std::net::SocketAddr, run: &str) -> Followed {
    let get = |path: &str| {
        let mut stream = TcpStream::connect(address).expect("the dashboard answers");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    let page = get(&format!("/runs/{run}"));
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let events = get(&format!("/runs/{run}/live"));
    Followed {
        page_bytes: page.len(),
        updates: events.matches("event: update").count(),
        ended: events.contains("event: end"),
    }
}

/// One sample: the run's steps per second, and what its follower saw.
fn sample(kind: Kind, open: bool, round: usize) -> (f64, Option<Followed>) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let engine = match kind {
            Kind::Memory => Engine::new(),
            Kind::Sqlite => Engine::builder()
                .store(SqliteStore::open(dir.path().join("runs.db")).unwrap())
                .build(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(Dashboard::new(engine.clone()).serve(listener));
        let id = format!("fan-{round}-{open}");
        let began = Instant::now();
        let handle = engine
            .start_with_id(RunId::new(id.as_str()), fan_out, ITEMS)
            .await
            .unwrap();
        let follower = open.then(|| {
            let id = id.clone();
            tokio::task::spawn_blocking(move || follow(address, &id))
        });
        let sum = handle.result().await.unwrap();
        let took = began.elapsed();
        assert_eq!(sum, sum_of_inc(ITEMS));
        let followed = match follower {
            Some(follower) => {
                let followed = follower.await.unwrap();
                assert!(
                    followed.page_bytes > 0 && followed.updates >= 1 && followed.ended,
                    "{followed:?}"
                );
                Some(followed)
            }
            None => None,
        };
        (ITEMS as f64 / took.as_secs_f64(), followed)
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let rounds = std::env::args()
        .find_map(|arg| {
            arg.strip_prefix("rounds=")
                .map(|n| n.parse::<usize>().expect("rounds=N"))
        })
        .unwrap_or(5);
    println!("fan-out of {ITEMS} steps at limit 64; {rounds} rounds; steps/s");
    println!(
        "| store | closed (median) | open (median) | open ÷ closed | updates per open run (median) |"
    );
    println!("|---|---|---|---|---|");
    for kind in [Kind::Memory, Kind::Sqlite] {
        // A warm-up of each, not counted.
        let _ = sample(kind, false, usize::MAX);
        let _ = sample(kind, true, usize::MAX);
        let (mut closed, mut open, mut updates) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let order = if round % 2 == 0 {
                [false, true]
            } else {
                [true, false]
            };
            for is_open in order {
                let (rate, followed) = sample(kind, is_open, round);
                if let Some(followed) = followed {
                    open.push(rate);
                    updates.push(followed.updates as f64);
                } else {
                    closed.push(rate);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        eprintln!("{kind:?}: closed {closed:.0?}, open {open:.0?}");
        let (closed, open) = (median(closed), median(open));
        println!(
            "| {kind:?} | {closed:.0} | {open:.0} | {:.3} | {:.0} |",
            open / closed,
            median(updates)
        );
    }
}
