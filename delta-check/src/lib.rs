//! Consistency checks for Delta tables: does the log hold together, and do
//! the data files it names exist as it says?
//!
//! [`check`] reads the table and reports [`Finding`]s, each with a stable
//! id, a severity, where (version, file) and a one-line explanation. It is
//! read-only. The checks so far:
//!
//! | id | severity | what |
//! |---|---|---|
//! | `log.unreadable` | error | the latest version cannot be loaded at all |
//! | `log.version-missing` | error | a commit between the oldest checkpoint and the latest version is missing |
//! | `log.commit-unreadable` | error | a commit file does not parse |
//! | `log.duplicate-metadata` | error | a commit has two `metaData` actions |
//! | `log.add-and-remove` | error | a commit adds and removes the same file (path and deletion vector) |
//! | `data.file-missing` | error | an active data file is not in the store |
//! | `data.size-mismatch` | error | an active data file's size differs from the log's |
//! | `data.dv-file-missing` | error | a deletion-vector file an active file needs is not in the store |
//!
//! Repair, deep checks (footers, statistics, constraints) and orphan files
//! come next.
//!
//! ```no_run
//! # async fn demo() -> Result<(), delta_txn::TxnError> {
//! let table = delta_txn::Table::open("/data/events").await?;
//! let report = delta_check::check(&table).await;
//! for finding in &report.findings {
//!     println!("{finding}");
//! }
//! # Ok(())
//! # }
//! ```

use std::collections::HashSet;
use std::fmt;

