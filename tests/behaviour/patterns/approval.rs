//! `patterns::approval`: answers at each stage on a paused clock, the
//! notifications sent, the action run or not.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use trailhead::patterns::approval::{
    Answer, ApprovalRequest, Decision, Notice, Notify, Stage, with_approval,
};
use trailhead::{Engine, Error, RunHandle, RunId, RunStatus, Workflow, workflow};

use crate::support::{journal_keys, step_started};

/// Who was notified at which stage.
type Sent = Vec<(Stage, String)>;

/// The notices sent, by subject (one subject per test).
static SENT: Mutex<Option<HashMap<String, Sent>>> = Mutex::new(None);
/// The documents published, by the action.
static PUBLISHED: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Recorder;

impl Notify for Recorder {
    async fn notify(&self, notice: Notice) -> Result<(), Error> {
        SENT.lock()
            .unwrap()
            .get_or_insert_with(HashMap::new)
            .entry(notice.subject)
            .or_default()
            .push((notice.stage, notice.to));
        Ok(())
    }
}

fn sent(subject: &str) -> Vec<(Stage, String)> {
    SENT.lock()
        .unwrap()
        .as_ref()
        .and_then(|sent| sent.get(subject).cloned())
        .unwrap_or_default()
}

fn published(doc: &str) -> usize {
    PUBLISHED
        .lock()
        .unwrap()
        .iter()
        .filter(|d| *d == doc)
        .count()
}

async fn publish_doc(doc: String) -> Result<String, Error> {
    PUBLISHED.lock().unwrap().push(doc.clone());
    Ok(format!("{doc} published"))
}

workflow! {
    /// The action that needs approval.
    workflow publish(doc: String) -> Result<String, Error> {
        Ok(step publish_doc(doc))
    }
}

type Approved = with_approval<publish, Recorder>;

const HOUR: Duration = Duration::from_secs(3_600);

fn request(subject: &str) -> ApprovalRequest<Recorder> {
    ApprovalRequest::new(subject, "ada", "grace", Recorder).waits(HOUR, 2 * HOUR, 4 * HOUR)
}

async fn start(engine: &Engine, doc: &str) -> RunHandle<Approved> {
    engine
        .start(Approved::default(), (request(doc), doc.to_owned()))
        .await
        .unwrap()
}

fn request_to_ada() -> (Stage, String) {
    (Stage::Request, "ada".to_owned())
}

fn reminder_to_ada() -> (Stage, String) {
    (Stage::Reminder, "ada".to_owned())
}

fn escalation_to_grace() -> (Stage, String) {
    (Stage::Escalation, "grace".to_owned())
}

/// Starts an approval of `doc`, waits until step `stage` (if any) has
/// started, sends `answer`: the engine, the run, the decision and the
/// (virtual) time from the start to the answer.
async fn answered(
    doc: &str,
    stage: Option<&str>,
    answer: Answer,
) -> (Engine, RunId, Decision<String>, Duration) {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let began = tokio::time::Instant::now();
    let handle = start(&engine, doc).await;
    let run = handle.id().clone();
    if let Some(stage) = stage {
        step_started(&mut events, stage).await;
    }
    let waited = began.elapsed();
    Approved::signal_approval(&engine, &run, answer)
        .await
        .unwrap();
    let decision = handle.result().await.unwrap();
    (engine, run, decision, waited)
}

fn approved(by: &str, doc: &str) -> Decision<String> {
    Decision::Approved {
        by: by.into(),
        output: format!("{doc} published"),
    }
}

#[tokio::test(start_paused = true)]
async fn approved_at_once_runs_the_action() {
    let (engine, run, decision, waited) = answered("at-once", None, Answer::approve("ada")).await;
    assert_eq!(decision, approved("ada", "at-once"));
    assert_eq!(waited, Duration::ZERO);
    assert_eq!(sent("at-once"), [request_to_ada()]);
    assert_eq!(published("at-once"), 1);
    assert_eq!(
        journal_keys(&engine, &run).await,
        ["request", "approval", "W"]
    );
}

