//! Loading the state of a Delta table at a version: list the log, pick the
//! segment, read the commits newest first (fetched concurrently, parsed one at
//! a time) and then the checkpoint.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore;
use object_store::path::Path;
use serde::Deserialize;

use crate::LogError;
use crate::actions::{Action, CommitInfo, DomainMetadata, Metadata, Protocol, Remove, Txn};
use crate::active::ActiveFiles;
use crate::checkpoint::{parse_json_actions, read_parquet_checkpoint};
use crate::core::{CommitLog, LogFile};
use crate::files::{CheckpointFile, DeltaFileKind, classify};
use crate::paths::table_url_at;
use crate::properties::in_commit_timestamps_on;
use crate::replay::Replay;
use crate::segment::{LogSegment, build_segment, complete_checkpoints};

/// Name of the log directory under a table root.
pub const LOG_DIR: &str = "_delta_log";
/// Name of the pointer file to the newest checkpoint.
pub const LAST_CHECKPOINT: &str = "_last_checkpoint";
/// Directory of V2 checkpoint sidecars, under the log directory.
pub const SIDECAR_DIR: &str = "_sidecars";
/// How many commit files are fetched at once during replay.
const PREFETCH: usize = 16;

/// The log of one Delta table.
#[derive(Debug, Clone)]
pub struct DeltaLog {
    log: CommitLog,
    root: Path,
    table: String,
    /// What the table's display name has before its root path (`/` for
    /// local paths, `s3://bucket/` for URLs), to show store paths in errors.
    path_prefix: String,
}

/// The part of `_last_checkpoint` a reader uses.
#[derive(Debug, Deserialize)]
struct LastCheckpointHint {
    version: u64,
}

/// The reconciled state of the log at one version: protocol, metadata, active
/// files, app transactions and domains. `delta-txn`'s `Snapshot` adds the
/// parsed schema and the read API on top.
#[derive(Debug, Clone)]
pub struct TableState {
    /// The table location, for messages.
    pub table: String,
    /// Root of the table in its store.
    pub root: Path,
    /// The version.
    pub version: u64,
    /// When the version was committed, in ms since the epoch
    /// (`inCommitTimestamp` when present, else the commit file's modification time).
    pub timestamp_ms: i64,
    /// The protocol in force.
    pub protocol: Protocol,
    /// The table metadata in force.
    pub metadata: Metadata,
    /// The active data files.
    pub files: ActiveFiles,
    /// Files removed and not added again (tombstones): from the commits
    /// replayed and from the checkpoint (which keeps those younger than
    /// the deleted-file retention).
    pub tombstones: Vec<Remove>,
    /// The newest `txn` per application id.
    pub txns: HashMap<String, Txn>,
    /// Domain metadata per (not removed) domain.
    pub domains: HashMap<String, DomainMetadata>,
    /// The files this snapshot was built from.
    pub segment: LogSegment,
    /// The log file the metadata in force was read from (a commit, or a
    /// checkpoint part), when known: to name it when the metadata is bad.
    pub metadata_file: Option<Path>,
    /// The same for the protocol in force.
    pub protocol_file: Option<Path>,
}

/// A time in ms since the epoch as RFC 3339 with milliseconds (UTC), and
/// the number itself.
pub(crate) fn show_ms(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => format!("{} ({ms} ms)", t.format("%Y-%m-%dT%H:%M:%S%.3fZ")),
        None => format!("{ms} ms"),
    }
}

/// Why a segment could not be loaded: its checkpoint is damaged (another
/// segment may stand in), or anything else.
enum SegmentError {
    Checkpoint(LogError),
    Log(LogError),
}

impl SegmentError {
    fn into_inner(self) -> LogError {
        match self {
            SegmentError::Checkpoint(e) | SegmentError::Log(e) => e,
        }
    }
}

impl From<LogError> for SegmentError {
    fn from(e: LogError) -> Self {
        SegmentError::Log(e)
    }
}

/// One commit of the table's history.
#[derive(Debug, Clone)]
pub struct CommitEntry {
    /// Its version.
    pub version: u64,
    /// Its timestamp in ms since the epoch (see [`TableState::timestamp_ms`]).
    pub timestamp_ms: i64,
    /// Its `commitInfo`, when it has one.
    pub commit_info: Option<CommitInfo>,
}

