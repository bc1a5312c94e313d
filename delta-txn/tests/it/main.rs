//! Integration tests of delta-txn's read API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod read;

use std::path::{Path, PathBuf};

/// The example table shipped with the repository.
pub fn example_table() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/people"))
        .canonicalize()
        .unwrap()
}

/// A copy of a directory tree in a fresh temporary directory.
pub fn copy_tree(src: &Path, name: &str) -> PathBuf {
    let dst = std::env::temp_dir().join(format!("delta-txn-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dst);
    copy_dir(src, &dst);
    dst
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap().flatten() {
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}
