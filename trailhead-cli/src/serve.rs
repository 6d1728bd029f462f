//! `trailhead serve`: the web dashboard of the store, until interrupted.

use std::io::Write as _;

use trailhead_dashboard::{Actions, Dashboard};

use crate::Output;
use crate::cli::ServeArgs;
use crate::failure::{Failure, GENERAL};
use crate::open::Opened;

/// Whether the dashboard `args` asks for takes actions (and so needs the
/// store writable).
pub(crate) fn acts(args: &ServeArgs) -> bool {
    args.allow_actions || args.token.is_some()
}

/// Serves the dashboard of `opened` as `args` say, until Ctrl-C.
pub(crate) async fn serve(opened: &Opened, args: &ServeArgs) -> Result<Output, Failure> {
    let actions = match (&args.token, args.allow_actions) {
        (Some(token), _) if token.is_empty() => {
            return Err(Failure::new(GENERAL, "the dashboard token is empty"));
        }
        (Some(token), _) => Actions::Token(token.clone()),
        (None, true) => Actions::Allowed,
        (None, false) => Actions::ReadOnly,
    };
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|error| {
            Failure::new(GENERAL, format!("cannot listen on {}: {error}", args.addr))
        })?;
    let address = listener.local_addr().map_err(|error| {
        Failure::new(GENERAL, format!("cannot listen on {}: {error}", args.addr))
    })?;
    let mode = match actions {
        Actions::ReadOnly => "read-only",
        Actions::Token(_) => "actions with the token",
        _ => "actions allowed",
    };
    eprintln!(
        "serving the dashboard of `{}` at http://{address}/ ({mode}); Ctrl-C stops it",
        opened.name
    );
    let _ = std::io::stderr().flush();
    let dashboard = Dashboard::new(opened.engine()).actions(actions);
    tokio::select! {
        served = dashboard.serve(listener) => {
            served.map_err(|error| Failure::new(GENERAL, format!("the dashboard stopped: {error}")))?;
        }
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(Output::stdout(String::new()))
}