impl DeltaLog {
    /// The log of the table rooted at `root` in `store`; `table` names it in messages.
    pub fn new(store: Arc<dyn ObjectStore>, root: Path, table: impl Into<String>) -> Self {
        let dir = root.clone().join(LOG_DIR);
        let table = table.into();
        let path_prefix = if root.as_ref().is_empty() {
            format!("{}/", table.trim_end_matches('/'))
        } else {
            table
                .trim_end_matches('/')
                .strip_suffix(root.as_ref())
                .unwrap_or("")
                .to_string()
        };
        DeltaLog {
            log: CommitLog::new(store, dir, "json"),
            root,
            table,
            path_prefix,
        }
    }

    /// Errors naming object paths name them as the user gave the table:
    /// `/tmp/t/_delta_log/...` for a local table (the store's paths have no
    /// leading `/`), `s3://bucket/t/...` for a URL.
    pub(crate) fn located<T>(&self, result: Result<T, LogError>) -> Result<T, LogError> {
        result.map_err(|e| e.with_path_prefix(&self.path_prefix))
    }

    /// The generic commit log underneath.
    pub fn commit_log(&self) -> &CommitLog {
        &self.log
    }

    /// The table's root path in its store.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The table location as given, for messages.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        self.log.store()
    }

    /// The version `_last_checkpoint` points at, if it exists and is readable.
    async fn checkpoint_hint(&self) -> Option<u64> {
        let bytes = self.log.read_pointer(LAST_CHECKPOINT).await.ok()??;
        // a damaged hint is ignored: the listing finds the checkpoints anyway
        serde_json::from_slice::<LastCheckpointHint>(&bytes)
            .ok()
            .map(|h| h.version)
    }

    /// Whether the log holds a table: a commit or a checkpoint. Cheap when
    /// `_last_checkpoint` points at an existing checkpoint (one request and a
    /// listing from there); lists the whole log otherwise.
    pub async fn exists(&self) -> Result<bool, LogError> {
        let result = async {
            let files = self.list_for(None).await?;
            Ok(files.iter().any(|f| {
                matches!(
                    classify(f),
                    DeltaFileKind::Commit | DeltaFileKind::Checkpoint(_)
                )
            }))
        }
        .await;
        self.located(result)
    }

    /// Lists the log from a point that covers the segment of `target`.
    async fn list_for(&self, target: Option<u64>) -> Result<Vec<LogFile>, LogError> {
        if let Some(hint) = self.checkpoint_hint().await
            && target.is_none_or(|t| t >= hint)
        {
            let files = self.log.list_from(hint).await?;
            // a hint naming an incomplete (e.g. multi-part) checkpoint is ignored
            if complete_checkpoints(&files).contains_key(&hint) {
                return Ok(files);
            }
        }
        self.log.list_from(0).await
    }

    /// The state at `version`, or the latest one.
    ///
    /// A damaged checkpoint (truncated, unreadable, a sidecar missing) does
    /// not make the table unreadable while the JSON commits it summarizes
    /// are there: as Spark does, the state is rebuilt from the next older
    /// checkpoint, or from the commits alone, with a warning naming the bad
    /// file. When nothing older can stand in, the checkpoint's error is
    /// returned.
    pub async fn state(&self, version: Option<u64>) -> Result<TableState, LogError> {
        let result = self.state_at(version).await;
        self.located(result)
    }

    /// [`DeltaLog::state`] with store paths in errors.
    async fn state_at(&self, version: Option<u64>) -> Result<TableState, LogError> {
        let files = self.list_for(version).await?;
        let segment = build_segment(&files, version, &self.table)?;
        match self.load(segment).await {
            Ok(state) => Ok(state),
            Err(SegmentError::Log(e)) => Err(e),
            Err(SegmentError::Checkpoint(e)) => self.state_without_checkpoint(version, e).await,
        }
    }

    /// The latest state, brought forward from `state` (an earlier state of
    /// this log): one listing from the version after it, then only the
    /// commits that appeared since, applied in memory. `None` when there
    /// is no newer commit. Where the listing does not continue `state`
    /// (the commits after it were cleaned up), the state is loaded anew.
    ///
    /// A log only grows (PROTOCOL.md); a table deleted and created again
    /// under the same location is not detected here.
    pub async fn update(&self, state: &TableState) -> Result<Option<TableState>, LogError> {
        let result = async {
            let from = state.version + 1;
            let listed = self.log.list_from(from).await?;
            let commits: Vec<&LogFile> = listed
                .iter()
                .filter(|f| classify(f) == DeltaFileKind::Commit)
                .collect();
            if commits.is_empty() {
                return Ok(None);
            }
            let contiguous = commits
                .iter()
                .zip(from..)
                .all(|(file, version)| file.version == version);
            if !contiguous {
                return self.state_at(None).await.map(Some);
            }
            let mut next = state.clone();
            let mut fetched = self.read_files(commits.into_iter().cloned().collect());
            while let Some((file, bytes)) = fetched.try_next().await? {
                let actions = parse_json_actions(&bytes, file.version, &file.location, false)?;
                let timestamp_ms = actions
                    .iter()
                    .find_map(|a| match a {
                        Action::CommitInfo(ci) => ci.in_commit_timestamp(),
                        _ => None,
                    })
                    .unwrap_or_else(|| file.last_modified.timestamp_millis());
                next.apply_commit_in_place(file.version, &actions, timestamp_ms);
                next.segment.commits.push(file.clone());
            }
            Ok(Some(next))
        }
        .await;
        self.located(result)
    }

    /// The state at `version` rebuilt without the checkpoint that failed
    /// with `damaged`, and without any older one that fails too.
    async fn state_without_checkpoint(
        &self,
        version: Option<u64>,
        mut damaged: LogError,
    ) -> Result<TableState, LogError> {
        // the listing may have started at the damaged checkpoint: list everything
        let mut files = self.log.list_from(0).await?;
        let mut skipped = Vec::new();
        while let LogError::MalformedCheckpoint { version: bad, .. } = &damaged {
            let bad = *bad;
            files.retain(|f| {
                !(f.version == bad && matches!(classify(f), DeltaFileKind::Checkpoint(_)))
            });
            let Ok(segment) = build_segment(&files, version, &self.table) else {
                return Err(damaged);
            };
            let error = match self.load(segment).await {
                Ok(state) => {
                    skipped.push(damaged);
                    for e in skipped {
                        let e = e.with_path_prefix(&self.path_prefix);
                        tracing::warn!("{e}; the state was rebuilt without that checkpoint");
                    }
                    return Ok(state);
                }
                Err(SegmentError::Log(e)) => return Err(e),
                Err(SegmentError::Checkpoint(e)) => e,
            };
            skipped.push(std::mem::replace(&mut damaged, error));
        }
        Err(damaged)
    }

    /// The contents of log files, in order, a few read ahead. (The files
    /// are owned so that the futures stay `Send` for any caller.)
    fn read_files(
        &self,
        files: Vec<LogFile>,
    ) -> impl futures::Stream<Item = Result<(LogFile, Bytes), LogError>> + Send + '_ {
        let log = &self.log;
        futures::stream::iter(files)
            .map(move |f| async move {
                let bytes = log.read(&f.location).await?;
                Ok((f, bytes))
            })
            .buffered(PREFETCH)
    }

    /// Replays a segment into a table state.
    pub async fn load_segment(&self, segment: LogSegment) -> Result<TableState, LogError> {
        let result = async { self.load(segment).await.map_err(SegmentError::into_inner) }.await;
        self.located(result)
    }

    async fn load(&self, segment: LogSegment) -> Result<TableState, SegmentError> {
        let mut replay = Replay::for_table(table_url_at(&self.table, &self.root));
        let mut newest_commit_info = None;
        let mut metadata_file = None;
        let mut protocol_file = None;
        let store = self.log.store();
        let mut commits = self.read_files(segment.commits.iter().rev().cloned().collect());
        while let Some((file, bytes)) = commits.try_next().await? {
            let actions = parse_json_actions(&bytes, file.version, &file.location, false)?;
            if file.version == segment.version {
                newest_commit_info = actions.iter().find_map(|a| match a {
                    Action::CommitInfo(ci) => Some(ci.clone()),
                    _ => None,
                });
            }
            replay.apply_commit(actions);
            if metadata_file.is_none() && replay.has_metadata() {
                metadata_file = Some(file.location.clone());
            }
            if protocol_file.is_none() && replay.has_protocol() {
                protocol_file = Some(file.location.clone());
            }
        }
        drop(commits);
        if let Some((cp_version, parts)) = &segment.checkpoint {
            let damaged = |e: LogError| match e {
                // a part or sidecar that is gone is damage; other store
                // errors (denied, unavailable) are the store's, as they are
                LogError::Store {
                    path,
                    source: source @ object_store::Error::NotFound { .. },
                } => SegmentError::Checkpoint(LogError::MalformedCheckpoint {
                    version: *cp_version,
                    path,
                    reason: source.to_string(),
                }),
                e @ LogError::Store { .. } => SegmentError::Log(e),
                other => SegmentError::Checkpoint(other),
            };
            for part in parts {
                self.read_checkpoint_file(part, *cp_version, &mut replay)
                    .await
                    .map_err(damaged)?;
                if metadata_file.is_none() && replay.has_metadata() {
                    metadata_file = Some(part.location.clone());
                }
                if protocol_file.is_none() && replay.has_protocol() {
                    protocol_file = Some(part.location.clone());
                }
            }
            for sidecar in replay.take_sidecars() {
                let path = self.sidecar_path(&sidecar.path);
                let size = u64::try_from(sidecar.size_in_bytes).ok();
                read_parquet_checkpoint(store, &path, size, *cp_version, &mut replay)
                    .await
                    .map_err(damaged)?;
            }
        }
        let out = replay.finish();
        // with a checkpoint, a missing action is the checkpoint's damage
        // (the commits alone may still rebuild the state)
        let missing = |action: &'static str| match &segment.checkpoint {
            Some((cp_version, parts)) => SegmentError::Checkpoint(LogError::MalformedCheckpoint {
                version: *cp_version,
                path: parts
                    .first()
                    .map(|p| p.location.to_string())
                    .unwrap_or_default(),
                reason: format!("neither it nor the commits after it hold a {action} action"),
            }),
            None => SegmentError::Log(LogError::MissingAction {
                table: self.table.clone(),
                version: segment.version,
                action,
            }),
        };
        let protocol = out.protocol.ok_or_else(|| missing("protocol"))?;
        let metadata = out.metadata.ok_or_else(|| missing("metaData"))?;
        // a version the checkpoint covers: its in-commit timestamp is in its commit
        if newest_commit_info.is_none()
            && in_commit_timestamps_on(&protocol, &metadata)?
            && let Some(commit) = &segment.covered_commit
        {
            let bytes = self.log.read(&commit.location).await?;
            newest_commit_info =
                parse_json_actions(&bytes, commit.version, &commit.location, false)?
                    .into_iter()
                    .find_map(|a| match a {
                        Action::CommitInfo(ci) => Some(ci),
                        _ => None,
                    });
        }
        let timestamp_ms = newest_commit_info
            .as_ref()
            .and_then(CommitInfo::in_commit_timestamp)
            .or_else(|| {
                segment
                    .dating_file()
                    .map(|f| f.last_modified.timestamp_millis())
            })
            .unwrap_or_default();
        Ok(TableState {
            table: self.table.clone(),
            root: self.root.clone(),
            version: segment.version,
            timestamp_ms,
            protocol,
            metadata,
            files: out.adds,
            tombstones: out.tombstones,
            txns: out.txns,
            domains: out.domains,
            segment,
            metadata_file,
            protocol_file,
        })
    }

    async fn read_checkpoint_file(
        &self,
        file: &LogFile,
        version: u64,
        replay: &mut Replay,
    ) -> Result<(), LogError> {
        let json = matches!(
            classify(file),
            DeltaFileKind::Checkpoint(CheckpointFile::V2 { json: true })
        );
        if json {
            let bytes = self.log.read(&file.location).await?;
            let actions = parse_json_actions(&bytes, version, &file.location, true)?;
            replay.apply_checkpoint(actions);
            Ok(())
        } else {
            read_parquet_checkpoint(
                self.log.store(),
                &file.location,
                Some(file.size),
                version,
                replay,
            )
            .await
        }
    }

    /// Where a sidecar named in a checkpoint lives: relative names are under
    /// `_delta_log/_sidecars/`.
    fn sidecar_path(&self, name: &str) -> Path {
        match url::Url::parse(name) {
            Ok(url) => Path::from_url_path(url.path()).unwrap_or_else(|_| Path::from(url.path())),
            Err(_) => self.log.dir().clone().join(SIDECAR_DIR).join(name),
        }
    }

    /// Reads one commit's actions.
    pub async fn read_commit(&self, version: u64) -> Result<Vec<Action>, LogError> {
        let result = async {
            let path = self.log.commit_path(version);
            let bytes: Bytes = self.log.read(&path).await?;
            parse_json_actions(&bytes, version, &path, false)
        }
        .await;
        self.located(result)
    }

    /// The retained commits, newest first, at most `limit` of them, with their
    /// timestamps (made strictly increasing with version, as Delta does for
    /// file times) and `commitInfo`.
    pub async fn history(&self, limit: Option<usize>) -> Result<Vec<CommitEntry>, LogError> {
        let result = async {
            let files = self.log.list_from(0).await?;
            let commits: Vec<&LogFile> = files.iter().filter(|f| self.log.is_commit(f)).collect();
            if commits.is_empty() {
                return Err(LogError::NotATable {
                    table: self.table.clone(),
                    reason: "_delta_log is missing or holds no commit".to_string(),
                });
            }
            let take = limit.unwrap_or(usize::MAX).min(commits.len());
            let wanted = &commits[commits.len() - take..];
            let infos: Vec<Option<CommitInfo>> = self
                .read_files(wanted.iter().map(|f| (*f).clone()).collect())
                .map(|read| {
                    let (f, bytes) = read?;
                    let actions = parse_json_actions(&bytes, f.version, &f.location, false)?;
                    Ok::<_, LogError>(actions.into_iter().find_map(|a| match a {
                        Action::CommitInfo(ci) => Some(ci),
                        _ => None,
                    }))
                })
                .try_collect()
                .await?;
            // file times made increasing over all retained commits
            let mut file_times = Vec::with_capacity(commits.len());
            let mut previous = i64::MIN;
            for f in &commits {
                let t = f
                    .last_modified
                    .timestamp_millis()
                    .max(previous.saturating_add(1));
                file_times.push(t);
                previous = t;
            }
            let offset = commits.len() - take;
            let mut entries: Vec<CommitEntry> = wanted
                .iter()
                .zip(infos)
                .enumerate()
                .map(|(i, (f, info))| CommitEntry {
                    version: f.version,
                    timestamp_ms: info
                        .as_ref()
                        .and_then(CommitInfo::in_commit_timestamp)
                        .unwrap_or(file_times[offset + i]),
                    commit_info: info,
                })
                .collect();
            entries.reverse();
            Ok(entries)
        }
        .await;
        self.located(result)
    }

    /// The latest version committed at or before `timestamp_ms`.
    pub async fn version_at(&self, timestamp_ms: i64) -> Result<u64, LogError> {
        let result = async {
            let history = self.history(None).await?;
            let not_available = |reason: String| LogError::TimestampNotAvailable {
                table: self.table.clone(),
                timestamp_ms,
                reason,
            };
            // as Spark: a time after the latest commit is an error, not the latest version
            if let Some(latest) = history.first()
                && timestamp_ms > latest.timestamp_ms
            {
                return Err(not_available(format!(
                    "it is after the latest commit, version {} at {}; use a time at or before it",
                    latest.version,
                    show_ms(latest.timestamp_ms)
                )));
            }
            let earliest = history.last().map(|e| (e.version, e.timestamp_ms));
            history
                .iter()
                .find(|e| e.timestamp_ms <= timestamp_ms)
                .map(|e| e.version)
                .ok_or_else(|| {
                    not_available(match earliest {
                        Some((v, t)) => format!(
                            "it is before the earliest retained commit, version {v} at {}",
                            show_ms(t)
                        ),
                        None => "the table has no commits".to_string(),
                    })
                })
        }
        .await;
        self.located(result)
    }
}
