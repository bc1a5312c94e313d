//! One pass over the log: every commit from the oldest checkpoint on is
//! read (a few ahead) and replayed into a light running state (file keys
//! and sizes, protocol, metadata, txns, domains). Against it the pass
//! checks each commit's actions, in-commit timestamps, each checkpoint and
//! each `.crc` file; at the end, `_last_checkpoint`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use delta_log::core::LogFile;
use delta_log::files::{CheckpointFile, DeltaFileKind, classify};
use delta_log::parquet_reader::ObjectReader;
use delta_log::paths::{reconciliation_path, table_url_at};
use delta_log::properties::in_commit_timestamps_on;
use delta_log::segment::{LogSegment, build_segment, complete_checkpoints};
use delta_log::{
    Action, DeletionVectorDescriptor, DeltaLog, DomainMetadata, FileKey, Metadata, Protocol,
    TableFeature, TableState, Txn,
};
use delta_txn::Table;
use delta_txn::progress::Progress;
use futures::StreamExt;
use object_store::ObjectStore;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use url::Url;

use crate::{Finding, Fix, Report, Severity};

mod pointers;
use pointers::{check_checksum, check_last_checkpoint};

/// How many commits are read ahead.
const READ_AHEAD: usize = 16;
/// How many example paths a difference names.
const EXAMPLES: usize = 3;

/// The log's files, sorted by kind.
struct Listing {
    commits: BTreeSet<u64>,
    checkpoints: BTreeMap<u64, Vec<LogFile>>,
    checksums: HashMap<u64, LogFile>,
}

/// What the log pass learned that later checks need.
#[derive(Debug, Default)]
pub(crate) struct LogFacts {
    /// Commits counted on the progress.
    pub counted: u64,
    /// Versions of checkpoints that do not read or differ from the commits.
    pub bad_checkpoints: BTreeSet<u64>,
}

