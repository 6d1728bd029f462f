//! A step that failed for good replays as failed: a process killed after the
//! failure was journaled and before the run ended does not charge a declined
//! card again when the run is resumed. The workflow gets the journaled
//! failure: its own error, typed, when the error type implements serde's
//! traits; `StepFailure::FailedBefore` with the text and class otherwise.
//! Only `Engine::rerun` runs the step again.
//!
//! The process is this test binary (`child_process_entry`). The failing step
//! has a concurrent sibling that the failure drops; the sibling's drop guard
//! SIGKILLs the process, which happens right after the failure is journaled
//! and before the run could record its end.

use std::path::Path;
use std::process::Command;

use crate::support::{child, child_args, engine_in, in_child, log_line, logged as lines};
use serde::{Deserialize, Serialize};
use trailhead::{ErrorClass, RunError, RunId, RunStatus, StepError, StepFailure, workflow};

/// A payment error that the journal can hold as a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
enum PaymentError {
    #[error("card declined with code {code}")]
    Declined { code: u32 },
}

impl trailhead::Classify for PaymentError {
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

fn role() -> String {
    child_args().map(|(_, role)| role).unwrap_or_default()
}

fn charging_succeeds(dir: &Path) -> bool {
    dir.join("card-fixed").exists()
}

async fn charge(order: u64) -> Result<u64, PaymentError> {
    log_line("executions.log", &format!("charge:{order}")).unwrap();
    let (dir, _) = child_args().unwrap();
    if charging_succeeds(&dir) {
        Ok(order * 100)
    } else {
        Err(PaymentError::Declined { code: 51 })
    }
}

/// A failure whose type the journal can only keep as text.
async fn charge_legacy(order: u64) -> Result<u64, std::io::Error> {
    log_line("executions.log", &format!("charge_legacy:{order}")).unwrap();
    Err(std::io::Error::other(format!(
        "gateway refused order {order}"
    )))
}

/// Kills this process (SIGKILL) when dropped.
struct KillOnDrop;

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if role().starts_with("first") {
            let _ = Command::new("kill")
                .args(["-9", &std::process::id().to_string()])
                .status();
        }
    }
}

/// Runs until the run stops it; in the first process, its drop kills it.
async fn pack(order: u64) -> Result<u64, PaymentError> {
    let _guard = KillOnDrop;
    let (dir, _) = child_args().unwrap();
    if charging_succeeds(&dir) {
        return Ok(order);
    }
    std::future::pending().await
}

workflow! {
    workflow checkout(order: u64) -> Result<u64, StepError<PaymentError>> {
        let charged = step charge(order);
        let packed = step pack(order);
        Ok(charged + packed)
    }

    workflow legacy_checkout(order: u64) -> Result<u64, trailhead::Error> {
        let charged = step charge_legacy(order);
        let packed = step pack(order);
        Ok(charged + packed)
    }
}

#[test]
fn child_process_entry() {
    in_child(async |_dir, role, engine| {
        let report = |line: String| log_line("report.log", &line).unwrap();
        match role.as_str() {
            "first-typed" => {
                let run = RunId::new("typed");
                let handle = engine.start_with_id(run, checkout, 7).await.unwrap();
                let _ = handle.result().await; // killed before it ends
                report("not killed".to_owned());
            }
            "first-legacy" => {
                let run = RunId::new("legacy");
                let handle = engine.start_with_id(run, legacy_checkout, 8).await.unwrap();
                let _ = handle.result().await; // killed before it ends
                report("not killed".to_owned());
            }
            "resume" => {
                let typed = engine.resume(checkout).await.unwrap();
                let legacy = engine.resume(legacy_checkout).await.unwrap();
                match typed.into_iter().next().unwrap().result().await {
                    Err(RunError::Failed { error, .. }) => match error.failure {
                        StepFailure::Error(PaymentError::Declined { code }) => {
                            report(format!(
                                "typed declined {code} step {} attempts {}",
                                error.step, error.attempts
                            ));
                        }
                        other => report(format!("typed other {other}")),
                    },
                    other => report(format!("typed unexpected {other:?}")),
                }
                match legacy.into_iter().next().unwrap().result().await {
                    Err(RunError::Failed { error, .. }) => {
                        let error: Box<StepError<std::io::Error>> =
                            error.into_inner().downcast().unwrap();
                        match error.failure {
                            StepFailure::FailedBefore { message, class } => {
                                report(format!("legacy failed-before {class:?} {message}"));
                            }
                            other => report(format!("legacy other {other}")),
                        }
                    }
                    other => report(format!("legacy unexpected {other:?}")),
                }
            }
            "retry" => {
                let handle = engine.rerun(checkout, &RunId::new("typed")).await.unwrap();
                report(format!(
                    "retried {:?}",
                    handle.result().await.map_err(|e| e.to_string())
                ));
            }
            _ => unreachable!(),
        }
    });
}

#[test]
fn a_failed_step_replays_as_failed_after_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let errors = || std::fs::read_to_string(dir.join("child.err")).unwrap_or_default();

    for first in ["first-typed", "first-legacy"] {
        let status = child(dir, first).status().unwrap();
        assert!(!status.success(), "{first} is killed: {}", errors());
    }
    assert!(
        lines(dir, "report.log").is_empty(),
        "{:?}",
        lines(dir, "report.log")
    );

    // Killed after the failures were journaled, before the runs ended.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = engine_in(dir);
        for run in ["typed", "legacy"] {
            let run = RunId::new(run);
            let record = engine.run_record(&run).await.unwrap().unwrap();
            assert_eq!(record.status(), RunStatus::Running, "{run}");
            let journal = engine.journal(&run).await.unwrap();
            assert_eq!(journal.len(), 1, "{run}: {journal:?}");
            assert!(journal[0].outcome.failure().is_some(), "{run}: {journal:?}");
        }
    });

    let status = child(dir, "resume").status().unwrap();
    assert!(status.success(), "{}", errors());
    assert_eq!(
        lines(dir, "report.log"),
        [
            "typed declined 51 step charge attempts 1",
            "legacy failed-before Transient gateway refused order 8",
        ],
    );
    // Neither card was charged again.
    assert_eq!(
        lines(dir, "executions.log"),
        ["charge:7", "charge_legacy:8"]
    );

    // Only a retry runs the step again.
    std::fs::write(dir.join("card-fixed"), b"").unwrap();
    let status = child(dir, "retry").status().unwrap();
    assert!(status.success(), "{}", errors());
    assert_eq!(
        lines(dir, "executions.log"),
        ["charge:7", "charge_legacy:8", "charge:7"]
    );
    assert_eq!(lines(dir, "report.log").last().unwrap(), "retried Ok(707)");
}
