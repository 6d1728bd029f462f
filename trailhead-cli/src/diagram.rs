//! `trailhead diagram RUN`: a run's live picture, as Mermaid or JSON.

use trailhead_core::picture::{NodeKind, PictureError, RunPicture};
use trailhead_core::store::Store;

use crate::cli::DiagramArgs;
use crate::failure::{Failure, GENERAL};
use crate::table::Table;
use crate::{Output, format};

/// Draws the picture of the run `args` names from its record and journal.
pub(crate) async fn diagram(
    store: &dyn Store,
    name: &str,
    args: &DiagramArgs,
) -> Result<Output, Failure> {
    let (record, journal) = crate::recorded::recorded(store, name, &args.run).await?;
    let picture = trailhead_core::picture::from_records(&record, &journal)
        .map_err(|error| no_picture(name, &error))?;
    if args.json {
        let json = serde_json::to_string(&picture)
            .map_err(|error| Failure::new(GENERAL, format!("cannot write JSON: {error}")))?;
        return Ok(Output::stdout(format!("{json}\n")));
    }
    Ok(Output::stdout(picture.to_mermaid()))
}

/// The failure for a run that cannot be drawn (recorded without a graph, or
/// with one that does not parse), in the store at `name`.
pub(crate) fn no_picture(name: &str, error: &PictureError) -> Failure {
    Failure::new(GENERAL, format!("the store at `{name}`: {error}"))
}

/// Each node's state under the picture's Mermaid: a table of the nodes
/// (all but the start) with the node's id, the step it stands for (or what
/// it is: `branch`, `loop`, `end`, …), its state and what the diagram
/// writes in its box.
pub(crate) fn states(picture: &RunPicture) -> String {
    let mut table = Table::new(vec!["NODE", "STEP", "STATE", "DETAIL"]);
    for node in &picture.nodes {
        if node.kind == NodeKind::Start {
            continue;
        }
        let what = node
            .site
            .clone()
            .unwrap_or_else(|| match serde_json::to_value(node.kind) {
                Ok(serde_json::Value::String(word)) => format!("({word})"),
                _ => format!("({:?})", node.kind),
            });
        table.row(vec![
            node.id.clone(),
            what,
            node.state.name().to_owned(),
            node.status_text()
                .map(|text| format::one_line(&text))
                .unwrap_or_default(),
        ]);
    }
    table.to_string()
}