/// Checks the log (see the module doc).
pub(crate) async fn check_log(
    table: &Table,
    report: &mut Report,
    progress: &dyn Progress,
) -> LogFacts {
    let mut facts = LogFacts::default();
    let log = table.log();
    let files = match log.commit_log().list_from(0).await {
        Ok(files) => files,
        Err(e) => {
            report.push(Finding::error(
                "log.unreadable",
                format!("the log cannot be listed: {e}"),
            ));
            return facts;
        }
    };
    let listing = Listing {
        commits: files
            .iter()
            .filter(|f| classify(f) == DeltaFileKind::Commit)
            .map(|f| f.version)
            .collect(),
        checkpoints: complete_checkpoints(&files),
        checksums: files
            .iter()
            .filter(|f| classify(f) == DeltaFileKind::Checksum)
            .map(|f| (f.version, f.clone()))
            .collect(),
    };
    report_incomplete_checkpoints(&files, &listing, report);
    let Some(&latest) = listing.commits.last() else {
        return facts;
    };
    // history is readable from the oldest checkpoint (its commits after it)
    // or from commit 0
    let base = match listing.checkpoints.keys().next() {
        Some(&cp) if !listing.commits.contains(&0) => Some(cp),
        _ => None,
    };
    let url = table_url_at(log.table(), log.root());
    let mut running = match base {
        None => Some(Running::new(url.clone())),
        Some(cp) => resume_at(log, &listing, cp, &url, report, &mut facts).await,
    };
    let first = base.map_or(0, |cp| cp.saturating_add(1));
    // only the commits there are: a stray far version is one gap, not a loop
    let versions: Vec<u64> = listing.commits.range(first..).copied().collect();
    facts.counted = versions.len() as u64;
    progress.total(facts.counted);
    let mut sound = BTreeSet::from_iter(base);
    let mut expected = first;
    let mut commits = futures::stream::iter(versions)
        .map(|version| async move { (version, log.read_commit(version).await) })
        .buffered(READ_AHEAD);
    while let Some((version, read)) = commits.next().await {
        if version > expected {
            report_gap(&listing, expected, version - 1, latest, report);
            // the replay resumes from a checkpoint just before this commit
            running = match listing.checkpoints.contains_key(&(version - 1)) {
                true => resume_at(log, &listing, version - 1, &url, report, &mut facts).await,
                false => None,
            };
        }
        expected = version.saturating_add(1);
        match read {
            Err(e) => {
                report.push(
                    Finding::error(
                        "log.commit-unreadable",
                        format!("the commit does not parse: {e}"),
                    )
                    .at_version(version)
                    .at_file(format!("{version:020}.json")),
                );
                running = None;
            }
            Ok(actions) => {
                check_commit(version, &actions, report);
                if let Some(r) = running.as_mut() {
                    r.apply(version, &actions, report);
                }
            }
        }
        if let Some(parts) = listing.checkpoints.get(&version) {
            match load_checkpoint(log, version, parts).await {
                Err(finding) => {
                    facts.bad_checkpoints.insert(version);
                    // the commits can rebuild it when the replay reached it
                    let fix = running
                        .is_some()
                        .then_some(Fix::RewriteCheckpoint { version });
                    report.push(Finding { fix, ..finding });
                }
                Ok(state) => match &running {
                    Some(r) => {
                        let differences = r.differences(&state);
                        if differences.is_empty() {
                            sound.insert(version);
                        } else {
                            facts.bad_checkpoints.insert(version);
                            report.push(
                                Finding::error(
                                    "checkpoint.differs",
                                    format!(
                                        "the checkpoint differs from the commits: {}",
                                        differences.join("; ")
                                    ),
                                )
                                .at_version(version)
                                .at_file(name_of(&parts[0]))
                                .with_fix(Fix::RewriteCheckpoint { version }),
                            );
                        }
                    }
                    // after a gap, the checkpoint is where the replay resumes
                    None => {
                        running = Some(Running::from_state(&state, url.clone()));
                        sound.insert(version);
                    }
                },
            }
        }
        if let (Some(file), Some(r)) = (listing.checksums.get(&version), &running) {
            check_checksum(log, file, r, report).await;
        }
        progress.advance(1);
    }
    drop(commits);
    check_last_checkpoint(log, &listing, &sound, report).await;
    facts
}

/// The running state from the checkpoint of `version` (read alone), or
/// `None` with a finding when it does not read.
async fn resume_at(
    log: &DeltaLog,
    listing: &Listing,
    version: u64,
    url: &Option<Url>,
    report: &mut Report,
    facts: &mut LogFacts,
) -> Option<Running> {
    let parts = listing.checkpoints.get(&version)?;
    match load_checkpoint(log, version, parts).await {
        Ok(state) => Some(Running::from_state(&state, url.clone())),
        Err(finding) => {
            facts.bad_checkpoints.insert(version);
            report.push(finding);
            None
        }
    }
}

/// Commits `from..=to` are missing: an error when no later checkpoint
/// covers them (the latest version cannot be read), else a warning (only
/// time travel to them fails).
fn report_gap(listing: &Listing, from: u64, to: u64, latest: u64, report: &mut Report) {
    let covered = listing.checkpoints.range(to..).next().is_some();
    let what = match from == to {
        true => format!("commit {from} is missing"),
        false => format!("commits {from} to {to} are missing"),
    };
    let finding = match covered {
        true => Finding::new(
            Severity::Warning,
            "log.version-missing",
            format!("{what}; a later checkpoint covers them, but those versions cannot be read"),
        ),
        false => Finding::error(
            "log.version-missing",
            format!("{what} (the log goes to version {latest})"),
        ),
    };
    report.push(finding.at_version(from));
}

