//! The generic versioned commit core: numbered commit files in a log directory
//! on any object store, created only if absent. It knows nothing of Delta
//! actions; the Delta log is one user of it, and any format whose history is a
//! sequence of numbered files can be another.
//!
//! File names are `<version as 20 digits>.<suffix>`; a commit is the file with
//! the format's commit suffix (`json` for Delta). Other versioned files
//! (checkpoints, checksums) are listed alongside so the format can use them.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::LogError;

/// Number of digits of a version in a file name.
pub const VERSION_DIGITS: usize = 20;

/// One versioned file of a log directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// The version in the file name.
    pub version: u64,
    /// Everything after `<version>.`, e.g. `json` or `checkpoint.parquet`.
    pub suffix: String,
    /// Full path in the store.
    pub location: Path,
    /// Size in bytes.
    pub size: u64,
    /// When the store last modified the file.
    pub last_modified: DateTime<Utc>,
}

/// A log of numbered commits in one directory of an object store.
#[derive(Debug, Clone)]
pub struct CommitLog {
    store: Arc<dyn ObjectStore>,
    dir: Path,
    commit_suffix: String,
}

/// Splits a file name `<20 digits>.<suffix>` into version and suffix.
pub fn parse_versioned_name(name: &str) -> Option<(u64, &str)> {
    let (digits, suffix) = name.split_at_checked(VERSION_DIGITS)?;
    let suffix = suffix.strip_prefix('.')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) || suffix.is_empty() {
        return None;
    }
    Some((digits.parse().ok()?, suffix))
}

impl CommitLog {
    /// A log in `dir` of `store` whose commits are `<version>.<commit_suffix>`.
    pub fn new(store: Arc<dyn ObjectStore>, dir: Path, commit_suffix: impl Into<String>) -> Self {
        CommitLog {
            store,
            dir,
            commit_suffix: commit_suffix.into(),
        }
    }

    /// The store the log lives in.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The suffix of commit files.
    pub fn commit_suffix(&self) -> &str {
        &self.commit_suffix
    }

    /// Path of a file in the log directory.
    pub fn path(&self, name: &str) -> Path {
        self.dir.clone().join(name)
    }

    /// Path of the commit file of `version`.
    pub fn commit_path(&self, version: u64) -> Path {
        self.path(&format!("{version:020}.{}", self.commit_suffix))
    }

    /// Whether this listed file is a commit.
    pub fn is_commit(&self, file: &LogFile) -> bool {
        file.suffix == self.commit_suffix
    }

    /// Every versioned file of the directory with version `>= from_version`,
    /// sorted by version then suffix. Files of sub-directories and files
    /// without a version are left out.
    pub async fn list_from(&self, from_version: u64) -> Result<Vec<LogFile>, LogError> {
        let offset = self.path(&format!("{:020}", from_version));
        let prefix = Some(&self.dir);
        let mut stream = if from_version == 0 {
            self.store.list(prefix)
        } else {
            self.store.list_with_offset(prefix, &offset)
        };
        let mut files = Vec::new();
        while let Some(meta) = stream
            .try_next()
            .await
            .map_err(|e| LogError::store(&self.dir, e))?
        {
            // only direct children of the log directory
            let Some(name) = meta.location.prefix_match(&self.dir).and_then(|mut parts| {
                match (parts.next(), parts.next()) {
                    (Some(name), None) => Some(name),
                    _ => None,
                }
            }) else {
                continue;
            };
            let Some((version, suffix)) = parse_versioned_name(name.as_ref()) else {
                continue;
            };
            if version < from_version {
                continue;
            }
            files.push(LogFile {
                version,
                suffix: suffix.to_string(),
                location: meta.location.clone(),
                size: meta.size,
                last_modified: meta.last_modified,
            });
        }
        files.sort_by(|a, b| (a.version, &a.suffix).cmp(&(b.version, &b.suffix)));
        Ok(files)
    }

    /// The newest commit version, `None` when the log has no commit.
    pub async fn latest_version(&self) -> Result<Option<u64>, LogError> {
        let files = self.list_from(0).await?;
        Ok(files
            .iter()
            .rev()
            .find(|f| self.is_commit(f))
            .map(|f| f.version))
    }

    /// Reads a whole file.
    pub async fn read(&self, location: &Path) -> Result<Bytes, LogError> {
        let get = self
            .store
            .get(location)
            .await
            .map_err(|e| LogError::store(location, e))?;
        get.bytes().await.map_err(|e| LogError::store(location, e))
    }

    /// Reads the commit of `version`.
    pub async fn read_commit(&self, version: u64) -> Result<Bytes, LogError> {
        self.read(&self.commit_path(version)).await
    }

    /// Creates the commit file of `version` with these bytes, only if it does
    /// not exist yet. This is the atomic step: on success the commit is
    /// visible; [`LogError::VersionExists`] means another writer took the version.
    pub async fn put_commit(&self, version: u64, bytes: Bytes) -> Result<(), LogError> {
        let path = self.commit_path(version);
        match self.create(&path, bytes).await? {
            true => Ok(()),
            false => Err(LogError::VersionExists {
                version,
                path: path.to_string(),
            }),
        }
    }

    /// Writes the file `name` of the log directory only if it does not exist
    /// yet (files that must never be overwritten, such as checksums); false
    /// when it already existed.
    pub async fn put_if_absent(&self, name: &str, bytes: Bytes) -> Result<bool, LogError> {
        self.create(&self.path(name), bytes).await
    }

    async fn create(&self, path: &Path, bytes: Bytes) -> Result<bool, LogError> {
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .store
            .put_opts(path, PutPayload::from_bytes(bytes), opts)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(
                source @ (object_store::Error::NotImplemented { .. }
                | object_store::Error::NotSupported { .. }),
            ) => Err(LogError::NoConditionalCreate {
                path: path.to_string(),
                source,
            }),
            Err(e) => Err(LogError::store(path, e)),
        }
    }

    /// Reads a pointer file (a small unversioned file such as `_last_checkpoint`);
    /// `None` when it does not exist.
    pub async fn read_pointer(&self, name: &str) -> Result<Option<Bytes>, LogError> {
        match self.read(&self.path(name)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(LogError::Store {
                source: object_store::Error::NotFound { .. },
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes (replaces) a pointer file. Pointers are hints: readers must not
    /// depend on them being current.
    pub async fn write_pointer(&self, name: &str, bytes: Bytes) -> Result<(), LogError> {
        let path = self.path(name);
        self.store
            .put(&path, PutPayload::from_bytes(bytes))
            .await
            .map(|_| ())
            .map_err(|e| LogError::store(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_versioned_name;

    #[test]
    fn parses_versioned_names() {
        assert_eq!(
            parse_versioned_name("00000000000000000012.json"),
            Some((12, "json"))
        );
        assert_eq!(
            parse_versioned_name("00000000000000000010.checkpoint.0000000001.0000000002.parquet"),
            Some((10, "checkpoint.0000000001.0000000002.parquet"))
        );
        assert_eq!(parse_versioned_name("_last_checkpoint"), None);
        assert_eq!(parse_versioned_name("0000000000000000001.json"), None);
        assert_eq!(parse_versioned_name("00000000000000000001"), None);
        assert_eq!(parse_versioned_name("00000000000000000001."), None);
        assert_eq!(parse_versioned_name("0000000000000000000a.json"), None);
    }
}
