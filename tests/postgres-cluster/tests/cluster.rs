//! The harness itself: the URL serves PostgreSQL, and a throwaway cluster is
//! stopped and removed when its test process ends, normally or by SIGKILL.
//!
//! The processes that own a cluster are this test binary itself
//! (`child_entry`, which does nothing unless `TRAILHEAD_PG_CHILD` is set).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether a PostgreSQL server answers at `host:port`: it answers the
/// protocol's SSL request with `S` or `N`, which nothing else would.
fn speaks_postgres(address: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(2)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    // Length 8, then the SSLRequest code 80877103.
    let request = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    let mut answer = [0_u8; 1];
    stream.write_all(&request).is_ok()
        && stream.read_exact(&mut answer).is_ok()
        && matches!(answer[0], b'S' | b'N')
}

/// `host:port` of a `postgres://user@host:port/db` URL.
fn address_of(url: &str) -> SocketAddr {
    let rest = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap();
    let host_port = rest.rsplit_once('@').map_or(rest, |(_, hp)| hp);
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    let host_port = host_port.replace("localhost", "127.0.0.1");
    host_port.parse().unwrap()
}

/// Whether the server at `url` answers now and still does a while later
/// (a cluster being shut down may answer once more).
fn keeps_serving(url: &str) -> bool {
    let address = address_of(url);
    speaks_postgres(address) && {
        std::thread::sleep(Duration::from_millis(1_500));
        speaks_postgres(address)
    }
}

#[test]
fn the_url_serves_postgresql() {
    let url = trailhead_test_postgres::url();
    assert!(keeps_serving(url), "{url}");
    assert_eq!(
        url,
        trailhead_test_postgres::url(),
        "one server per process"
    );
}

#[test]
fn schemas_are_unique_across_threads() {
    let names: Vec<String> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    (0..100)
                        .map(|_| trailhead_test_postgres::unique_schema("t"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|thread| thread.join().unwrap())
            .collect()
    });
    let distinct: std::collections::BTreeSet<_> = names.iter().collect();
    assert_eq!(distinct.len(), names.len());
    assert!(names.iter().all(|name| {
        name.len() <= 63
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }));
}

#[test]
#[should_panic(expected = "schema prefix")]
fn a_prefix_that_is_no_identifier_is_refused() {
    trailhead_test_postgres::unique_schema("Drop Table");
}

/// In a child: starts the cluster, says its URL, then waits until the
/// parent creates `<report>.exit` (or kills it).
#[test]
fn child_entry() {
    let Ok(report) = std::env::var("TRAILHEAD_PG_CHILD") else {
        return;
    };
    let url = trailhead_test_postgres::url();
    // Written whole, then renamed, so the parent never reads half a URL.
    let partial = format!("{report}.partial");
    std::fs::write(&partial, url).unwrap();
    std::fs::rename(&partial, &report).unwrap();
    let exit = PathBuf::from(format!("{report}.exit"));
    while !exit.exists() {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child process that starts its own cluster (never `DATABASE_URL`'s);
/// returns it and the cluster's URL once it is up.
fn child_with_cluster(dir: &Path) -> (Child, String) {
    let report = dir.join("url");
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env_remove("DATABASE_URL")
        .env("TRAILHEAD_PG_CHILD", &report)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let began = Instant::now();
    loop {
        if let Ok(url) = std::fs::read_to_string(&report)
            && !url.is_empty()
        {
            return (child, url);
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child ended before its cluster was up: {status}");
        }
        assert!(began.elapsed() < Duration::from_secs(60), "no cluster");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The cluster folders of process `pid` in the temporary folder.
fn folders_of(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("trailhead-pg-{pid}-");
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .map(|entry| entry.path())
        .collect()
}

/// The processes whose command line mentions `text`, from `ps`.
fn processes_mentioning(text: &str) -> Vec<String> {
    let output = Command::new("ps")
        .args(["-eo", "pid,args"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains(text))
        .map(str::to_owned)
        .collect()
}

/// Waits until the cluster of the ended child `pid` is stopped, its folder
/// removed and no process of it left.
fn assert_cleaned_up(pid: u32, url: &str, folder: &Path) {
    let began = Instant::now();
    let folder_text = folder.display().to_string();
    loop {
        let serving = speaks_postgres(address_of(url));
        let folders = folders_of(pid);
        let processes = processes_mentioning(&folder_text);
        if !serving && folders.is_empty() && processes.is_empty() {
            return;
        }
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "the cluster outlived its process: serving {serving}, folders {folders:?}, \
             processes {processes:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_cluster_is_removed_when_its_process_exits() {
    let dir = tempfile_dir("exit");
    let (mut child, url) = child_with_cluster(&dir);
    let pid = child.id();
    let folder = folders_of(pid).pop().expect("the cluster's folder");
    assert!(keeps_serving(&url), "{url}");
    std::fs::write(dir.join("url.exit"), b"").unwrap();
    assert!(child.wait().unwrap().success());
    assert_cleaned_up(pid, &url, &folder);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_cluster_is_removed_when_its_process_is_killed() {
    let dir = tempfile_dir("kill");
    let (mut child, url) = child_with_cluster(&dir);
    let pid = child.id();
    let folder = folders_of(pid).pop().expect("the cluster's folder");
    assert!(keeps_serving(&url), "{url}");
    assert!(
        !processes_mentioning(&folder.display().to_string()).is_empty(),
        "the server runs from {folder:?}"
    );
    child.kill().unwrap(); // SIGKILL: nothing in the child runs after it.
    child.wait().unwrap();
    assert_cleaned_up(pid, &url, &folder);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A private folder for one test's files (no tempfile dependency here).
fn tempfile_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "trailhead-pg-test-{name}-{}",
        trailhead_test_postgres::unique_schema("d")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
