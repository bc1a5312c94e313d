//! Consistency checks for Delta tables: does the log hold together, do its
//! checkpoints and checksum files agree with its commits, is its metadata
//! sound, and do the data files it names exist as it says?
//!
//! [`check`] reads the table and reports [`Finding`]s, each with a stable
//! id, a severity, where (version, file, column), a one-line explanation
//! and, when a safe one exists, the [`Fix`] that [`repair`] applies. The
//! check itself is read-only.
//!
//! | id | severity | what | fix |
//! |---|---|---|---|
//! | `log.unreadable` | error | the latest version cannot be loaded at all | |
//! | `log.version-missing` | error | commits are missing (from 0, or after the oldest checkpoint when commit 0 is gone) and no later checkpoint covers them; a warning when one does (only time travel to them fails) | |
//! | `log.commit-unreadable` | error | a commit file does not parse | |
//! | `log.duplicate-metadata` | error | a commit has two `metaData` actions | |
//! | `log.duplicate-protocol` | error | a commit has two `protocol` actions | |
//! | `log.add-and-remove` | error | a commit adds and removes the same file (path and deletion vector) | |
//! | `log.remove-unknown` | error | a commit removes a file that is not in the table | |
//! | `log.ict-missing` | error | a commit lacks its in-commit timestamp while the feature is on | |
//! | `log.ict-not-increasing` | error | an in-commit timestamp is not after the one before | |
//! | `protocol.feature-lists` | error | the feature lists do not fit the protocol versions | |
//! | `protocol.feature-missing` | error | the metadata uses a feature the protocol does not list | |
//! | `metadata.schema-invalid` | error | the schema does not parse | |
//! | `metadata.partition-columns` | error | a partition column is missing, repeated or not primitive | |
//! | `metadata.property-invalid` | error | a `delta.*` property has a value Delta rejects | |
//! | `metadata.constraint-invalid` | warning | a CHECK constraint or invariant cannot be checked against the schema (an unknown column, or a form we lack) | |
//! | `metadata.column-mapping` | error | column-mapping ids or physical names are missing or repeated, or ids above `maxColumnId` when it is set | |
//! | `checkpoint.unreadable` | error | a checkpoint (part or sidecar) cannot be read | rewrite it, when the commits before it are there |
//! | `checkpoint.differs` | error | a checkpoint's files, protocol, metadata, txns or domains differ from its commits | rewrite it |
//! | `checkpoint.incomplete` | warning | parts of a multi-part checkpoint are missing (readers skip it) | |
//! | `checkpoint.last-unreadable` | warning | `_last_checkpoint` does not parse | rewrite it |
//! | `checkpoint.last-wrong` | warning | `_last_checkpoint` names no complete checkpoint, or the wrong size or parts | rewrite it |
//! | `checkpoint.last-stale` | info | `_last_checkpoint` names an older checkpoint than the newest | rewrite it |
//! | `crc.unreadable` | error | a `.crc` file does not parse | delete it |
//! | `crc.differs` | error | a `.crc` file disagrees with the commits | delete it |
//! | `data.file-missing` | error | an active data file is not in the store | remove it from the table |
//! | `data.size-mismatch` | error | an active data file's size differs from the log's | |
//! | `data.dv-file-missing` | error | a deletion-vector file an active file needs is not in the store | remove the file from the table |
//! | `data.file-elsewhere` | warning | an active file is outside the table's store (a shallow clone's), so it is not checked | |
//! | `data.stats-missing` | info | an active file has no statistics (no data skipping) | compute them |
//! | `data.unreadable` | error | (deep) an active file does not read as the schema says (its columns do not fit) | |
//! | `data.num-records` | error | (deep) `numRecords` differs from the rows in the file | compute the statistics again |
//! | `data.stats-wrong` | error | (deep) a minimum, maximum or null count does not hold for the rows of a file without a deletion vector | compute the statistics again |
//! | `data.dv-unreadable` | error | (deep) a deletion vector does not read (checksum, size, format) | |
//! | `data.dv-cardinality` | error | (deep) a deletion vector deletes another number of rows than the log says | |
//! | `data.dv-out-of-range` | error | (deep) a deletion vector deletes a row past the end of its file | |
//! | `data.constraint-violated` | error | (deep) rows break a CHECK constraint or invariant | |
//! | `files.unlisted` | warning | the table directory cannot be listed to look for orphans | |
//! | `files.orphan` | info | a file under the table that no retained version references (VACUUM takes it) | |
//!
//! ```no_run
//! # async fn demo() -> Result<(), delta_txn::TxnError> {
//! use delta_check::{CheckOptions, check};
//! use delta_txn::progress::NoProgress;
//!
//! let table = delta_txn::Table::open("/data/events").await?;
//! let report = check(&table, &CheckOptions::default(), &NoProgress).await;
//! for finding in &report.findings {
//!     println!("{finding}");
//! }
//! # Ok(())
//! # }
//! ```

mod deep;
mod files;
mod log;
mod metadata;
mod repair;

use std::fmt;

use delta_txn::Table;
use delta_txn::progress::Progress;
use serde::Serialize;

