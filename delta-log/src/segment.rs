//! Choosing the files that make up one version: the newest complete checkpoint
//! at or before it, and every commit after that checkpoint up to the version.
//! Pure code over a listing.

use std::collections::BTreeMap;

use crate::LogError;
use crate::core::LogFile;
use crate::files::{CheckpointFile, DeltaFileKind, classify};

/// The files needed to reconstruct one version.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSegment {
    /// The version these files reconstruct.
    pub version: u64,
    /// The checkpoint to start from: its version and files (all parts, or the
    /// one V2/classic file).
    pub checkpoint: Option<(u64, Vec<LogFile>)>,
    /// Commits after the checkpoint, oldest first, ending at `version`.
    pub commits: Vec<LogFile>,
    /// The commit of `version` when the checkpoint covers it (not read for
    /// the state; it dates the version).
    pub covered_commit: Option<LogFile>,
}

impl LogSegment {
    /// The commit file of `version`, read or covered by the checkpoint.
    pub fn version_commit(&self) -> Option<&LogFile> {
        match self.commits.last() {
            Some(c) if c.version == self.version => Some(c),
            _ => self.covered_commit.as_ref(),
        }
    }

    /// The file whose modification time dates this version: its commit, or
    /// its checkpoint when the commit is gone.
    pub fn dating_file(&self) -> Option<&LogFile> {
        self.version_commit().or_else(|| {
            self.checkpoint
                .as_ref()
                .and_then(|(_, files)| files.first())
        })
    }
}

/// The complete checkpoints of a listing, by version.
pub fn complete_checkpoints(files: &[LogFile]) -> BTreeMap<u64, Vec<LogFile>> {
    let mut by_version: BTreeMap<u64, Vec<(CheckpointFile, &LogFile)>> = BTreeMap::new();
    for f in files {
        if let DeltaFileKind::Checkpoint(kind) = classify(f) {
            by_version.entry(f.version).or_default().push((kind, f));
        }
    }
    let mut complete = BTreeMap::new();
    for (version, found) in by_version {
        // prefer a single-file checkpoint (V2 or classic), then a complete multi-part set
        let single = found
            .iter()
            .find(|(k, _)| matches!(k, CheckpointFile::V2 { .. }))
            .or_else(|| found.iter().find(|(k, _)| *k == CheckpointFile::Classic));
        if let Some((_, f)) = single {
            complete.insert(version, vec![(*f).clone()]);
            continue;
        }
        let mut sets: BTreeMap<u32, Vec<(u32, &LogFile)>> = BTreeMap::new();
        for (kind, f) in &found {
            if let CheckpointFile::MultiPart { part, parts } = kind {
                sets.entry(*parts).or_default().push((*part, f));
            }
        }
        for (parts, mut members) in sets.into_iter().rev() {
            members.sort_by_key(|(p, _)| *p);
            members.dedup_by_key(|(p, _)| *p);
            if members.len() == parts as usize {
                complete.insert(
                    version,
                    members.into_iter().map(|(_, f)| f.clone()).collect(),
                );
                break;
            }
        }
    }
    complete
}