/// The state at `version` (the latest when `None`) built without the
/// checkpoints in `bad`: from the newest other complete checkpoint at or
/// before it and the commits after, or from the commits alone.
pub(crate) async fn state_avoiding(
    log: &DeltaLog,
    version: Option<u64>,
    bad: &BTreeSet<u64>,
) -> Result<TableState, delta_log::LogError> {
    let mut files = log.commit_log().list_from(0).await?;
    files.retain(|f| {
        !(bad.contains(&f.version) && matches!(classify(f), DeltaFileKind::Checkpoint(_)))
    });
    let segment = build_segment(&files, version, log.table())?;
    log.load_segment(segment).await
}

/// A multi-part checkpoint with parts missing: readers skip it.
fn report_incomplete_checkpoints(files: &[LogFile], listing: &Listing, report: &mut Report) {
    let mut seen = HashSet::new();
    for file in files {
        if matches!(classify(file), DeltaFileKind::Checkpoint(_))
            && !listing.checkpoints.contains_key(&file.version)
            && seen.insert(file.version)
        {
            report.push(
                Finding::new(
                    Severity::Warning,
                    "checkpoint.incomplete",
                    "parts of this multi-part checkpoint are missing; readers skip it",
                )
                .at_version(file.version)
                .at_file(name_of(file)),
            );
        }
    }
}

/// The file's name in the log directory.
fn name_of(file: &LogFile) -> String {
    file.location.filename().unwrap_or_default().to_string()
}

/// The state a checkpoint holds, read alone (no commit).
pub(crate) async fn read_checkpoint(
    log: &DeltaLog,
    version: u64,
    parts: &[LogFile],
) -> Result<TableState, delta_log::LogError> {
    let segment = LogSegment {
        version,
        checkpoint: Some((version, parts.to_vec())),
        commits: Vec::new(),
        covered_commit: None,
    };
    log.load_segment(segment).await
}

/// Whether a checkpoint's files hold one action per row (classic or
/// multi-part Parquet), so that footers count its actions; not a V2
/// checkpoint, whose sidecars hold some of them.
pub(crate) fn rows_are_actions(parts: &[LogFile]) -> bool {
    parts.iter().all(|f| {
        matches!(
            classify(f),
            DeltaFileKind::Checkpoint(CheckpointFile::Classic | CheckpointFile::MultiPart { .. })
        )
    })
}

/// [`read_checkpoint`], with a finding when it cannot be read.
async fn load_checkpoint(
    log: &DeltaLog,
    version: u64,
    parts: &[LogFile],
) -> Result<TableState, Finding> {
    read_checkpoint(log, version, parts).await.map_err(|e| {
        Finding::error(
            "checkpoint.unreadable",
            format!("the checkpoint cannot be read: {e}"),
        )
        .at_version(version)
        .at_file(parts.first().map(name_of).unwrap_or_default())
    })
}

/// Actions the protocol forbids together in one commit.
fn check_commit(version: u64, actions: &[Action], report: &mut Report) {
    for (what, count) in [
        (
            "metaData",
            actions
                .iter()
                .filter(|a| matches!(a, Action::Metadata(_)))
                .count(),
        ),
        (
            "protocol",
            actions
                .iter()
                .filter(|a| matches!(a, Action::Protocol(_)))
                .count(),
        ),
    ] {
        if count > 1 {
            let id = if what == "metaData" {
                "log.duplicate-metadata"
            } else {
                "log.duplicate-protocol"
            };
            report.push(
                Finding::error(
                    id,
                    format!("the commit has {count} {what} actions; the protocol allows one"),
                )
                .at_version(version),
            );
        }
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
            report.push(
                Finding::error(
                    "log.add-and-remove",
                    "the commit adds and removes the same file",
                )
                .at_version(version)
                .at_file(&remove.path),
            );
        }
    }
}

/// The state of the table as the replay stands, kept light: file keys and
/// sizes rather than whole actions.
struct Running {
    url: Option<Url>,
    files: HashMap<FileKey, i64>,
    protocol: Option<Protocol>,
    metadata: Option<Metadata>,
    txns: HashMap<String, i64>,
    domains: HashMap<String, String>,
    /// The newest in-commit timestamp seen, and the version that had it.
    last_ict: Option<(u64, i64)>,
}

