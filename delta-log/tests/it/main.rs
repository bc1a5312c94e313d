//! Integration tests of delta-log.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod bad_input;
mod checkpoint;
mod core_reuse;
mod testdata;

use std::path::PathBuf;
use std::sync::Arc;

use delta_log::DeltaLog;
use object_store::local::LocalFileSystem;
use object_store::path::Path;

/// The shared corpus of real tables.
pub fn testdata_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/testdata"
    ))
    .canonicalize()
    .expect("../shared/testdata must exist beside the workspace")
}

/// The log of a table in a local directory.
pub fn local_log(dir: &std::path::Path) -> DeltaLog {
    let root = Path::from_absolute_path(dir).unwrap();
    DeltaLog::new(
        Arc::new(LocalFileSystem::new()),
        root,
        dir.display().to_string(),
    )
}
