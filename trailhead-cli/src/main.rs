//! `trailhead`: look at the runs in a trailhead store, and act on them.
//!
//! Each subcommand lives in a file of its own; `open` opens the store the
//! command names, `failure` turns errors into one line and an exit code,
//! `private_file` writes the files `trace` and `export` are given.

#![forbid(unsafe_code)]

mod act;
mod cli;
mod debug;
mod diagram;
mod export;
mod failure;
mod fork;
mod format;
mod graph;
mod json;
mod open;
mod private_file;
mod recorded;
mod runs;
mod schedules;
mod serve;
mod show;
mod stats;
mod table;
mod timeline;
mod trace;
mod watch;

use std::io::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::cli::{Cli, Command};
use crate::failure::{Failure, GENERAL};
use crate::open::Access;

/// What a command prints, and the exit code it ends with.
#[derive(Debug)]
pub(crate) struct Output {
    /// Printed on stdout.
    pub(crate) stdout: String,
    /// A note for the user, printed on stderr.
    pub(crate) stderr: Option<String>,
    /// The exit code.
    pub(crate) code: u8,
}

impl Output {
    /// `stdout`, then exit code 0.
    pub(crate) fn stdout(stdout: String) -> Self {
        Self {
            stdout,
            stderr: None,
            code: 0,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Debug(args) = &cli.command {
        // A process's dashboard, over HTTP: no store, no async runtime.
        if args.url.is_none() {
            Cli::command()
                .error(
                    clap::error::ErrorKind::MissingRequiredArgument,
                    "no dashboard given: pass --url URL or set TRAILHEAD_DASHBOARD_URL",
                )
                .exit();
        }
        return finish(debug::debug(args));
    }
    let positional = match &cli.command {
        Command::Serve(args) => args.store_path.clone(),
        _ => None,
    };
    let Some(store) = positional.or_else(|| cli.store.clone()) else {
        Cli::command()
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "no store given: pass --store PATH|URL or set TRAILHEAD_STORE",
            )
            .exit();
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("trailhead: cannot start the async runtime: {error}");
            return ExitCode::from(GENERAL);
        }
    };
    finish(runtime.block_on(run(&cli, &store)))
}

/// Prints what a command printed, or why it failed; its exit code.
fn finish(result: Result<Output, Failure>) -> ExitCode {
    match result {
        Ok(output) => {
            // A closed pipe (`trailhead runs | head`) is not an error.
            let _ = std::io::stdout().lock().write_all(output.stdout.as_bytes());
            if let Some(note) = output.stderr {
                eprintln!("{note}");
            }
            ExitCode::from(output.code)
        }
        Err(failure) => {
            eprintln!("trailhead: {}", failure.message);
            failure.exit_code()
        }
    }
}

async fn run(cli: &Cli, store: &str) -> Result<Output, Failure> {
    let access = match cli.command {
        Command::Runs(_)
        | Command::Schedules(_)
        | Command::Show(_)
        | Command::Watch(_)
        | Command::Trace(_)
        | Command::Export(_)
        | Command::Diagram(_)
        | Command::Timeline(_)
        | Command::Stats(_) => Access::Read,
        Command::Cancel(_) | Command::Signal(_) | Command::Fork(_) => Access::Write,
        Command::Serve(ref args) if serve::acts(args) => Access::Write,
        Command::Serve(_) => Access::Read,
        Command::Debug(_) => unreachable!("`debug` opens no store: main runs it"),
    };
    let opened = open::open(store, &cli.schema, access).await?;
    let (name, store) = (opened.name.as_str(), opened.store());
    let output = match &cli.command {
        Command::Runs(args) => runs::runs(store, name, args).await,
        Command::Schedules(args) => schedules::schedules(store, name, args).await,
        Command::Show(args) => show::show(store, name, args).await,
        Command::Watch(args) => watch::watch(store, name, args).await,
        Command::Cancel(args) => act::cancel(&opened, args).await,
        Command::Signal(args) => act::signal(&opened, args).await,
        Command::Fork(args) => fork::fork(&opened, args).await,
        Command::Trace(args) => trace::trace(store, name, args).await,
        Command::Export(args) => export::export(store, name, args).await,
        Command::Diagram(args) => diagram::diagram(store, name, args).await,
        Command::Timeline(args) => timeline::timeline(store, name, args).await,
        Command::Stats(args) => stats::stats(store, name, args).await,
        Command::Serve(args) => serve::serve(&opened, args).await,
        Command::Debug(_) => unreachable!("`debug` opens no store: main runs it"),
    };
    opened.close().await;
    output
}
