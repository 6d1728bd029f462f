//! The whole engine on a PgStore: a run with steps, a sleep and a signal,
//! stopped halfway and resumed by a new worker.

use std::sync::Mutex;
use std::time::Duration;

use super::*;
use crate::__private::{StepSpec, no_decode, text_only};
use crate::store::Store;
use crate::{Engine, Error, RunContext, StepPolicy, Workflow};

static EXECUTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn executed(what: String) {
    EXECUTED.lock().unwrap().push(what);
}

#[derive(Clone, Copy, Debug, Default)]
struct Approval;

#[allow(clippy::manual_async_fn)] // The trait's signature, as `workflow!` writes it.
impl Workflow for Approval {
    type Input = u32;
    type Output = u32;
    type Error = Error;
    const NAME: &'static str = "approval";
    const MERMAID: &'static str = "flowchart TD\n  approval";
    const DEFINITION_HASH: u64 = 0x5eed;

    fn execute<'a>(
        self,
        ctx: &'a RunContext,
        x: u32,
    ) -> impl std::future::Future<Output = Result<u32, Error>> + Send + 'a {
        async move {
            let doubled = ctx
                .step(
                    StepSpec::new("double", &[], StepPolicy::DEFAULT),
                    || async move {
                        executed(format!("double({x})"));
                        Ok::<_, Error>(x * 2)
                    },
                    |_: &Error| false,
                    text_only,
                    no_decode,
                )
                .await
                .map_err(Error::new)?;
            ctx.sleep("nap", &[], Duration::from_millis(50))
                .await
                .map_err(Error::new)?;
            let extra: u32 = ctx
                .signal("approve", &[], "approved")
                .await
                .map_err(Error::new)?;
            let total = ctx
                .step(
                    StepSpec::new("add", &[], StepPolicy::DEFAULT),
                    || async move {
                        executed(format!("add({doubled}, {extra})"));
                        Ok::<_, Error>(doubled + extra)
                    },
                    |_: &Error| false,
                    text_only,
                    no_decode,
                )
                .await
                .map_err(Error::new)?;
            Ok(total)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_while_waiting_resumes_on_a_new_worker() {
    let schema = fresh("engine").await;
    let first_store = store_in(&schema).await;
    let first = Engine::builder().store(first_store.clone()).build();
    let run = RunId::new("approval-1");
    let handle = first
        .start_with_id(run.clone(), Approval, 20)
        .await
        .unwrap();
    // Wait until the run slept and waits for its signal.
    let journaled = eventually(Duration::from_secs(5), || async {
        first_store
            .journal(&run)
            .await
            .map(|j| j.len())
            .unwrap_or(0)
            == 2
    })
    .await;
    assert!(journaled, "double and the nap are journaled");
    first.shutdown(Duration::from_millis(100)).await;
    drop(handle);
    drop(first);
    first_store.close().await.unwrap();
    assert_eq!(
        first_store.run(&run).await.unwrap().unwrap().status(),
        crate::RunStatus::Running,
        "stopped, not finished"
    );

    let second_store = store_in(&schema).await;
    let second = Engine::builder().store(second_store.clone()).build();
    second.signal(&run, "approved", 2_u32).await.unwrap();
    let resumed = second.resume(Approval).await.unwrap();
    assert_eq!(resumed.len(), 1);
    let result = resumed.into_iter().next().unwrap().result().await.unwrap();
    assert_eq!(result, 42);
    assert_eq!(
        *EXECUTED.lock().unwrap(),
        ["double(20)", "add(40, 2)"],
        "double ran once, replayed on the new worker"
    );
    let keys: Vec<String> = second_store
        .journal(&run)
        .await
        .unwrap()
        .iter()
        .map(|e| e.key.to_string())
        .collect();
    assert_eq!(keys, ["double", "nap", "approve", "add"]);
}