impl Running {
    fn new(url: Option<Url>) -> Running {
        Running {
            url,
            files: HashMap::new(),
            protocol: None,
            metadata: None,
            txns: HashMap::new(),
            domains: HashMap::new(),
            last_ict: None,
        }
    }

    fn from_state(state: &TableState, url: Option<Url>) -> Running {
        let mut running = Running::new(url);
        for file in state.files.iter() {
            let key = running.key(file.path(), file.deletion_vector());
            running.files.insert(key, file.size());
        }
        running.protocol = Some(state.protocol.clone());
        running.metadata = Some(state.metadata.clone());
        running.txns = txn_versions(state.txns.values());
        running.domains = domain_configs(state.domains.values());
        // a checkpoint read alone dates its version by the file's time, not
        // by the commit's in-commit timestamp: the next one is not compared
        running
    }

    fn key(&self, path: &str, dv: Option<&DeletionVectorDescriptor>) -> FileKey {
        FileKey {
            path: reconciliation_path(self.url.as_ref(), path).into_owned(),
            dv_id: dv.map(DeletionVectorDescriptor::unique_id),
        }
    }

    fn ict_on(&self) -> bool {
        match (&self.protocol, &self.metadata) {
            (Some(p), Some(m)) => in_commit_timestamps_on(p, m).unwrap_or(false),
            _ => false,
        }
    }

    /// Applies one commit, reporting removes of files not in the table and
    /// in-commit timestamps that are missing or go back.
    fn apply(&mut self, version: u64, actions: &[Action], report: &mut Report) {
        let added: HashSet<FileKey> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Add(add) => Some(self.key(&add.path, add.deletion_vector.as_ref())),
                _ => None,
            })
            .collect();
        for action in actions {
            if let Action::Remove(remove) = action {
                let key = self.key(&remove.path, remove.deletion_vector.as_ref());
                if self.files.remove(&key).is_none() && !added.contains(&key) {
                    report.push(
                        Finding::error(
                            "log.remove-unknown",
                            "the commit removes a file (with this deletion vector) that is not in the table",
                        )
                        .at_version(version)
                        .at_file(&remove.path),
                    );
                }
            }
        }
        for action in actions {
            match action {
                Action::Add(add) => {
                    let key = self.key(&add.path, add.deletion_vector.as_ref());
                    self.files.insert(key, add.size);
                }
                Action::Protocol(p) => self.protocol = Some(p.clone()),
                Action::Metadata(m) => self.metadata = Some(m.clone()),
                Action::Txn(t) => {
                    self.txns.insert(t.app_id.clone(), t.version);
                }
                Action::DomainMetadata(d) => {
                    if d.removed {
                        self.domains.remove(&d.domain);
                    } else {
                        self.domains
                            .insert(d.domain.clone(), d.configuration.clone());
                    }
                }
                _ => {}
            }
        }
        self.check_ict(version, actions, report);
    }

    fn check_ict(&mut self, version: u64, actions: &[Action], report: &mut Report) {
        // the commit that turns the feature on carries one too
        let ict = match actions.first() {
            Some(Action::CommitInfo(ci)) => ci.in_commit_timestamp(),
            _ => None,
        };
        if !self.ict_on() {
            return;
        }
        let Some(ict) = ict else {
            report.push(
                Finding::error(
                    "log.ict-missing",
                    "in-commit timestamps are on, but the commit does not start with a commitInfo carrying inCommitTimestamp",
                )
                .at_version(version),
            );
            return;
        };
        if let Some((before, previous)) = self.last_ict
            && ict <= previous
        {
            report.push(
                Finding::error(
                    "log.ict-not-increasing",
                    format!(
                        "the in-commit timestamp {ict} is not after {previous} of version {before}"
                    ),
                )
                .at_version(version),
            );
        }
        self.last_ict = Some((version, ict));
    }

    /// How a state read from a checkpoint differs from this replay.
    fn differences(&self, state: &TableState) -> Vec<String> {
        let mut out = Vec::new();
        let theirs: HashMap<FileKey, i64> = state
            .files
            .iter()
            .map(|f| (self.key(f.path(), f.deletion_vector()), f.size()))
            .collect();
        let extra: Vec<&str> = theirs
            .keys()
            .filter(|k| !self.files.contains_key(*k))
            .map(|k| k.path.as_str())
            .collect();
        let missing: Vec<&str> = self
            .files
            .keys()
            .filter(|k| !theirs.contains_key(*k))
            .map(|k| k.path.as_str())
            .collect();
        let resized: Vec<&str> = theirs
            .iter()
            .filter(|(k, size)| self.files.get(*k).is_some_and(|s| s != *size))
            .map(|(k, _)| k.path.as_str())
            .collect();
        for (paths, what) in [
            (extra, "files the commits do not have"),
            (missing, "no entry for files the commits have"),
            (resized, "other sizes for files"),
        ] {
            if !paths.is_empty() {
                out.push(format!("{} {what} ({})", paths.len(), examples(paths)));
            }
        }
        if !self
            .protocol
            .as_ref()
            .is_some_and(|p| same_protocol(p, &state.protocol))
        {
            out.push("another protocol".to_string());
        }
        if !self
            .metadata
            .as_ref()
            .is_some_and(|m| same_metadata(m, &state.metadata))
        {
            out.push("other metadata".to_string());
        }
        // txns past their retention may be left out of a checkpoint
        let txn_retention = state
            .metadata
            .configuration
            .contains_key("delta.setTransactionRetentionDuration");
        if !txn_retention && txn_versions(state.txns.values()) != self.txns {
            out.push("other application transactions (txn)".to_string());
        }
        if domain_configs(state.domains.values()) != self.domains {
            out.push("other domain metadata".to_string());
        }
        out
    }
}

