//! `trailhead export RUN`: a run's history (its record and its journal) as
//! the JSON file replay tests read.

use trailhead_core::RunId;
use trailhead_core::replay::{History, HistoryError};
use trailhead_core::store::Store;

use crate::cli::ExportArgs;
use crate::failure::{Failure, GENERAL};
use crate::{Output, private_file};

/// Exports the history of the run `args` names, to stdout or its file.
pub(crate) async fn export(
    store: &dyn Store,
    name: &str,
    args: &ExportArgs,
) -> Result<Output, Failure> {
    let id = RunId::new(args.run.as_str());
    let history = match History::of_run(store, &id).await {
        Ok(history) => history,
        Err(HistoryError::NoRun { .. }) => return Err(Failure::no_run(name, &args.run)),
        Err(HistoryError::Store(error)) => return Err(Failure::store(name, &error)),
        Err(other) => {
            return Err(Failure::new(
                GENERAL,
                format!("the store at `{name}`: {other}"),
            ));
        }
    };
    let json = history.to_json();
    let Some(path) = &args.output else {
        return Ok(Output::stdout(format!("{json}\n")));
    };
    private_file::write(path, json.as_bytes(), "history")?;
    Ok(Output::stdout(format!(
        "history of run `{id}` written to {} ({} journal entries)\n",
        path.display(),
        history.journal.len()
    )))
}
