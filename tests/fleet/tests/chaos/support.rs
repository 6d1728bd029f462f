//! Re-running the test binary as a child process, to kill it mid-run (as
//! the crash tests do, through the same crate).

pub(crate) use trailhead_test_child::{child, child_args, log_line};
