//! `trailhead trace RUN`: a run's timeline as trace-event JSON.

use trailhead_core::store::Store;
use trailhead_core::{RunId, StoreError};

use crate::cli::TraceArgs;
use crate::failure::Failure;
use crate::{Output, private_file};

/// Exports the trace of the run `args` names, to stdout or its file.
pub(crate) async fn trace(
    store: &dyn Store,
    name: &str,
    args: &TraceArgs,
) -> Result<Output, Failure> {
    let id = RunId::new(args.run.as_str());
    let trace = match trailhead_core::trace::of_run(store, &id).await {
        Ok(trace) => trace,
        Err(StoreError::UnknownRun { .. }) => return Err(Failure::no_run(name, &args.run)),
        Err(error) => return Err(Failure::store(name, &error)),
    };
    let json = trace.to_json();
    let Some(path) = &args.output else {
        return Ok(Output::stdout(format!("{json}\n")));
    };
    private_file::write(path, json.as_bytes(), "trace")?;
    Ok(Output::stdout(format!(
        "trace of run `{id}` written to {} ({} slices); open it at https://ui.perfetto.dev\n",
        path.display(),
        trace.slices().count()
    )))
}
