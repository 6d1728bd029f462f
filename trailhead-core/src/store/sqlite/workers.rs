//! Workers on one machine, and how a store tells a live one from a dead one.
//!
//! Each [`SqliteStore`](super::SqliteStore) is a worker with a fresh id. It
//! creates `<database>-workers/<id>.lock` and holds an exclusive lock on it
//! for as long as it lives. The operating system drops that lock when the
//! process exits, however it exits (SIGKILL included), so another process
//! that finds the lock free knows the worker is gone and may take its runs
//! over at once: no lease expiry, no heartbeat, no clock.
//!
//! The lock is taken before the worker claims anything, so a worker that owns
//! a run always holds its lock; a worker that finds a dead worker's file takes
//! the lock itself before removing the file, so a live worker's file is never
//! removed.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

use crate::store::WorkerId;

/// This process's worker: its id, and the lock that says it is alive.
#[derive(Debug)]
pub(super) struct Workers {
    dir: PathBuf,
    me: WorkerId,
    /// Held (locked) for the worker's life; unlocked when dropped.
    _alive: File,
}

impl Workers {
    /// Registers a new worker for the database at `database`.
    pub(super) fn register(database: &Path) -> io::Result<Self> {
        let dir = dir_of(database);
        create_private_dir(&dir)?;
        let me = WorkerId::generate();
        let file = private_file(&file_of(&dir, me.as_str()))?;
        file.try_lock().map_err(|error| match error {
            TryLockError::WouldBlock => io::Error::other("a fresh worker's lock file is locked"),
            TryLockError::Error(error) => error,
        })?;
        Ok(Self {
            dir,
            me,
            _alive: file,
        })
    }

    /// This worker's id.
    pub(super) fn me(&self) -> &WorkerId {
        &self.me
    }

    /// Whether worker `worker` is alive: it is this one, or its process
    /// still holds its lock. A worker found dead has its file removed.
    ///
    /// When the lock file cannot be examined (permissions, I/O), the worker
    /// is taken to be alive: a run left alone is safe, a run taken from a
    /// live worker is not.
    pub(super) fn is_alive(&self, worker: &str) -> bool {
        if worker == self.me.as_str() {
            return true;
        }
        let path = file_of(&self.dir, worker);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return false,
            Err(_) => return true,
        };
        match file.try_lock() {
            Ok(()) => {
                // Removed while locked by us, so no live worker loses its file.
                let _ = std::fs::remove_file(&path);
                false
            }
            Err(TryLockError::WouldBlock) => true,
            Err(TryLockError::Error(_)) => true,
        }
    }
}

impl Workers {
    /// The ids of the workers that have a lock file (alive, or dead and not
    /// yet found so).
    pub(super) fn known(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return vec![self.me.as_str().to_owned()];
        };
        entries
            .filter_map(|entry| {
                let name = entry.ok()?.file_name();
                name.to_str()?.strip_suffix(".lock").map(str::to_owned)
            })
            .collect()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(file_of(&self.dir, self.me.as_str()));
    }
}

/// `<database>-workers`, beside the database.
fn dir_of(database: &Path) -> PathBuf {
    super::file::sidecar(database, "-workers")
}

fn file_of(dir: &Path, worker: &str) -> PathBuf {
    dir.join(format!("{worker}.lock"))
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}