/// Picks the segment for `target` (the latest version when `None`) from a
/// listing of `_delta_log` that starts at or before the checkpoint to use.
pub fn build_segment(
    files: &[LogFile],
    target: Option<u64>,
    table: &str,
) -> Result<LogSegment, LogError> {
    let commits: BTreeMap<u64, &LogFile> = files
        .iter()
        .filter(|f| classify(f) == DeltaFileKind::Commit)
        .map(|f| (f.version, f))
        .collect();
    let checkpoints = complete_checkpoints(files);
    let latest = commits
        .keys()
        .next_back()
        .copied()
        .max(checkpoints.keys().next_back().copied())
        .ok_or_else(|| LogError::NotATable {
            table: table.to_string(),
            reason: "_delta_log is missing or holds no commit or checkpoint".to_string(),
        })?;
    let version = target.unwrap_or(latest);
    if version > latest {
        return Err(LogError::VersionNotAvailable {
            table: table.to_string(),
            version,
            reason: format!("the latest version is {latest}"),
        });
    }
    let checkpoint = checkpoints
        .range(..=version)
        .next_back()
        .map(|(v, files)| (*v, files.clone()));
    let start = checkpoint.as_ref().map_or(0, |(v, _)| v + 1);
    if start == 0 && !commits.contains_key(&0) {
        let earliest = commits.keys().next().copied().unwrap_or(latest);
        return Err(LogError::VersionNotAvailable {
            table: table.to_string(),
            version,
            reason: format!(
                "the log starts at version {earliest} and has no checkpoint at or before {version}"
            ),
        });
    }
    let mut segment_commits = Vec::new();
    for v in start..=version {
        match commits.get(&v) {
            Some(f) => segment_commits.push((*f).clone()),
            None => {
                let before = commits.range(..v).next_back().map(|(v, _)| *v);
                let after = commits.range(v..).next().map(|(v, _)| *v);
                return Err(LogError::MissingVersion {
                    table: table.to_string(),
                    missing: v,
                    target: version,
                    reason: format!(
                        "commits are not contiguous (found {} and {})",
                        before.map_or("none".to_string(), |b| b.to_string()),
                        after.map_or("none".to_string(), |a| a.to_string()),
                    ),
                });
            }
        }
    }
    let covered_commit = match segment_commits.last() {
        Some(_) => None,
        None => commits.get(&version).map(|f| (*f).clone()),
    };
    Ok(LogSegment {
        version,
        checkpoint,
        commits: segment_commits,
        covered_commit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use object_store::path::Path;

    fn file(version: u64, suffix: &str) -> LogFile {
        LogFile {
            version,
            suffix: suffix.to_string(),
            location: Path::from(format!("t/_delta_log/{version:020}.{suffix}")),
            size: 1,
            last_modified: Utc.timestamp_opt(0, 0).unwrap(),
        }
    }

    fn versions(s: &LogSegment) -> (Option<u64>, Vec<u64>) {
        (
            s.checkpoint.as_ref().map(|(v, _)| *v),
            s.commits.iter().map(|c| c.version).collect(),
        )
    }

    #[test]
    fn uses_newest_checkpoint_at_or_before_target() {
        let files: Vec<_> = (0..=12)
            .map(|v| file(v, "json"))
            .chain([
                file(5, "checkpoint.parquet"),
                file(10, "checkpoint.parquet"),
            ])
            .collect();
        let s = build_segment(&files, None, "t").unwrap();
        assert_eq!(versions(&s), (Some(10), vec![11, 12]));
        let s = build_segment(&files, Some(7), "t").unwrap();
        assert_eq!(versions(&s), (Some(5), vec![6, 7]));
        let s = build_segment(&files, Some(3), "t").unwrap();
        assert_eq!(versions(&s), (None, vec![0, 1, 2, 3]));
    }

    #[test]
    fn incomplete_multi_part_checkpoints_are_skipped() {
        let files: Vec<_> = (0..=4)
            .map(|v| file(v, "json"))
            .chain([
                file(2, "checkpoint.0000000001.0000000002.parquet"),
                file(2, "checkpoint.0000000002.0000000002.parquet"),
                file(4, "checkpoint.0000000001.0000000002.parquet"),
            ])
            .collect();
        let s = build_segment(&files, None, "t").unwrap();
        assert_eq!(versions(&s), (Some(2), vec![3, 4]));
        assert_eq!(s.checkpoint.unwrap().1.len(), 2);
    }

    #[test]
    fn gaps_and_missing_versions_are_errors() {
        let files = vec![file(0, "json"), file(2, "json")];
        let err = build_segment(&files, None, "t").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the log of 't' is missing version 1 (needed to read version 2): commits are not contiguous (found 0 and 2)"
        );
        let err = build_segment(&files, Some(5), "t").unwrap_err();
        assert!(
            matches!(err, LogError::VersionNotAvailable { version: 5, .. }),
            "{err}"
        );
        let files = vec![file(3, "json"), file(4, "json")];
        let err = build_segment(&files, Some(3), "t").unwrap_err();
        assert!(
            err.to_string().contains("the log starts at version 3"),
            "{err}"
        );
        let err = build_segment(&[], None, "t").unwrap_err();
        assert!(matches!(err, LogError::NotATable { .. }));
    }

    #[test]
    fn a_version_its_checkpoint_covers_is_dated_by_its_commit() {
        let files = vec![
            file(2, "json"),
            file(3, "json"),
            file(3, "checkpoint.parquet"),
        ];
        let s = build_segment(&files, None, "t").unwrap();
        assert_eq!(versions(&s), (Some(3), vec![]));
        assert_eq!(s.covered_commit.as_ref().unwrap().version, 3);
        assert_eq!(s.dating_file().unwrap().suffix, "json");
        let s = build_segment(&files, Some(2), "t");
        assert!(s.is_err(), "no commit 0 and no checkpoint at or before 2");
    }

    #[test]
    fn checkpoint_without_its_commit_is_enough() {
        let files = vec![file(3, "checkpoint.parquet"), file(4, "json")];
        let s = build_segment(&files, Some(3), "t").unwrap();
        assert_eq!(versions(&s), (Some(3), vec![]));
        assert_eq!(s.dating_file().unwrap().suffix, "checkpoint.parquet");
    }
}
