//! The help the README shows is the help the binary prints.

use crate::support::{code, stdout, trailhead};

#[test]
fn the_readme_shows_the_current_help() {
    let help = trailhead(&["--help"]);
    assert_eq!(code(&help), 0);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let shown = format!("$ trailhead --help\n{}", stdout(&help));
    assert!(
        readme.contains(&shown),
        "README.md's \"The trailhead CLI\" should show:\n{shown}"
    );
    for command in [
        "runs",
        "schedules",
        "show",
        "watch",
        "cancel",
        "signal",
        "fork",
        "trace",
        "export",
        "stats",
        "diagram",
        "timeline",
        "debug",
    ] {
        let help = trailhead(&[command, "--help"]);
        assert_eq!(code(&help), 0);
        assert!(stdout(&help).contains("--store"), "{command}");
    }
    for command in [
        "break",
        "delete",
        "breakpoints",
        "paused",
        "wait",
        "continue",
        "step",
        "step-over",
    ] {
        let help = trailhead(&["debug", command, "--help"]);
        assert_eq!(code(&help), 0, "debug {command}");
        assert!(stdout(&help).contains("--url"), "debug {command}");
    }
}