use delta_io::dv::{DvDescriptor, DvLocation};
use delta_io::paths::resolve_log_path;
use delta_log::segment::complete_checkpoints;
use delta_log::{Action, FileKey};
use delta_txn::{Snapshot, Table};
use futures::StreamExt;
use object_store::ObjectStoreExt;
use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing (e.g. files VACUUM will take).
    Info,
    /// Not wrong yet, but a reader or writer may stumble.
    Warning,
    /// The table is inconsistent.
    Error,
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The check's stable id, e.g. `data.file-missing`.
    pub id: &'static str,
    /// How bad.
    pub severity: Severity,
    /// The version concerned, if one.
    pub version: Option<u64>,
    /// The file concerned (as the log names it), if one.
    pub file: Option<String>,
    /// What is wrong, in one line.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{severity} [{}]", self.id)?;
        if let Some(v) = self.version {
            write!(f, " version {v}")?;
        }
        if let Some(file) = &self.file {
            write!(f, " {file}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// What [`check`] found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The version checked (the latest), when it could be loaded.
    pub version: Option<u64>,
    /// Every finding, in the order of the checks.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether no finding is an error.
    pub fn is_clean(&self) -> bool {
        !self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

fn finding(
    id: &'static str,
    version: Option<u64>,
    file: Option<&str>,
    message: impl Into<String>,
) -> Finding {
    Finding {
        id,
        severity: Severity::Error,
        version,
        file: file.map(str::to_string),
        message: message.into(),
    }
}

/// Checks `table` (see the crate doc); never fails: what cannot be read is
/// a finding.
pub async fn check(table: &Table) -> Report {
    let mut report = Report::default();
    check_log(table, &mut report).await;
    let snapshot = match table.snapshot().await {
        Ok(s) => s,
        Err(e) => {
            report.findings.push(finding(
                "log.unreadable",
                None,
                None,
                format!("the latest version cannot be loaded: {e}"),
            ));
            return report;
        }
    };
    report.version = Some(snapshot.version());
    check_data_files(table, &snapshot, &mut report).await;
    report
}

/// The log: contiguous commits from the oldest checkpoint on, each
/// parsing, none with actions the protocol forbids together.
async fn check_log(table: &Table, report: &mut Report) {
    let log = table.log();
    let files = match log.commit_log().list_from(0).await {
        Ok(files) => files,
        Err(e) => {
            report.findings.push(finding(
                "log.unreadable",
                None,
                None,
                format!("the log cannot be listed: {e}"),
            ));
            return;
        }
    };
    let commits: Vec<u64> = files
        .iter()
        .filter(|f| f.suffix == "json")
        .map(|f| f.version)
        .collect();
    let Some(&latest) = commits.iter().max() else {
        return;
    };
    // history is readable from the oldest checkpoint (its commits after it)
    // or from commit 0
    let first = match complete_checkpoints(&files).keys().next() {
        Some(&cp) if !commits.contains(&0) => cp + 1,
        _ => 0,
    };
    let present: HashSet<u64> = commits.iter().copied().collect();
    for version in first..=latest {
        if !present.contains(&version) {
            report.findings.push(finding(
                "log.version-missing",
                Some(version),
                None,
                format!("commit {version} is missing between versions {first} and {latest}"),
            ));
            continue;
        }
        match log.read_commit(version).await {
            Ok(actions) => check_commit(version, &actions, report),
            Err(e) => report.findings.push(finding(
                "log.commit-unreadable",
                Some(version),
                None,
                format!("the commit does not parse: {e}"),
            )),
        }
    }
}

/// Actions the protocol forbids together in one commit.
fn check_commit(version: u64, actions: &[Action], report: &mut Report) {
    let metadata = actions
        .iter()
        .filter(|a| matches!(a, Action::Metadata(_)))
        .count();
    if metadata > 1 {
        report.findings.push(finding(
            "log.duplicate-metadata",
            Some(version),
            None,
            format!("the commit has {metadata} metaData actions; the protocol allows one"),
        ));
    }
    // the same logical file: path and deletion vector (a file whose vector
    // changes is removed and added again, legally)
    let added: HashSet<FileKey> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Add(add) => Some(add.file_key()),
            _ => None,
        })
        .collect();
    for action in actions {
        if let Action::Remove(remove) = action
            && added.contains(&remove.file_key())
        {
            report.findings.push(finding(
                "log.add-and-remove",
                Some(version),
                Some(&remove.path),
                "the commit adds and removes the same file",
            ));
        }
    }
}

/// Every active file (and its deletion-vector file) exists with the size
/// the log says.
async fn check_data_files(table: &Table, snapshot: &Snapshot, report: &mut Report) {
    let location = table.location();
    let url = delta_log::paths::table_url_at(&snapshot.state().table, &location.root);
    // (id, file as the log names it, expected size)
    let mut wanted: Vec<(&'static str, String, Option<u64>)> = Vec::new();
    let mut dv_files: HashSet<String> = HashSet::new();
    for file in snapshot.files().iter() {
        wanted.push((
            "data.file-missing",
            file.path().to_string(),
            u64::try_from(file.size()).ok(),
        ));
        if let Some(dv) = file.deletion_vector()
            && let Ok(DvLocation::File { path, .. }) = DvDescriptor::from(dv).locate()
            && dv_files.insert(path.clone())
        {
            wanted.push(("data.dv-file-missing", path, None));
        }
    }
    let version = snapshot.version();
    let found: Vec<Option<Finding>> = futures::stream::iter(wanted)
        .map(|(id, path, size)| {
            let url = url.clone();
            async move {
                let store_path = match resolve_log_path(&location.root, url.as_ref(), &path) {
                    Ok(p) => p,
                    Err(e) => {
                        return Some(finding(id, Some(version), Some(&path), e.to_string()));
                    }
                };
                match location.store.head(&store_path).await {
                    Ok(meta) => match size {
                        Some(size) if size != meta.size => Some(finding(
                            "data.size-mismatch",
                            Some(version),
                            Some(&path),
                            format!("the log says {size} bytes, the store has {}", meta.size),
                        )),
                        _ => None,
                    },
                    Err(object_store::Error::NotFound { .. }) => Some(finding(
                        id,
                        Some(version),
                        Some(&path),
                        "the file is not in the store",
                    )),
                    Err(e) => Some(finding(
                        id,
                        Some(version),
                        Some(&path),
                        format!("the file cannot be looked up: {e}"),
                    )),
                }
            }
        })
        .buffered(16)
        .collect()
        .await;
    report.findings.extend(found.into_iter().flatten());
}
