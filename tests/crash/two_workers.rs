//! Two processes, one store file, both resuming: every run is driven by one of
//! them, once. Without leases both would take every unfinished run, execute
//! its steps twice, fail the second journal write as "already journaled" and
//! roll back runs the other process completed.
//!
//! The processes are this test binary itself (`child_process_entry`): a
//! `seed` child starts the runs and is SIGKILLed while they wait at a gate;
//! then two `resume` children open the same file, wait for a common go
//! signal, and resume at the same moment.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{child, child_args, engine_in, in_child, log_line, logged};
use trailhead::{RunId, RunOutcome, RunStatus, workflow};

const RUNS: u64 = 12;

fn log(label: &str) -> std::io::Result<()> {
    let (_, role) = child_args().ok_or_else(|| std::io::Error::other("not a child process"))?;
    log_line("executions.log", &format!("{role} {label}"))
}

async fn reserve(n: u64) -> Result<u64, std::io::Error> {
    log(&format!("reserve:{n}"))?;
    Ok(n * 10)
}

async fn release(reserved: u64) -> Result<(), std::io::Error> {
    log(&format!("release:{reserved}"))?;
    Ok(())
}

/// Waits forever in the seed process (which is killed there); passes in the
/// resuming processes, after a moment, so that both are busy at once.
async fn gate(n: u64) -> Result<u64, std::io::Error> {
    log(&format!("gate:{n}"))?;
    let (_, role) = child_args().ok_or_else(|| std::io::Error::other("not a child process"))?;
    if role == "seed" {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    Ok(n + 1)
}

async fn ship(n: u64) -> Result<u64, std::io::Error> {
    log(&format!("ship:{n}"))?;
    Ok(n * 100)
}

workflow! {
    workflow order(n: u64) -> Result<u64, trailhead::Error> {
        let reserved = step reserve(n).compensate(release);
        let passed = step gate(n).after(reserved);
        let shipped = step ship(passed);
        Ok(reserved + shipped)
    }
}

#[test]
fn child_process_entry() {
    in_child(async |dir, role, engine| {
        if role == "seed" {
            for n in 0..RUNS {
                let handle = engine
                    .start_with_id(RunId::new(format!("order-{n}")), order, n)
                    .await
                    .unwrap();
                drop(handle);
            }
            std::future::pending::<()>().await;
        }
        log_line("executions.log", &format!("{role} ready")).unwrap();
        while !dir.join("go").exists() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let handles = engine.resume(order).await.unwrap();
        log_line(
            "executions.log",
            &format!("{role} resumed {}", handles.len()),
        )
        .unwrap();
        for handle in handles {
            handle.result().await.unwrap();
        }
        log_line("executions.log", &format!("{role} done")).unwrap();
    });
}

fn lines(dir: &Path) -> Vec<String> {
    logged(dir, "executions.log")
}

fn wait_for(dir: &Path, what: &str, mut done: impl FnMut(&[String]) -> bool) {
    let began = Instant::now();
    while !done(&lines(dir)) {
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}: {:?}\n{}",
            lines(dir),
            std::fs::read_to_string(dir.join("child.err")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn two_processes_resuming_one_file_drive_each_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();

    // The seed starts every run and dies while they wait at the gate.
    let mut seed = child(dir, "seed").spawn().unwrap();
    wait_for(dir, "every run at the gate", |lines| {
        lines.iter().filter(|l| l.starts_with("seed gate:")).count() == RUNS as usize
    });
    seed.kill().unwrap();
    seed.wait().unwrap();

    // Two processes open the file and resume at the same moment.
    let mut a = child(dir, "a").spawn().unwrap();
    let mut b = child(dir, "b").spawn().unwrap();
    wait_for(dir, "both resumers ready", |lines| {
        lines.iter().any(|l| l == "a ready") && lines.iter().any(|l| l == "b ready")
    });
    std::fs::write(dir.join("go"), b"").unwrap();
    assert!(a.wait().unwrap().success(), "{:?}", lines(dir));
    assert!(b.wait().unwrap().success(), "{:?}", lines(dir));

    let lines = lines(dir);
    let resumed: u64 = lines
        .iter()
        .filter_map(|l| {
            l.split_once(" resumed ")
                .map(|(_, n)| n.parse::<u64>().unwrap())
        })
        .sum();
    assert_eq!(
        resumed, RUNS,
        "each run resumed by exactly one process: {lines:?}"
    );
    let mut executions: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for line in &lines {
        let (role, label) = line.split_once(' ').unwrap();
        if label.contains(':') {
            executions.entry(label.to_owned()).or_default().push(role);
        }
    }
    for n in 0..RUNS {
        assert_eq!(
            executions[&format!("reserve:{n}")],
            ["seed"],
            "{executions:?}"
        );
        // Once where the seed died, once in exactly one resumer.
        let gate = &executions[&format!("gate:{n}")];
        assert_eq!(gate.len(), 2, "gate:{n} {executions:?}");
        assert_eq!(gate[0], "seed");
        let ship = &executions[&format!("ship:{}", n + 1)];
        assert_eq!(ship.len(), 1, "ship of order {n}: {executions:?}");
        assert_eq!(ship[0], gate[1], "one process drove order {n} to its end");
    }
    assert!(
        !executions.keys().any(|label| label.starts_with("release:")),
        "nothing was rolled back: {executions:?}"
    );

    // Every run is recorded completed with its output.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = engine_in(dir);
        for n in 0..RUNS {
            let record = engine
                .run_record(&RunId::new(format!("order-{n}")))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(record.status(), RunStatus::Completed);
            assert_eq!(
                record.outcome().cloned(),
                Some(RunOutcome::Completed(
                    trailhead::store::Value::encode(&(n * 10 + (n + 1) * 100)).unwrap()
                ))
            );
        }
    });
}
