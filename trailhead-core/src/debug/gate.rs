//! Where the step path meets the debugger: before a step's first attempt
//! and after it settles, a step that stops waits to be resumed.

use super::state::DebugState;
use super::{Pause, When};
use crate::key::KeyRef;
use crate::store::StepOutcome;
use crate::{RunContext, StepKey};

/// The debugger as one step sees it.
pub(crate) struct Gate<'a> {
    state: &'a DebugState,
}

/// Forgets a pause whose step was dropped while it waited (its run was
/// cancelled or stopped).
struct Waiting<'a> {
    state: &'a DebugState,
    run: &'a crate::RunId,
    id: u64,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.state.unpause(self.run, self.id);
    }
}

impl<'a> Gate<'a> {
    pub(super) fn new(state: &'a DebugState) -> Self {
        Self { state }
    }

    /// Before step `key` starts, with its arguments described.
    pub(crate) async fn before(
        &self,
        ctx: &RunContext,
        key: KeyRef<'_>,
        arguments: Option<&[String]>,
    ) {
        let arguments = arguments.map(<[String]>::to_vec).unwrap_or_default();
        self.stop(ctx, key.to_key(), When::Before, arguments, None, None)
            .await;
    }

    /// After step `key` settled: with its output's text, or its error's.
    pub(crate) async fn after(
        &self,
        ctx: &RunContext,
        key: KeyRef<'_>,
        outcome: Result<String, String>,
    ) {
        let (when, output, error) = match outcome {
            Ok(output) => (When::After, Some(output), None),
            Err(error) => (When::Failed, None, Some(error)),
        };
        self.stop(ctx, key.to_key(), when, Vec::new(), output, error)
            .await;
    }

    async fn stop(
        &self,
        ctx: &RunContext,
        key: StepKey,
        when: When,
        arguments: Vec<String>,
        output: Option<String>,
        error: Option<String>,
    ) {
        let workflow = ctx.workflow();
        let learn = || self.state.learn(workflow, || ctx.engine.graph_of(workflow));
        if !self.state.stops(workflow, &ctx.run, &key, when, learn) {
            return;
        }
        learn();
        let journaled = match ctx.engine.store().journal(&ctx.run).await {
            Ok(journal) => journal
                .iter()
                .map(|entry| {
                    let value = match &entry.outcome {
                        StepOutcome::Completed(value) | StepOutcome::FellBack(value) => {
                            value.to_string()
                        }
                        StepOutcome::Failed(failed) => failed.message.clone(),
                    };
                    (entry.key.to_string(), value)
                })
                .collect(),
            Err(error) => vec![("(journal)".to_owned(), error.to_string())],
        };
        let node = self.state.site(workflow, key.name()).map(|site| site.node);
        let pause = Pause {
            run: ctx.run.clone(),
            workflow,
            key,
            when,
            arguments,
            output,
            error,
            journaled,
            node,
        };
        tracing::info!(run = %pause.run, key = %pause.key, ?when, "paused by the debugger");
        let (id, woken) = self.state.pause(pause);
        let _waiting = Waiting {
            state: self.state,
            run: &ctx.run,
            id,
        };
        // Resumed, or the debugger went away: either way, go on.
        let _ = woken.await;
    }
}
