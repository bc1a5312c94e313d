//! Writes a checkpoint of the latest version of a local table:
//! `cargo run -p delta-log --example checkpoint -- /path/to/table`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "example")]

use std::sync::Arc;

use delta_log::DeltaLog;
use object_store::local::LocalFileSystem;
use object_store::path::Path;

#[tokio::main]
async fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: checkpoint TABLE_DIR");
    let dir = std::path::Path::new(&dir)
        .canonicalize()
        .expect("table directory");
    let root = Path::from_absolute_path(&dir).expect("path");
    let log = DeltaLog::new(
        Arc::new(LocalFileSystem::new()),
        root,
        dir.display().to_string(),
    );
    let state = log.state(None).await.expect("readable table");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let info = log
        .write_checkpoint(&state, now, None)
        .await
        .expect("checkpoint");
    println!("{}", serde_json::to_string(&info).expect("json"));
}