pub use repair::{RepairError, RepairOutcome, repair};

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

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// A safe repair of one finding: a normal Delta commit or a rewrite of a
/// derived file (checkpoint, `_last_checkpoint`, `.crc`). No fix deletes or
/// changes a data file or a commit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Fix {
    /// Write the checkpoint of this version again, from the commits.
    RewriteCheckpoint {
        /// The version.
        version: u64,
    },
    /// Commit a `remove` of the active file with this path (as the log
    /// names it): its data or deletion-vector file is gone.
    RemoveFile {
        /// The path in the log.
        path: String,
    },
    /// Read the active file with this path and commit it again
    /// (`dataChange=false`) with statistics computed from its rows.
    RecomputeStats {
        /// The path in the log.
        path: String,
    },
    /// Point `_last_checkpoint` at the newest checkpoint that reads (or
    /// delete it when there is none).
    RewriteLastCheckpoint,
    /// Delete the wrong `.crc` file of this version (it is an optional
    /// hint; readers do without).
    DeleteChecksum {
        /// The version.
        version: u64,
    },
}

impl fmt::Display for Fix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fix::RemoveFile { path } => write!(f, "remove {path} from the table (FSCK commit)"),
            Fix::RecomputeStats { path } => {
                write!(f, "compute the statistics of {path} again (FSCK commit)")
            }
            Fix::RewriteCheckpoint { version } => {
                write!(f, "write the checkpoint of version {version} again")
            }
            Fix::RewriteLastCheckpoint => {
                f.write_str("point _last_checkpoint at the newest checkpoint that reads")
            }
            Fix::DeleteChecksum { version } => {
                write!(f, "delete the checksum file of version {version}")
            }
        }
    }
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The check's stable id, e.g. `data.file-missing`.
    pub id: &'static str,
    /// How bad.
    pub severity: Severity,
    /// The version concerned, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The file concerned (as the log names it, or relative to the log
    /// directory for log files), if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The column concerned, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// What is wrong, in one line.
    pub message: String,
    /// The safe repair, if there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

impl Finding {
    /// A finding of `id` with this severity and message, located nowhere yet.
    pub fn new(severity: Severity, id: &'static str, message: impl Into<String>) -> Finding {
        Finding {
            id,
            severity,
            version: None,
            file: None,
            column: None,
            message: message.into(),
            fix: None,
        }
    }

    /// An error finding.
    pub fn error(id: &'static str, message: impl Into<String>) -> Finding {
        Finding::new(Severity::Error, id, message)
    }

    /// Located at a version.
    pub fn at_version(mut self, version: u64) -> Finding {
        self.version = Some(version);
        self
    }

    /// Located at a file.
    pub fn at_file(mut self, file: impl Into<String>) -> Finding {
        self.file = Some(file.into());
        self
    }

    /// Located at a column.
    pub fn at_column(mut self, column: impl Into<String>) -> Finding {
        self.column = Some(column.into());
        self
    }

    /// With a repair.
    pub fn with_fix(mut self, fix: Fix) -> Finding {
        self.fix = Some(fix);
        self
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.severity, self.id)?;
        if let Some(v) = self.version {
            write!(f, " version {v}")?;
        }
        if let Some(file) = &self.file {
            write!(f, " {file}")?;
        }
        if let Some(column) = &self.column {
            write!(f, " column {column}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, " (repair: {fix})")?;
        }
        Ok(())
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

    /// The repairs the findings call for (of every severity, so info-level
    /// ones too: statistics computed for files without them), each once,
    /// in a safe order: checkpoints first (so the commit that follows
    /// starts from the right state), then file removals and statistics,
    /// then `_last_checkpoint` and `.crc` files.
    pub fn fixes(&self) -> Vec<Fix> {
        let mut fixes: Vec<Fix> = self.findings.iter().filter_map(|f| f.fix.clone()).collect();
        fixes.sort();
        fixes.dedup();
        fixes
    }

    fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }
}

/// What [`check`] looks at beyond the log, the metadata and the existence
/// of files.
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions {
    /// List the table directory for files no retained version references
    /// (on by default).
    pub orphans: bool,
    /// Read every active file, one at a time: row counts, statistics,
    /// deletion vectors, schema fit, constraints (off by default).
    pub deep: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            orphans: true,
            deep: false,
        }
    }
}

/// Checks `table` (see the crate doc); never fails: what cannot be read is
/// a finding. `progress` counts commits read and files looked up (and read).
pub async fn check(table: &Table, options: &CheckOptions, progress: &dyn Progress) -> Report {
    let mut report = Report::default();
    let facts = log::check_log(table, &mut report, progress).await;
    // the state the commits say, not one a bad checkpoint gives
    let state = match facts.bad_checkpoints.is_empty() {
        true => table.log().state(None).await,
        false => log::state_avoiding(table.log(), None, &facts.bad_checkpoints).await,
    };
    let state = match state {
        Ok(state) => state,
        Err(e) => {
            report.push(Finding::error(
                "log.unreadable",
                format!("the latest version cannot be loaded: {e}"),
            ));
            return report;
        }
    };
    let version = state.version;
    report.version = Some(version);
    let sound = metadata::check_metadata(&state, &mut report);
    if !sound {
        return report;
    }
    // the state just read, not a snapshot the handle may hold
    let snapshot = match table.snapshot_of(state) {
        Ok(s) => s,
        Err(e) => {
            report.push(
                Finding::error(
                    "log.unreadable",
                    format!("the latest version cannot be read: {e}"),
                )
                .at_version(version),
            );
            return report;
        }
    };
    let looked_up =
        files::check_data_files(table, &snapshot, &mut report, progress, facts.counted).await;
    if options.deep {
        deep::check_files_deeply(table, &snapshot, &mut report, progress, looked_up).await;
    }
    if options.orphans {
        files::check_orphans(table, &snapshot, &mut report).await;
    }
    report
}
