//! `trailhead cancel` and `trailhead signal`: acting on a run through an
//! engine on the store, as an application would.

use trailhead_core::RunId;
use trailhead_core::store::RunStatus;

use crate::cli::{RunArg, SignalArgs};
use crate::failure::{Failure, GENERAL};
use crate::open::Opened;
use crate::{Output, graph};

/// Cancels the run `args` names.
pub(crate) async fn cancel(opened: &Opened, args: &RunArg) -> Result<Output, Failure> {
    let (name, store) = (opened.name.as_str(), opened.store());
    let id = RunId::new(args.run.as_str());
    opened
        .engine()
        .cancel(&id)
        .await
        .map_err(|error| Failure::engine(name, &error))?;
    let run = store
        .run(&id)
        .await
        .map_err(|error| Failure::store(name, &error))?
        .ok_or_else(|| Failure::no_run(name, &args.run))?;
    let line = match run.status() {
        RunStatus::Cancelled => format!("run `{id}` cancelled"),
        RunStatus::Compensating => format!(
            "run `{id}` cancelled: it is being undone; the next worker that resumes it runs its compensations"
        ),
        RunStatus::Running => {
            format!("run `{id}` asked to cancel: the worker that drives it stops it")
        }
        other => format!("run `{id}` is {}", other.name()),
    };
    Ok(Output::stdout(format!("{line}\n")))
}

/// Sends the signal `args` describes.
pub(crate) async fn signal(opened: &Opened, args: &SignalArgs) -> Result<Output, Failure> {
    let (name, store) = (opened.name.as_str(), opened.store());
    let id = RunId::new(args.run.as_str());
    let run = store
        .run(&id)
        .await
        .map_err(|error| Failure::store(name, &error))?
        .ok_or_else(|| Failure::no_run(name, &args.run))?;
    if !args.unchecked && !run.mermaid.is_empty() {
        let waits_for = graph::signals(&run);
        if !waits_for.contains(&args.name) {
            let known = if waits_for.is_empty() {
                "none".to_owned()
            } else {
                waits_for.join(", ")
            };
            return Err(Failure::new(
                GENERAL,
                format!(
                    "the store at `{name}`: run `{id}` of workflow `{}` waits for no signal `{}` \
                     (it waits for: {known}); --unchecked sends it anyway",
                    run.workflow, args.name
                ),
            ));
        }
    }
    opened
        .engine()
        .signal(&id, &args.name, &args.json)
        .await
        .map_err(|error| Failure::engine(name, &error))?;
    Ok(Output::stdout(format!(
        "signal `{}` sent to run `{id}`\n",
        args.name
    )))
}
