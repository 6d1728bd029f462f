//! The store file before SQLite writes to it: created private, looked at
//! read-only.
//!
//! Opening for writing changes a file (the switch to WAL, the schema, a hot
//! journal rolled back), so [`look`] decides first, without writing, whether
//! the file may be opened for writing at all: only when it is new, empty, or a
//! trailhead store this build can read.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::error::problem;
use super::schema::{self, Contents};
use crate::store::DatabaseProblem;

/// The first bytes of every SQLite database file.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Looks at `path` without writing to it, creating it (private) when nothing
/// is there. Ok when the file may be opened for writing: it is new, empty, or
/// a trailhead store this build reads. Refuses another application's
/// database, a damaged file, and a store from a newer trailhead.
pub(super) fn look(path: &Path) -> Result<(), DatabaseProblem> {
    if create_private(path)? {
        return Ok(());
    }
    roll_back_hot_journal(path)?;
    let Some(header) = header(path)? else {
        return Ok(());
    };
    match schema::contents(&inspector(path, &header)?)? {
        Contents::Empty => Ok(()),
        Contents::Store { version } if version > schema::VERSION => {
            Err(DatabaseProblem::NewerSchema {
                found: version,
                supported: schema::VERSION,
            })
        }
        Contents::Store { .. } => Ok(()),
        Contents::Foreign => Err(DatabaseProblem::NotATrailheadStore),
    }
}

/// Looks at `path` for a read-only open, without writing or creating
/// anything: Ok only when it is a trailhead store of exactly this build's
/// schema (an older one would need migrating, which a read-only open never
/// does). A hot `-journal` is not rolled back: reading then fails, as for
/// any read-only SQLite connection.
pub(super) fn look_read_only(path: &Path) -> Result<(), DatabaseProblem> {
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_file() => {}
        Ok(_) => {
            return Err(DatabaseProblem::CannotOpen(format!(
                "`{}` is not a file",
                path.display()
            )));
        }
        Err(error) if error.kind() == ErrorKind::NotFound => {
            return Err(DatabaseProblem::CannotOpen(format!(
                "there is no file `{}`",
                path.display()
            )));
        }
        Err(error) => return Err(cannot_open(path, "read", &error)),
    }
    let Some(header) = header(path)? else {
        return Err(DatabaseProblem::NotATrailheadStore);
    };
    match schema::contents(&inspector(path, &header)?)? {
        Contents::Store { version } if version > schema::VERSION => {
            Err(DatabaseProblem::NewerSchema {
                found: version,
                supported: schema::VERSION,
            })
        }
        Contents::Store { version } if version < schema::VERSION => {
            Err(DatabaseProblem::OlderSchema {
                found: version,
                supported: schema::VERSION,
            })
        }
        Contents::Store { .. } => Ok(()),
        Contents::Empty | Contents::Foreign => Err(DatabaseProblem::NotATrailheadStore),
    }
}

/// Creates the store file with mode 0600 when nothing is at `path`, so that
/// SQLite, which gives its `-wal` and `-shm` the database file's mode, makes
/// them private too. True if it created the file; an existing file is left
/// as it is, mode included.
#[cfg(unix)]
fn create_private(path: &Path) -> Result<bool, DatabaseProblem> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(true),
        Err(error) if error.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(cannot_open(path, "create", &error)),
    }
}

/// Elsewhere SQLite creates the file, with the platform's default access.
#[cfg(not(unix))]
fn create_private(path: &Path) -> Result<bool, DatabaseProblem> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(false),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(true),
        Err(error) => Err(cannot_open(path, "read", &error)),
    }
}

fn cannot_open(path: &Path, what: &str, error: &std::io::Error) -> DatabaseProblem {
    DatabaseProblem::CannotOpen(format!("cannot {what} `{}`: {error}", path.display()))
}

/// The parts of a SQLite file header the look needs.
#[derive(Debug)]
struct Header {
    /// Bytes 18 and 19 are 2: the database is in WAL mode.
    wal: bool,
}

