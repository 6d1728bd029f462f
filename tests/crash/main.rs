//! The crash tests: each one drives workflows in child processes, which are
//! this test binary re-run with a filter naming one `child_process_entry`
//! test (see [`support::child`]), and kills them mid-run; and the full-disk
//! test, which mounts a tmpfs of its own.
//!
//! They are apart from the behaviour tests because their children re-run the
//! binary they live in: a small binary starts fast, and an ordinary test run
//! here is only these tests.

mod support;

mod continue_crash;
mod crash;
mod disk_full;
mod failed_replay;
mod generic_crash;
mod saga_crash;
mod stream_crash;
mod two_workers;
