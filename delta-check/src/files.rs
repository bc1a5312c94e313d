//! The data files: every active file (and its deletion-vector file) exists
//! with the size the log says and has statistics; files under the table
//! that no retained version references are orphans.

use std::collections::HashSet;

use delta_io::dv::{self, DvLocation};
use delta_io::paths::resolve_log_path;
use delta_txn::progress::Progress;
use delta_txn::retained::{RetainedFiles, relative_to, vacuum_ignores};
use delta_txn::{Snapshot, Table};
use futures::StreamExt;
use object_store::ObjectStoreExt;

use crate::{Finding, Fix, Report, Severity};

/// How many files are looked up at once.
const LOOKUPS: usize = 16;

/// One file to look up: the active file it belongs to (as the log names
/// it), the file itself, and the size the log gives it.
struct Wanted {
    active: String,
    path: String,
    size: Option<u64>,
    dv: bool,
}

/// Every active file (and its deletion-vector file) exists with the size
/// the log says; files without statistics are noted. `done` units of
/// `progress` went to the commits before; returns the units counted now.
pub(crate) async fn check_data_files(
    table: &Table,
    snapshot: &Snapshot,
    report: &mut Report,
    progress: &dyn Progress,
    done: u64,
) -> u64 {
    let location = table.location();
    let url = delta_log::paths::table_url_at(&snapshot.state().table, &location.root);
    let version = snapshot.version();
    let mut wanted = Vec::new();
    let mut dv_files: HashSet<String> = HashSet::new();
    for file in snapshot.files().iter() {
        if file.stats().is_none_or(|s| s.trim().is_empty()) {
            report.push(
                Finding::new(
                    Severity::Info,
                    "data.stats-missing",
                    "the file has no statistics, so scans cannot skip it",
                )
                .at_version(version)
                .at_file(file.path())
                .with_fix(Fix::RecomputeStats {
                    path: file.path().to_string(),
                }),
            );
        }
        wanted.push(Wanted {
            active: file.path().to_string(),
            path: file.path().to_string(),
            size: u64::try_from(file.size()).ok(),
            dv: false,
        });
        if let Some(dv) = file.deletion_vector()
            && let Ok(DvLocation::File { path, .. }) = dv::locate(dv)
            && dv_files.insert(format!("{path}\n{}", file.path()))
        {
            wanted.push(Wanted {
                active: file.path().to_string(),
                path,
                size: None,
                dv: true,
            });
        }
    }
    let counted = done + wanted.len() as u64;
    progress.total(counted);
    let found: Vec<Finding> = futures::stream::iter(wanted)
        .map(|wanted| {
            let url = url.clone();
            async move {
                let missing_id = if wanted.dv {
                    "data.dv-file-missing"
                } else {
                    "data.file-missing"
                };
                let finding = |id: &'static str, message: String| {
                    Finding::error(id, message)
                        .at_version(version)
                        .at_file(&wanted.path)
                };
                // a file of another store or bucket (a shallow clone's) is
                // out of reach, not missing
                let store_path = match resolve_log_path(&location.root, url.as_ref(), &wanted.path)
                {
                    Ok(p) => p,
                    Err(e) => {
                        progress.advance(1);
                        return Some(
                            Finding::new(
                                Severity::Warning,
                                "data.file-elsewhere",
                                format!("the file is outside the table's store, so it is not checked: {e}"),
                            )
                            .at_version(version)
                            .at_file(&wanted.path),
                        );
                    }
                };
                let result = match location.store.head(&store_path).await {
                    Ok(meta) => match wanted.size {
                        Some(size) if size != meta.size => Some(finding(
                            "data.size-mismatch",
                            format!("the log says {size} bytes, the store has {}", meta.size),
                        )),
                        _ => None,
                    },
                    Err(object_store::Error::NotFound { .. }) => Some(
                        finding(missing_id, "the file is not in the store".to_string()).with_fix(
                            Fix::RemoveFile {
                                path: wanted.active.clone(),
                            },
                        ),
                    ),
                    Err(e) => Some(finding(
                        missing_id,
                        format!("the file cannot be looked up: {e}"),
                    )),
                };
                progress.advance(1);
                result
            }
        })
        .buffered(LOOKUPS)
        .filter_map(futures::future::ready)
        .collect()
        .await;
    for finding in found {
        report.push(finding);
    }
    counted
}

/// Files under the table root that no retained version references (the
/// latest version's files and every tombstone it still knows), outside the
/// paths VACUUM leaves alone.
pub(crate) async fn check_orphans(table: &Table, snapshot: &Snapshot, report: &mut Report) {
    let retained = RetainedFiles::of(snapshot, i64::MIN);
    let root = &table.location().root;
    let mut listing = table.location().store.list(Some(root));
    while let Some(meta) = listing.next().await {
        let meta = match meta {
            Ok(meta) => meta,
            Err(e) => {
                report.push(Finding::new(
                    Severity::Warning,
                    "files.unlisted",
                    format!("the table directory cannot be listed for orphan files: {e}"),
                ));
                return;
            }
        };
        let Some(relative) = relative_to(root, &meta.location) else {
            continue;
        };
        if vacuum_ignores(&relative, snapshot.partition_columns())
            || retained.contains(&meta.location)
        {
            continue;
        }
        report.push(
            Finding::new(
                Severity::Info,
                "files.orphan",
                format!(
                    "no retained version references this file ({} bytes); VACUUM takes it once it is older than the retention",
                    meta.size
                ),
            )
            .at_file(relative),
        );
    }
}
