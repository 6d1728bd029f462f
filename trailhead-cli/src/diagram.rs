//! `trailhead diagram RUN`: a run's live picture, as Mermaid or JSON.

use trailhead_core::RunId;
use trailhead_core::store::Store;

use crate::Output;
use crate::cli::DiagramArgs;
use crate::failure::{Failure, GENERAL};

/// Draws the picture of the run `args` names from its record and journal.
pub(crate) async fn diagram(
    store: &dyn Store,
    name: &str,
    args: &DiagramArgs,
) -> Result<Output, Failure> {
    let id = RunId::new(args.run.as_str());
    let fail = |error| Failure::store(name, &error);
    let record = store
        .run(&id)
        .await
        .map_err(fail)?
        .ok_or_else(|| Failure::no_run(name, &args.run))?;
    let journal = store.journal(&id).await.map_err(fail)?;
    let picture = trailhead_core::picture::from_records(&record, &journal)
        .map_err(|error| Failure::new(GENERAL, format!("the store at `{name}`: {error}")))?;
    if args.json {
        let json = serde_json::to_string(&picture)
            .map_err(|error| Failure::new(GENERAL, format!("cannot write JSON: {error}")))?;
        return Ok(Output::stdout(format!("{json}\n")));
    }
    Ok(Output::stdout(picture.to_mermaid()))
}
