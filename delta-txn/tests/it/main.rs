//! Integration tests of delta-txn's read API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod alter;
mod checkpoint_stats;
mod commit;
mod crash;
mod read;
mod write;
mod writer_rules;

use std::path::{Path, PathBuf};

/// The example table shipped with the repository.
pub fn example_table() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/people"))
        .canonicalize()
        .unwrap()
}

/// A scratch copy of a table directory.
pub fn copy_tree(src: &Path, name: &str) -> PathBuf {
    delta_test::scratch_copy(src, name).unwrap()
}
