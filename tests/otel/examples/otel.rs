//! OpenTelemetry for trailhead through `tracing`: runs, step attempts and
//! child runs become OpenTelemetry spans (a child run under its call step,
//! under its run), and a step's outgoing request carries the trace context
//! so the service it calls joins the trace.
//!
//! Spans go to stdout here; an application sends them to a collector with
//! `opentelemetry-otlp` instead, and nothing else changes.
//!
//! `cargo run -p trailhead-otel-tests --example otel`

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use trailhead::{Engine, Error, workflow};

/// Calls the payment service: the request's headers carry the step
/// attempt's trace context (`traceparent`), so the service's spans join the
/// run's trace under this step.
async fn charge(cents: u64) -> Result<String, Error> {
    let mut headers = HashMap::new();
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut headers);
    println!(
        "POST /charges {cents} with traceparent {}",
        headers["traceparent"]
    );
    Ok(format!("receipt-{cents}"))
}

async fn render(receipt: String) -> Result<String, Error> {
    Ok(format!("Your receipt: {receipt}"))
}

workflow! {
    /// The child run.
    workflow mail(receipt: String) -> Result<String, Error> {
        let text = step render(receipt);
        Ok(text)
    }

    /// Charges, then mails the receipt through a child run.
    workflow checkout(cents: u64) -> Result<String, Error> {
        let receipt = step charge(cents);
        let text = call mail(receipt);
        Ok(text)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The OpenTelemetry SDK, with an exporter (stdout here; OTLP in
    // production), behind `tracing-opentelemetry`'s layer.
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(opentelemetry_stdout::SpanExporter::default())
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("checkout-service"));
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))?;

    let engine = Engine::new();
    let text = engine.run(checkout, 1_250).await?;
    println!("{text}");

    // Export what is still buffered before the process exits.
    provider.shutdown()?;
    Ok(())
}
