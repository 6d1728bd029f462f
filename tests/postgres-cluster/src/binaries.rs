//! Where PostgreSQL's server binaries (`initdb`, `pg_ctl`) are.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder holding `initdb` and `pg_ctl`: the highest
/// `/usr/lib/postgresql/<version>/bin` (Debian's layout, several versions
/// side by side), else `pg_config --bindir`, else the folder of an `initdb` on
/// the `PATH`.
pub(crate) fn find() -> Result<PathBuf, String> {
    if let Some(bin) = highest_debian_version() {
        return Ok(bin);
    }
    if let Some(bin) = from_pg_config() {
        return Ok(bin);
    }
    if let Some(bin) = on_path("initdb").and_then(|initdb| initdb.parent().map(Path::to_path_buf)) {
        return Ok(bin);
    }
    Err(
        "no PostgreSQL binaries: no /usr/lib/postgresql/<version>/bin, no `pg_config`, \
         no `initdb` on the PATH"
            .to_owned(),
    )
}

fn highest_debian_version() -> Option<PathBuf> {
    let versions = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    versions
        .filter_map(Result::ok)
        .filter_map(|entry| {
            // "15", "16", or "9.6": compared as numbers, not as text.
            let name = entry.file_name().into_string().ok()?;
            let version: Vec<u32> = name
                .split('.')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
}

fn from_pg_config() -> Option<PathBuf> {
    let output = Command::new("pg_config").arg("--bindir").output().ok()?;
    if !output.status.success() {
        return None;
    }
    let bin = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    // Client-only packages ship pg_config without the server.
    has_server(&bin).then_some(bin)
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn has_server(bin: &Path) -> bool {
    bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()
}
