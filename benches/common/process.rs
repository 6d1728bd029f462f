//! What the memory benches read of the process: sizes from the environment,
//! resident memory from `/proc/self/status`.

/// `name` from the environment as a count, else `default` (to run a bench
/// smaller, under a heap profiler such as `valgrind --tool=dhat`).
pub(crate) fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or(default)
}

/// A size line of `/proc/self/status` (`VmRSS:`, `VmHWM:`), in bytes.
pub(crate) fn status_bytes(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux's /proc");
    let kib: usize = status
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kib| kib.parse().ok())
        .unwrap_or_else(|| panic!("{field} in kB in /proc/self/status"));
    kib * 1024
}
