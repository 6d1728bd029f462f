//! Compile-fail tests: every invalid workflow is a compile error with a span.
//!
//! Cases live in `tests/ui/<category>/<case>.rs` next to the `.stderr` they must
//! produce. Refresh with `TRYBUILD=overwrite cargo test --test ui` and read the diff.
//! Compiler messages drift between releases, so the snapshots are pinned to the
//! toolchain they were made with.

#[rustversion::attr(
    not(stable(1.95)),
    ignore = "the .stderr snapshots were made with stable rustc 1.95"
)]
#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*/*.rs");
}
