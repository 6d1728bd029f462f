//! `trailhead trace RUN`: a run's timeline as trace-event JSON.

use std::io::Write as _;

use trailhead_core::store::Store;
use trailhead_core::{RunId, StoreError};

use crate::Output;
use crate::cli::TraceArgs;
use crate::failure::{Failure, GENERAL};

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
    write_private(path, json.as_bytes()).map_err(|error| {
        Failure::new(
            GENERAL,
            format!("cannot write the trace to `{}`: {error}", path.display()),
        )
    })?;
    Ok(Output::stdout(format!(
        "trace of run `{id}` written to {} ({} slices); open it at https://ui.perfetto.dev\n",
        path.display(),
        trace.slices().count()
    )))
}

/// Writes `bytes` to a new file at `path` that only its owner can read (a
/// trace holds the run's step names and errors: customer data).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
