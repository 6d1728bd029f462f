//! The Patterns chapter, `trailhead-core/docs/patterns.md`, shows each
//! pattern's flowchart as the macro draws it. Each pattern's chart test
//! checks its block here; `UPDATE_DOCS=1 cargo test` rewrites the blocks.

use std::path::PathBuf;
use std::sync::Mutex;

/// Serialises the rewrites of the chapter by tests running at once.
static CHAPTER: Mutex<()> = Mutex::new(());

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("trailhead-core/docs/patterns.md")
}

/// Checks that the chapter's block after `<!-- chart: {pattern} -->` is
/// `chart` (a workflow's `MERMAID`, the definition's chart without an
/// instance's title), or rewrites it when `UPDATE_DOCS` is set.
pub(crate) fn assert_charted(pattern: &str, chart: &str) {
    let _guard = CHAPTER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let text = std::fs::read_to_string(path()).unwrap();
    let marker = format!("<!-- chart: {pattern} -->\n```mermaid\n");
    let start = text
        .find(&marker)
        .unwrap_or_else(|| panic!("the chapter has no `{}`", marker.trim_end()))
        + marker.len();
    let end = start + text[start..].find("```").expect("the block ends");
    let expected = format!("{}\n", chart.trim_end());
    if text[start..end] == expected {
        return;
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        let updated = format!("{}{expected}{}", &text[..start], &text[end..]);
        std::fs::write(path(), updated).unwrap();
        return;
    }
    panic!(
        "the Patterns chapter's `{pattern}` chart is not the one drawn; rerun with \
         UPDATE_DOCS=1 to update it. Drawn:\n{chart}"
    );
}
