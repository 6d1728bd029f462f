//! Starting this process's throwaway cluster: a fresh folder, `initdb`, a
//! server on a free port, and the watchdog that removes it all at the end.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::watchdog::Watchdog;
use crate::{binaries, schema};

/// Most servers the cluster is asked to serve at once: the tests of one
/// binary run in parallel, each with a store or two and their pools.
const MAX_CONNECTIONS: u32 = 200;

/// Ports tried before giving up, in case another process takes the free port
/// found between the look and the server's bind.
const PORT_ATTEMPTS: usize = 5;

/// A running throwaway cluster. Never dropped (it lives in a static): the
/// watchdog stops it when the process ends.
#[derive(Debug)]
pub(crate) struct Cluster {
    port: u16,
    _watchdog: Watchdog,
}

impl Cluster {
    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

/// Starts a cluster, or says why it could not.
pub(crate) fn start() -> Result<Cluster, String> {
    let began = Instant::now();
    let bin = binaries::find()?;
    let as_postgres = running_as_root();
    let dir = make_dir(as_postgres)?;
    // From here the watchdog owns the folder: if anything below fails, the
    // watchdog is dropped with the error and removes it at once.
    let watchdog = Watchdog::spawn(&dir, &bin, as_postgres)?;
    initdb(&bin, &dir, as_postgres)?;
    let initialized = began.elapsed();
    let port = start_server(&bin, &dir, as_postgres)?;
    wait_until_accepting(port)?;
    eprintln!(
        "trailhead-test-postgres: PostgreSQL from {} on 127.0.0.1:{port}, ready in {:.2} s \
         (initdb {:.2} s, start {:.2} s)",
        bin.display(),
        began.elapsed().as_secs_f64(),
        initialized.as_secs_f64(),
        (began.elapsed() - initialized).as_secs_f64(),
    );
    Ok(Cluster {
        port,
        _watchdog: watchdog,
    })
}

/// Whether this process runs as root, where `initdb` and `pg_ctl` refuse to
/// run and must be run as the `postgres` user. Read from `id -u`, so no
/// `unsafe` call to `geteuid` is needed.
fn running_as_root() -> bool {
    id(&["-u"]).is_ok_and(|uid| uid == 0)
}

fn id(args: &[&str]) -> Result<u32, String> {
    let output = Command::new("id")
        .args(args)
        .output()
        .map_err(|error| format!("cannot run `id`: {error}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim().parse().map_err(|_| {
        format!(
            "`id {}` said {:?} {:?}",
            args.join(" "),
            text.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        )
    })
}

/// A new private folder for the cluster (its data, log and socket), owned by
/// the `postgres` user when the server runs as it.
fn make_dir(as_postgres: bool) -> Result<PathBuf, String> {
    let name = format!(
        "trailhead-pg-{}-{:08x}",
        std::process::id(),
        schema::random() as u32
    );
    let dir = std::env::temp_dir().join(name);
    let mut builder = std::fs::DirBuilder::new();
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(&dir)
        .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    if as_postgres {
        let (uid, gid) = (id(&["-u", "postgres"])?, id(&["-g", "postgres"])?);
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .map_err(|error| format!("cannot give {} to `postgres`: {error}", dir.display()))?;
    }
    Ok(dir)
}

/// `program` of `bin`, run as the `postgres` user if need be.
pub(crate) fn command(bin: &Path, program: &str, as_postgres: bool) -> Command {
    let program = bin.join(program);
    let mut command = if as_postgres {
        let mut runuser = Command::new("runuser");
        runuser.args(["-u", "postgres", "--"]).arg(program);
        runuser
    } else {
        Command::new(program)
    };
    command.stdin(Stdio::null());
    command
}

fn initdb(bin: &Path, dir: &Path, as_postgres: bool) -> Result<(), String> {
    let output = command(bin, "initdb", as_postgres)
        .arg("-D")
        .arg(dir.join("data"))
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
        ])
        .arg("--no-sync")
        .output()
        .map_err(|error| format!("cannot run initdb: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "initdb failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Starts the server on a free port and returns the port, trying another if
/// someone took the one found before the server bound it.
fn start_server(bin: &Path, dir: &Path, as_postgres: bool) -> Result<u16, String> {
    let log = dir.join("log");
    let mut last = String::new();
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port()?;
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k '{}' -c fsync=on \
             -c max_connections={MAX_CONNECTIONS}",
            dir.display()
        );
        // pg_ctl's output to a file, not a pipe: the server it starts must
        // not hold a pipe this process reads to its end.
        let out = dir.join("pg_ctl.out");
        let file = File::create(&out).map_err(|error| format!("cannot create {out:?}: {error}"))?;
        let errors = file
            .try_clone()
            .map_err(|error| format!("cannot open {out:?}: {error}"))?;
        let status = command(bin, "pg_ctl", as_postgres)
            .arg("-D")
            .arg(dir.join("data"))
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .stdout(file)
            .stderr(errors)
            .status()
            .map_err(|error| format!("cannot run pg_ctl: {error}"))?;
        if status.success() {
            return Ok(port);
        }
        last = std::fs::read_to_string(&log).unwrap_or_default();
        if !last.contains("could not bind") && !last.contains("already in use") {
            break;
        }
    }
    Err(format!("the server did not start; its log:\n{last}"))
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| format!("no free port on 127.0.0.1: {error}"))
}

/// `pg_ctl -w` waited for the server to say it is ready; this checks that
/// its TCP port answers too.
fn wait_until_accepting(port: u16) -> Result<(), String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let began = Instant::now();
    loop {
        match TcpStream::connect_timeout(&address, Duration::from_secs(1)) {
            Ok(_) => return Ok(()),
            Err(error) if began.elapsed() > Duration::from_secs(10) => {
                return Err(format!("the server does not accept connections: {error}"));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}
