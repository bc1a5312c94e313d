//! The one error type of this crate.

/// Everything that can go wrong in `delta-log`. Messages name the table or
/// file, the version where there is one, and the reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The object store failed on a path.
    #[error("storage error at '{path}': {source}")]
    Store {
        /// Path the operation was on.
        path: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// Another writer created this version first (put-if-absent lost the race).
    #[error("version {version} already exists at '{path}'")]
    VersionExists {
        /// The version that was taken.
        version: u64,
        /// Its file.
        path: String,
    },
    /// The store cannot create a file only where none exists (a conditional
    /// put), the one primitive commits rely on: writing is refused rather
    /// than risk two writers taking one version.
    #[error(
        "cannot commit at '{path}': the store does not support creating a file only if it is absent (conditional put), which safe commits need ({source}); enable conditional puts on the store (for S3-compatible servers, one that supports If-None-Match)"
    )]
    NoConditionalCreate {
        /// The file that was to be created.
        path: String,
        /// The store's answer.
        #[source]
        source: object_store::Error,
    },
    /// There is no log at this location.
    #[error("no Delta table at '{table}': {reason}")]
    NotATable {
        /// The table location.
        table: String,
        /// Why it is not a table (e.g. `_delta_log` is missing or empty).
        reason: String,
    },
    /// A commit file is not valid.
    #[error("malformed commit file '{path}' (version {version}), line {line}: {reason}")]
    MalformedCommit {
        /// Version of the commit.
        version: u64,
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint file (or sidecar) is not valid.
    #[error("malformed checkpoint file '{path}' (version {version}): {reason}")]
    MalformedCheckpoint {
        /// Version of the checkpoint.
        version: u64,
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A version that is needed to build a snapshot is missing from the log.
    #[error(
        "the log of '{table}' is missing version {missing} (needed to read version {target}): {reason}"
    )]
    MissingVersion {
        /// The table location.
        table: String,
        /// The missing version.
        missing: u64,
        /// The version being read.
        target: u64,
        /// Why it is needed or what is around it.
        reason: String,
    },
    /// The asked version does not exist (or is no longer reconstructable).
    #[error("version {version} of '{table}' cannot be read: {reason}")]
    VersionNotAvailable {
        /// The table location.
        table: String,
        /// The version asked for.
        version: u64,
        /// Why (newer than the latest, or older than the retained log).
        reason: String,
    },
    /// No commit at or before the asked timestamp.
    #[error("no version of '{table}' at {}: {reason}", crate::state::show_ms(*timestamp_ms))]
    TimestampNotAvailable {
        /// The table location.
        table: String,
        /// The timestamp asked for, in ms since the epoch.
        timestamp_ms: i64,
        /// Why.
        reason: String,
    },
    /// The snapshot has no protocol or no metadata action.
    #[error("version {version} of '{table}' has no {action} action in its log")]
    MissingAction {
        /// The table location.
        table: String,
        /// The version being read.
        version: u64,
        /// `protocol` or `metaData`.
        action: &'static str,
    },
    /// The table uses a feature this implementation does not support.
    #[error("unsupported table feature '{feature}' (version {version}): {reason}")]
    UnsupportedFeature {
        /// The feature name as the protocol writes it.
        feature: String,
        /// The table version that requires it.
        version: u64,
        /// Why it is refused.
        reason: String,
    },
    /// A table property has a value this implementation does not accept.
    #[error("table property '{key}' = {value:?} is invalid: {reason}")]
    InvalidProperty {
        /// The property.
        key: String,
        /// Its value.
        value: String,
        /// What is accepted.
        reason: String,
    },
    /// The protocol action itself is not valid.
    #[error("invalid protocol at version {version}: {reason}")]
    InvalidProtocol {
        /// The table version.
        version: u64,
        /// What is wrong.
        reason: String,
    },
    /// An action could not be serialized.
    #[error("could not serialize an action for version {version}: {reason}")]
    Serialize {
        /// The version being written.
        version: u64,
        /// The serializer's complaint.
        reason: String,
    },
}

impl LogError {
    /// The error with `prefix` put before the store path it names (if any).
    pub fn with_path_prefix(self, prefix: &str) -> Self {
        if prefix.is_empty() {
            return self;
        }
        let mut e = self;
        match &mut e {
            LogError::Store { path, .. }
            | LogError::NoConditionalCreate { path, .. }
            | LogError::VersionExists { path, .. }
            | LogError::MalformedCommit { path, .. }
            | LogError::MalformedCheckpoint { path, .. }
                if !path.contains("://") && !path.starts_with(prefix) =>
            {
                *path = format!("{prefix}{path}");
            }
            _ => {}
        }
        e
    }

    /// Wraps a store error with the path it happened on.
    pub fn store(path: &object_store::path::Path, source: object_store::Error) -> Self {
        LogError::Store {
            path: path.to_string(),
            source,
        }
    }
}