fn examples(mut paths: Vec<&str>) -> String {
    paths.sort_unstable();
    let mut text = paths[..paths.len().min(EXAMPLES)].join(", ");
    if paths.len() > EXAMPLES {
        text.push_str(", ...");
    }
    text
}

fn txn_versions<'a>(txns: impl Iterator<Item = &'a Txn>) -> HashMap<String, i64> {
    txns.map(|t| (t.app_id.clone(), t.version)).collect()
}

fn domain_configs<'a>(
    domains: impl Iterator<Item = &'a DomainMetadata>,
) -> HashMap<String, String> {
    domains
        .filter(|d| !d.removed)
        .map(|d| (d.domain.clone(), d.configuration.clone()))
        .collect()
}

/// Protocols compared by versions and features (an absent list and an
/// empty one are the same).
fn same_protocol(a: &Protocol, b: &Protocol) -> bool {
    let features = |p: &Protocol| {
        let mut all: Vec<TableFeature> = p.features_in_force();
        all.sort_by(|x, y| x.name().cmp(y.name()));
        all
    };
    a.min_reader_version == b.min_reader_version
        && a.min_writer_version == b.min_writer_version
        && features(a) == features(b)
}

/// Metadata compared by what defines the table (id, schema, partitioning,
/// configuration).
fn same_metadata(a: &Metadata, b: &Metadata) -> bool {
    a.id == b.id
        && a.schema_string == b.schema_string
        && a.partition_columns == b.partition_columns
        && a.configuration == b.configuration
}
/// How many actions (rows) a Parquet checkpoint holds, from the footers.
pub(crate) async fn checkpoint_rows(
    store: &Arc<dyn ObjectStore>,
    parts: &[LogFile],
) -> Result<u64, String> {
    let mut rows = 0u64;
    for part in parts {
        let reader = ObjectReader::new(Arc::clone(store), part.location.clone(), Some(part.size));
        let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
        let builder = ParquetRecordBatchStreamBuilder::new_with_options(reader, options)
            .await
            .map_err(|e| e.to_string())?;
        rows += u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    }
    Ok(rows)
}
