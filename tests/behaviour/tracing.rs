//! Every run and every step attempt is a `tracing` span, named `run` and `step`,
//! with the run id, workflow name, step key and attempt as fields.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event as TraceEvent, Metadata, Subscriber};
use trailhead::{Engine, workflow};

/// Records each new span as `name field=value …`.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }
}

impl Subscriber for Spans {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields(span.metadata().name().to_owned());
        span.record(&mut fields);
        let mut spans = self.0.lock().unwrap();
        spans.push(fields.0);
        Id::from_u64(spans.len() as u64)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &TraceEvent<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

async fn flaky(attempts: &std::sync::atomic::AtomicU32) -> Result<u32, std::io::Error> {
    if attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
        Err(std::io::Error::other("first attempt fails"))
    } else {
        Ok(1)
    }
}

static ATTEMPTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

workflow! {
    workflow traced(n: u32) -> Result<u32, trailhead::Error> {
        let mut total = 0;
        for _ in 0..n {
            total += step flaky(&ATTEMPTS).retry(2, backoff = 1ms);
        }
        Ok(total)
    }
}

#[test]
fn runs_and_step_attempts_are_spans() {
    let spans = Spans::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let run = tracing::subscriber::with_default(spans.clone(), || {
        // Other tests' threads may have registered the engine's callsites
        // while this subscriber was being added, caching them as of no
        // interest: ask again now that it is.
        tracing::callsite::rebuild_interest_cache();
        runtime.block_on(async {
            let engine = Engine::new();
            let handle = engine.start(traced, 2).await.unwrap();
            let run = handle.id().clone();
            handle.result().await.unwrap();
            run
        })
    });
    let recorded = spans.0.lock().unwrap().clone();
    assert_eq!(
        recorded,
        [
            format!(
                "run run={run} workflow=traced definition_hash={:#018x}",
                <traced as trailhead::Workflow>::DEFINITION_HASH
            ),
            format!("step run={run} workflow=traced key=flaky[0] attempt=1"),
            format!("step run={run} workflow=traced key=flaky[0] attempt=2"),
            format!("step run={run} workflow=traced key=flaky[1] attempt=1"),
        ]
    );
}
