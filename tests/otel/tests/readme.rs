//! The README's OpenTelemetry setup, compiled and run as it is printed
//! there: the facade's doctests cannot build it (the OpenTelemetry crates
//! are not the facade's dependencies), so this test holds the block between
//! two markers and checks it is the README's, line for line.

use opentelemetry_sdk::trace::InMemorySpanExporter;

/// The README block, between the markers, inside a function that gives it
/// what it names (`exporter`, a `?` to return through).
fn readme_setup(exporter: InMemorySpanExporter) -> Result<(), Box<dyn std::error::Error>> {
    // README BEGIN
    use opentelemetry::propagation::TextMapPropagator as _;
    use opentelemetry::trace::TracerProvider as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter) // e.g. opentelemetry_otlp's SpanExporter
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("my-service"));
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))?;

    // In a step: the attempt's context, as a `traceparent` header.
    let mut headers = std::collections::HashMap::new();
    opentelemetry_sdk::propagation::TraceContextPropagator::new()
        .inject_context(&tracing::Span::current().context(), &mut headers);
    // README END
    assert!(
        headers.is_empty(),
        "outside a span there is no context to pass on"
    );
    Ok(())
}

#[test]
fn the_readme_block_is_this_code_and_it_runs() {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("```rust,ignore\nuse opentelemetry::")
        .expect("the README's OpenTelemetry block");
    let block = &readme[start..];
    let block = &block[block.find('\n').unwrap() + 1..block.find("\n```\n").unwrap()];
    let this = include_str!("readme.rs");
    let held = &this
        [this.find("// README BEGIN\n").unwrap() + 16..this.find("    // README END").unwrap()];
    let held: Vec<&str> = held
        .lines()
        .map(|line| line.strip_prefix("    ").unwrap_or(line))
        .collect();
    let printed: Vec<&str> = block.lines().collect();
    assert_eq!(
        printed, held,
        "README.md and tests/otel/tests/readme.rs differ"
    );
    readme_setup(InMemorySpanExporter::default()).unwrap();
}
