//! A PostgreSQL server for trailhead's tests: the one `DATABASE_URL` names,
//! or a throwaway cluster started for the test process.
//!
//! Every test binary that needs PostgreSQL calls [`url`] and puts each test's
//! tables in a schema of its own ([`unique_schema`]), so tests running in
//! parallel threads of one binary, and binaries running at the same time, never
//! see each other's rows.
//!
//! - **`DATABASE_URL` set:** that server is used as it is (a developer's local
//!   PostgreSQL, a CI service). Nothing is started or stopped.
//! - **Otherwise:** the first call starts one cluster for the whole test
//!   process: PostgreSQL's binaries are found (the highest
//!   `/usr/lib/postgresql/<version>/bin`, else `pg_config --bindir`, else
//!   `initdb` on the `PATH`), `initdb` makes a fresh cluster in a new
//!   temporary folder (as the `postgres` user through `runuser` when the tests
//!   run as root, since `initdb` refuses root), and the server listens on a
//!   free port of 127.0.0.1 and on a socket in that folder, with trust
//!   authentication, user `postgres` and `fsync = on` (the stores' commits are
//!   real). The call returns once it accepts connections.
//! - **Stopped however the process ends.** A small watchdog (`sh`) started
//!   beside the server reads a pipe whose other end only the test process
//!   holds. When the process ends, normally, by a panic or by `SIGKILL`, the
//!   operating system closes the pipe; the watchdog then stops the server
//!   (`pg_ctl stop -m immediate`) and removes the folder. It holds none of the
//!   test's output streams, so cargo's harness does not wait for it.
//! - **Never skipped.** If no PostgreSQL can be found or started, [`url`]
//!   panics with what to do (install Debian's `postgresql`, or set
//!   `DATABASE_URL`): a test that needs PostgreSQL fails rather than passing
//!   without it.
//!
//! Starting costs one `initdb` (run with `--no-sync`: a test cluster need not
//! survive a power cut) and one server start, paid once per test binary; the
//! time is printed to the test's stderr when it starts.
//!
//! # Examples
//!
//! ```no_run
//! let url = trailhead_test_postgres::url();
//! let schema = trailhead_test_postgres::unique_schema("orders");
//! assert!(url.starts_with("postgres://"));
//! assert!(schema.starts_with("orders_"));
//! ```

mod binaries;
mod cluster;
mod schema;
mod watchdog;

use std::sync::OnceLock;

pub use schema::unique_schema;

/// The URL of the PostgreSQL server tests use: `DATABASE_URL` when it is set,
/// else that of this process's throwaway cluster, started on the first call
/// (later calls, from any thread, wait for it and get the same URL).
///
/// # Panics
///
/// If `DATABASE_URL` is not set and no cluster could be started: no
/// PostgreSQL binaries, `initdb` or the server failed. The message says why
/// and how to fix it. Every call panics alike, so each test that needs the
/// server fails.
pub fn url() -> &'static str {
    // The cluster is kept here for the life of the process: dropping it
    // would close the watchdog's pipe, which stops the server.
    static SERVER: OnceLock<Result<(String, Option<cluster::Cluster>), String>> = OnceLock::new();
    let server = SERVER.get_or_init(|| match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Ok((url, None)),
        _ => cluster::start().map(|cluster| (cluster.url(), Some(cluster))),
    });
    match server {
        Ok((url, _)) => url,
        Err(why) => panic!(
            "trailhead's PostgreSQL tests need a server, and none could be started: {why}\n\
             To fix it, either install PostgreSQL's binaries \
             (`apt-get install postgresql` on Debian or Ubuntu; the tests start and stop \
             a throwaway cluster of their own), or point the tests at a running server \
             with `DATABASE_URL=postgres://user@host:port/database`."
        ),
    }
}