/// Reads and checks the file's header: `None` for an empty file, `Corrupt`
/// for one that is not a SQLite database or is shorter than its header says.
fn header(path: &Path) -> Result<Option<Header>, DatabaseProblem> {
    let mut file = File::open(path).map_err(|error| cannot_open(path, "read", &error))?;
    let length = file
        .metadata()
        .map_err(|error| cannot_open(path, "read", &error))?
        .len();
    if length == 0 {
        return Ok(None);
    }
    let mut bytes = [0_u8; 100];
    match file.read_exact(&mut bytes) {
        Ok(()) => {}
        Err(error) if error.kind() == ErrorKind::UnexpectedEof => {
            return Err(DatabaseProblem::Corrupt);
        }
        Err(error) => return Err(cannot_open(path, "read", &error)),
    }
    if &bytes[..16] != MAGIC {
        return Err(DatabaseProblem::Corrupt);
    }
    let be32 =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let page_size = match u16::from_be_bytes([bytes[16], bytes[17]]) {
        1 => 65_536,
        size if size >= 512 && size.is_power_of_two() => u64::from(size),
        _ => return Err(DatabaseProblem::Corrupt),
    };
    // The page count at 28 is valid when the change counter at 24 matches the
    // one at 92 (SQLite's file format, 1.3.9). Pages that only a `-wal` holds
    // are not in the file yet, so the length is only checked without one.
    let pages = u64::from(be32(28));
    let counted = pages > 0 && be32(24) == be32(92);
    if counted && length < pages * page_size && !has_wal(path) {
        return Err(DatabaseProblem::Corrupt);
    }
    Ok(Some(Header {
        wal: bytes[18] == 2 && bytes[19] == 2,
    }))
}

/// The `-wal` file beside the database, if there is one with frames in it.
fn has_wal(path: &Path) -> bool {
    std::fs::metadata(sidecar(path, "-wal")).is_ok_and(|metadata| metadata.len() > 0)
}

/// `path` with `suffix` appended to its file name: a file beside it.
pub(super) fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A `-journal` beside the file may be hot: a writer stopped in the middle of
/// a transaction (a process killed while it created a store, say), and the
/// file is half-written until SQLite rolls the journal back. A read-only
/// connection cannot, so one read through a read-write connection does it
/// first, as any SQLite reader would, which restores what the file's last
/// writer committed. A journal that is not hot (its writer still at work, or
/// kept by `journal_mode = PERSIST`) makes that read change nothing.
fn roll_back_hot_journal(path: &Path) -> Result<(), DatabaseProblem> {
    if !std::fs::metadata(sidecar(path, "-journal")).is_ok_and(|metadata| metadata.len() > 0) {
        return Ok(());
    }
    let fail = |error: rusqlite::Error| problem(&error);
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(fail)?;
    connection
        .busy_timeout(Duration::from_secs(5))
        .map_err(fail)?;
    connection
        .query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(()))
        .map_err(fail)
}

/// A read-only connection that leaves the file as it found it.
///
/// A read-only connection to a WAL-mode database creates `-wal` and `-shm`
/// files and leaves them behind; when there is no `-wal`, every page is in the
/// main file and nobody has it open, so it is opened `immutable` instead,
/// which creates nothing (Unix; elsewhere the sidecar files may stay).
fn inspector(path: &Path, header: &Header) -> Result<Connection, DatabaseProblem> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let immutable = header.wal && !sidecar(path, "-wal").exists();
    let connection = match immutable_uri(path).filter(|_| immutable) {
        Some(uri) => Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI),
        None => Connection::open_with_flags(path, flags),
    }
    .map_err(|error| problem(&error))?;
    connection
        .busy_timeout(Duration::from_secs(5))
        .map_err(|error| problem(&error))?;
    Ok(connection)
}

/// `file:<path>?immutable=1`, the path percent-encoded.
#[cfg(unix)]
fn immutable_uri(path: &Path) -> Option<String> {
    use std::fmt::Write as _;
    use std::os::unix::ffi::OsStrExt;
    // `file://` + an absolute path: an empty authority, so a path that starts
    // with `//` is not read as a host name.
    let mut uri = String::from(if path.has_root() { "file://" } else { "file:" });
    for &byte in path.as_os_str().as_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-_.~".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            let _ = write!(uri, "%{byte:02X}");
        }
    }
    uri.push_str("?immutable=1");
    Some(uri)
}

#[cfg(not(unix))]
fn immutable_uri(_: &Path) -> Option<String> {
    None
}
