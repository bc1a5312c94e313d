//! Which files under a table a version still needs, and which paths
//! VACUUM never touches. VACUUM deletes what is outside this set; the
//! consistency check reports it as orphans.

use std::collections::HashSet;

use delta_io::dv::{self, DvLocation};
use delta_io::paths::resolve_log_path;
use delta_log::DeletionVectorDescriptor;
use object_store::path::Path;

use crate::Snapshot;

/// The files a snapshot needs, as store paths: its data files and those of
/// its tombstones deleted after a cutoff, with their deletion-vector files.
#[derive(Debug, Default)]
pub struct RetainedFiles {
    files: HashSet<Path>,
}

impl RetainedFiles {
    /// The files of `snapshot`'s active files and of its tombstones deleted
    /// after `cutoff_ms` (`i64::MIN` keeps every tombstone the snapshot
    /// knows).
    pub fn of(snapshot: &Snapshot, cutoff_ms: i64) -> RetainedFiles {
        let root = &snapshot.state().root;
        let table = delta_log::paths::table_url_at(&snapshot.state().table, root);
        let mut files = HashSet::new();
        // a path outside the table's store cannot be under its root: it is
        // never listed, so it needs no entry
        let mut keep = |path: &str, dv: Option<&DeletionVectorDescriptor>| {
            if let Ok(p) = resolve_log_path(root, table.as_ref(), path) {
                files.insert(p);
            }
            if let Some(dv) = dv
                && let Ok(DvLocation::File { path, .. }) = dv::locate(dv)
                && let Ok(p) = resolve_log_path(root, table.as_ref(), &path)
            {
                files.insert(p);
            }
        };
        for file in snapshot.files().iter() {
            keep(file.path(), file.deletion_vector());
        }
        for tombstone in &snapshot.state().tombstones {
            if tombstone.deletion_timestamp.unwrap_or(0) > cutoff_ms {
                keep(&tombstone.path, tombstone.deletion_vector.as_ref());
            }
        }
        RetainedFiles { files }
    }

    /// Whether `path` (a store path) is needed.
    pub fn contains(&self, path: &Path) -> bool {
        self.files.contains(path)
    }
}

/// `path` relative to `root` (`None` for a path not under it).
pub fn relative_to(root: &Path, path: &Path) -> Option<String> {
    let parts: Vec<_> = path
        .prefix_match(root)?
        .map(|p| p.as_ref().to_string())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Whether VACUUM leaves a path (relative to the table root) alone: the
/// log, and any component that starts with `_` or `.` except partition
/// directories of the table, `_change_data` and `_delta_index` (Spark's
/// `isHiddenDirectory`).
pub fn vacuum_ignores(relative: &str, partition_columns: &[String]) -> bool {
    relative.split('/').any(|component| {
        (component.starts_with('_') || component.starts_with('.'))
            && !component.starts_with("_change_data")
            && !component.starts_with("_delta_index")
            && !partition_columns
                .iter()
                .any(|c| component.starts_with(&format!("{c}=")))
    }) || relative.starts_with("_delta_log")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_paths_follow_sparks_rule() {
        let parts = ["_p".to_string()];
        assert!(vacuum_ignores(
            "_delta_log/00000000000000000000.json",
            &parts
        ));
        assert!(vacuum_ignores("_delta_log/_commits/x.json", &parts));
        assert!(vacuum_ignores(".hidden.parquet", &parts));
        assert!(vacuum_ignores("p=a/.name", &parts));
        assert!(vacuum_ignores("p=a/_tmp/part-0.parquet", &parts));
        assert!(vacuum_ignores("_staging/part-0.parquet", &parts));
        assert!(!vacuum_ignores("part-0.parquet", &parts));
        assert!(!vacuum_ignores("deletion_vector_x.bin", &parts));
        assert!(!vacuum_ignores("_change_data/cdc-0.parquet", &parts));
        assert!(!vacuum_ignores("_p=1/part-0.parquet", &parts));
        assert!(!vacuum_ignores("ab/part-0.parquet", &parts));
    }

    #[test]
    fn relative_paths_are_under_the_root() {
        let root = Path::from("t");
        assert_eq!(
            relative_to(&root, &Path::from("t/p=a/f.parquet")).as_deref(),
            Some("p=a/f.parquet")
        );
        assert_eq!(relative_to(&root, &Path::from("other/f.parquet")), None);
        assert_eq!(relative_to(&root, &Path::from("t2/f.parquet")), None);
    }
}
