//! `trailhead fork RUN --from KEY`: a finished run recorded again as a new,
//! unfinished run that starts with its journal before KEY, for a worker
//! that knows the workflow to resume.

use trailhead_core::{EngineError, RunId, StoreError, fork};

use crate::Output;
use crate::cli::ForkArgs;
use crate::failure::{Failure, GENERAL};
use crate::open::Opened;

/// Forks the run `args` names from its step `args.from`.
pub(crate) async fn fork(opened: &Opened, args: &ForkArgs) -> Result<Output, Failure> {
    let (name, store) = (opened.name.as_str(), opened.store());
    let id = RunId::new(args.run.as_str());
    // Read first for the workflow's name, which the fork does not hand back.
    let original = store
        .run(&id)
        .await
        .map_err(|error| Failure::store(name, &error))?
        .ok_or_else(|| Failure::no_run(name, &args.run))?;
    let new_id = args.id.as_deref().map(RunId::new);
    let forked = fork::record(store, &id, &args.from, new_id)
        .await
        .map_err(|error| refused(name, args, &error))?;
    let entries = match forked.copied {
        1 => "1 journal entry".to_owned(),
        n => format!("{n} journal entries"),
    };
    Ok(Output::stdout(format!(
        "run `{}` forked from `{}` at `{}` ({entries} copied); it runs when a worker resumes workflow `{}`\n",
        forked.run, forked.from, forked.at, original.workflow
    )))
}

/// The failure for `error`: the refusals a fork meets said in its terms,
/// the rest as every command says them.
fn refused(name: &str, args: &ForkArgs, error: &EngineError) -> Failure {
    let refusal =
        |message: String| Failure::new(GENERAL, format!("the store at `{name}`: {message}"));
    match error {
        EngineError::Store(StoreError::UnknownRun { .. }) => Failure::no_run(name, &args.run),
        EngineError::Store(StoreError::NotEnded { run }) => refusal(format!(
            "run `{run}` has not ended: only a run that has ended can be forked"
        )),
        EngineError::NotJournaled { run, step } => refusal(format!(
            "run `{run}` has no journaled step `{step}` to fork from (`trailhead show {run}` lists its journal)"
        )),
        EngineError::Store(StoreError::RunExists { run }) if args.id.is_some() => refusal(format!(
            "run `{run}` already exists: --id must name a new run"
        )),
        EngineError::Store(StoreError::RunExists { run }) => refusal(format!(
            "run `{run}` already exists: another fork took the id meanwhile; try again"
        )),
        other => Failure::engine(name, other),
    }
}
