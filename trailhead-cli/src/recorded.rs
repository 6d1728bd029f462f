//! A run as the store holds it: the one lookup every command that reads a
//! run makes, with the same errors.

use trailhead_core::RunId;
use trailhead_core::store::{RunRecord, StepRecord, Store};

use crate::failure::Failure;

/// Run `run`'s record and journal from the store at `name`.
pub(crate) async fn recorded(
    store: &dyn Store,
    name: &str,
    run: &str,
) -> Result<(RunRecord, Vec<StepRecord>), Failure> {
    let id = RunId::new(run);
    let fail = |error| Failure::store(name, &error);
    let record = store
        .run(&id)
        .await
        .map_err(fail)?
        .ok_or_else(|| Failure::no_run(name, run))?;
    let journal = store.journal(&id).await.map_err(fail)?;
    Ok((record, journal))
}
