//! trailhead's spans through `tracing-opentelemetry`, read back from the
//! OpenTelemetry SDK's in-memory exporter: names, attributes, parentage
//! (child run under call step under run), and the trace context a step's
//! body sees.

use std::sync::Mutex;

use opentelemetry::trace::{SpanId, TraceContextExt as _, TraceId, TracerProvider as _};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use trailhead::{Engine, Error, workflow};

/// The trace and span ids the step `outbound` saw as its context: what it
/// would put in an outgoing request's `traceparent`.
static SEEN: Mutex<Option<(TraceId, SpanId)>> = Mutex::new(None);

async fn outbound(n: u32) -> Result<u32, Error> {
    let context = tracing::Span::current().context();
    let span = context.span();
    let ids = span.span_context();
    *SEEN.lock().unwrap() = Some((ids.trace_id(), ids.span_id()));
    Ok(n + 1)
}

/// Fails its first attempt.
async fn flaky(n: u32) -> Result<u32, Error> {
    if trailhead::current_step().expect("in a step").attempt == 1 {
        return Err(Error::msg("busy"));
    }
    Ok(n)
}

async fn inner(n: u32) -> Result<u32, Error> {
    Ok(n * 2)
}

workflow! {
    /// The child run.
    pub workflow doubled(n: u32) -> Result<u32, Error> {
        let n = step inner(n);
        Ok(n)
    }

    /// A step that looks at its trace context, a retried step, a call.
    pub workflow traced_parent(n: u32) -> Result<u32, Error> {
        let n = step outbound(n);
        let n = step flaky(n).retry(2, backoff = 1ms);
        let n = call doubled(n);
        Ok(n)
    }
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> &'a Value {
    span.attributes
        .iter()
        .find(|KeyValue { key: k, .. }| k.as_str() == key)
        .map(|kv| &kv.value)
        .unwrap_or_else(|| panic!("span {} has no `{key}`: {:?}", span.name, span.attributes))
}

fn text(span: &SpanData, key: &str) -> String {
    attribute(span, key).as_str().into_owned()
}

/// The `step` span of key `key` (of attempt `attempt`).
fn step<'a>(spans: &'a [SpanData], key: &str, attempt: i64) -> &'a SpanData {
    spans
        .iter()
        .find(|span| {
            span.name == "step"
                && text(span, "key") == key
                && *attribute(span, "attempt") == Value::I64(attempt)
        })
        .unwrap_or_else(|| panic!("no step span {key} attempt {attempt}"))
}

fn run<'a>(spans: &'a [SpanData], id: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|span| span.name == "run" && text(span, "run") == id)
        .unwrap_or_else(|| panic!("no run span for {id}"))
}

#[test]
fn runs_steps_and_child_runs_are_nested_opentelemetry_spans() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("trailhead-test")));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let parent = tracing::subscriber::with_default(subscriber, || {
        tracing::callsite::rebuild_interest_cache();
        runtime.block_on(async {
            let engine = Engine::new();
            let handle = engine.start(traced_parent, 4).await.unwrap();
            let run = handle.id().clone();
            assert_eq!(handle.result().await.unwrap(), 10);
            run
        })
    });
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();

    let root = run(&spans, parent.as_str());
    assert_eq!(text(root, "workflow"), "traced_parent");
    assert_eq!(
        text(root, "definition_hash"),
        format!("{:#018x}", traced_parent::DEFINITION_HASH)
    );
    assert_eq!(
        root.parent_span_id,
        SpanId::INVALID,
        "a top-level run is a root span"
    );
    let trace = root.span_context.trace_id();

    // Each step attempt a span under its run, with the run, workflow, key
    // and attempt.
    let seen = step(&spans, "outbound", 1);
    let first = step(&spans, "flaky", 1);
    let second = step(&spans, "flaky", 2);
    let call = step(&spans, "doubled", 1);
    for span in [seen, first, second, call] {
        assert_eq!(span.parent_span_id, root.span_context.span_id(), "{span:?}");
        assert_eq!(span.span_context.trace_id(), trace);
        assert_eq!(text(span, "run"), parent.as_str());
        assert_eq!(text(span, "workflow"), "traced_parent");
    }

    // The child run is a child span of the call step's; its steps of it.
    let child_id = format!("{parent}/doubled");
    let child = run(&spans, &child_id);
    assert_eq!(child.parent_span_id, call.span_context.span_id());
    assert_eq!(child.span_context.trace_id(), trace);
    assert_eq!(text(child, "workflow"), "doubled");
    let inner = step(&spans, "inner", 1);
    assert_eq!(inner.parent_span_id, child.span_context.span_id());
    assert_eq!(text(inner, "run"), child_id);

    // Inside a step, `tracing::Span::current()` is the step attempt's span:
    // an outgoing call made there joins the run's trace under it.
    let (seen_trace, seen_span) = SEEN.lock().unwrap().expect("outbound ran");
    assert_eq!(seen_trace, trace);
    assert_eq!(seen_span, seen.span_context.span_id());
}
