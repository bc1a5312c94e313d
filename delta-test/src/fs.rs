//! File-system helpers for tests: the corpus and scratch copies of tables.

use std::io;
use std::path::{Path, PathBuf};

/// The corpus of real tables, `testdata/` in the workspace.
pub fn testdata_dir() -> io::Result<PathBuf> {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata")).canonicalize()
}

/// A fresh, empty scratch directory named after `name` and this process.
pub fn scratch_dir(name: &str) -> io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("delta-test-{name}-{}", std::process::id()));
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Copies the tree `src` into `dst` (created if needed).
pub fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let to = dst.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &to)?;
        } else {
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}

/// A scratch copy of the table directory `src`.
pub fn scratch_copy(src: &Path, name: &str) -> io::Result<PathBuf> {
    let dir = scratch_dir(name)?;
    copy_tree(src, &dir)?;
    Ok(dir)
}
