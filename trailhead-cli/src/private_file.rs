//! The files `trace` and `export` write: new, and readable by their owner
//! only (a run's steps, errors, inputs and outputs are customer data).

use std::io::Write as _;
use std::path::Path;

use crate::failure::{Failure, GENERAL};

/// Writes `bytes` to a new file at `path` that only its owner can read,
/// never over an existing file; `what` names the contents in the failure
/// ("cannot write the trace to `…`").
pub(crate) fn write(path: &Path, bytes: &[u8], what: &str) -> Result<(), Failure> {
    create_and_write(path, bytes).map_err(|error| {
        Failure::new(
            GENERAL,
            format!("cannot write the {what} to `{}`: {error}", path.display()),
        )
    })
}

fn create_and_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
