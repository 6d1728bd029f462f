//! Where the step path meets the debugger: before a step's first attempt
//! and after it settles, a step that stops waits to be resumed.

use super::state::DebugState;
use super::{Pause, When};
use crate::RunContext;
use crate::key::KeyRef;

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
        let arguments = || arguments.map(<[String]>::to_vec).unwrap_or_default();
        self.stop(ctx, key, When::Before, arguments, || (None, None))
            .await;
    }

    /// After step `key` settled (`failed` for good, or not): `outcome` gives
    /// its output's text or its error's, made only if the step stops.
    pub(crate) async fn after(
        &self,
        ctx: &RunContext,
        key: KeyRef<'_>,
        failed: bool,
        outcome: impl FnOnce() -> Result<String, String>,
    ) {
        let when = if failed { When::Failed } else { When::After };
        let settled = || match outcome() {
            Ok(output) => (Some(output), None),
            Err(error) => (None, Some(error)),
        };
        self.stop(ctx, key, when, Vec::new, settled).await;
    }

    async fn stop(
        &self,
        ctx: &RunContext,
        key: KeyRef<'_>,
        when: When,
        arguments: impl FnOnce() -> Vec<String>,
        settled: impl FnOnce() -> (Option<String>, Option<String>),
    ) {
        let workflow = ctx.workflow();
        let learn = || self.state.learn(workflow, || ctx.engine.graph_of(workflow));
        if !self.state.stops(workflow, &ctx.run, key, when, learn) {
            return;
        }
        learn();
        let journaled = match ctx.engine.store().journal(&ctx.run).await {
            Ok(journal) => journal
                .iter()
                .map(|entry| (entry.key.to_string(), entry.outcome.text()))
                .collect(),
            Err(error) => vec![("(journal)".to_owned(), error.to_string())],
        };
        let node = self.state.site(workflow, key.name).map(|site| site.node);
        let (output, error) = settled();
        let arguments = arguments();
        let key = key.to_key();
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