#[tokio::test(start_paused = true)]
async fn approved_after_the_reminder() {
    let (engine, run, decision, waited) =
        answered("reminded", Some("reminder"), Answer::approve("ada")).await;
    assert_eq!(decision, approved("ada", "reminded"));
    assert_eq!(waited, HOUR, "the reminder after the first wait");
    assert_eq!(sent("reminded"), [request_to_ada(), reminder_to_ada()]);
    assert_eq!(published("reminded"), 1);
    assert_eq!(
        journal_keys(&engine, &run).await,
        ["request", "approval", "reminder", "approval#2", "W"]
    );
}

#[tokio::test(start_paused = true)]
async fn escalated_then_approved_by_the_second_approver() {
    let (_engine, _run, decision, waited) =
        answered("escalated", Some("escalation"), Answer::approve("grace")).await;
    assert_eq!(decision, approved("grace", "escalated"));
    assert_eq!(waited, 3 * HOUR, "1 h, then 2 h");
    assert_eq!(
        sent("escalated"),
        [request_to_ada(), reminder_to_ada(), escalation_to_grace()]
    );
    assert_eq!(published("escalated"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_rejection_gives_its_reason_and_does_not_run_the_action() {
    let (engine, run, decision, _) =
        answered("rejected", None, Answer::reject("ada", "not in budget")).await;
    assert_eq!(
        decision,
        Decision::Rejected {
            by: "ada".into(),
            reason: "not in budget".into()
        }
    );
    assert_eq!(published("rejected"), 0);
    assert_eq!(sent("rejected"), [request_to_ada()]);
    assert!(engine.store().children(&run).await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn no_answer_at_all_times_out_without_running_the_action() {
    let engine = Engine::new();
    let began = tokio::time::Instant::now();
    let handle = start(&engine, "silence").await;
    let run = handle.id().clone();
    assert_eq!(handle.result().await.unwrap(), Decision::TimedOut);
    assert_eq!(began.elapsed(), 7 * HOUR, "1 h, then 2 h, then 4 h");
    assert_eq!(
        sent("silence"),
        [request_to_ada(), reminder_to_ada(), escalation_to_grace()]
    );
    assert_eq!(published("silence"), 0);
    assert!(engine.store().children(&run).await.unwrap().is_empty());
    assert_eq!(
        journal_keys(&engine, &run).await,
        [
            "request",
            "approval",
            "reminder",
            "approval#2",
            "escalation",
            "approval#3"
        ]
    );
}

#[test]
fn the_chart_shows_the_three_notifications_and_the_action() {
    let chart = <Approved as Workflow>::mermaid();
    super::chapter::assert_charted("with_approval", <Approved as Workflow>::MERMAID);
    for node in ["request", "reminder", "escalation", "approval"] {
        assert!(chart.contains(node), "{node}: {chart}");
    }
    assert_eq!(
        <Approved as Workflow>::name(),
        "with_approval<publish, behaviour::patterns::approval::Recorder>"
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_stopped_while_waiting_sends_no_notification_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let run = RunId::new("approval-durable");
    {
        let engine = Engine::open(&path).unwrap();
        let mut events = engine.subscribe();
        engine
            .start_with_id(
                run.clone(),
                Approved::default(),
                (request("durable"), "durable".to_owned()),
            )
            .await
            .unwrap();
        step_started(&mut events, "approval#2").await;
        assert_eq!(
            engine.shutdown(Duration::ZERO).await,
            std::slice::from_ref(&run)
        );
    }
    assert_eq!(sent("durable"), [request_to_ada(), reminder_to_ada()]);
    let engine = Engine::open(&path).unwrap();
    // Sent while no process runs it: the store keeps it for the run.
    engine
        .signal(&run, "approval", Answer::approve("ada"))
        .await
        .unwrap();
    let handles = engine.resume(Approved::default()).await.unwrap();
    let handle = handles.into_iter().next().expect("the waiting run");
    assert_eq!(handle.result().await.unwrap(), approved("ada", "durable"));
    assert_eq!(
        sent("durable"),
        [request_to_ada(), reminder_to_ada()],
        "no notification sent again"
    );
    assert_eq!(published("durable"), 1);
    assert_eq!(
        engine.run_record(&run).await.unwrap().unwrap().status(),
        RunStatus::Completed
    );
}
