//! What each versioned file of `_delta_log` is (PROTOCOL.md §"Delta Log Entries",
//! §"Checkpoints", §"Log Compaction Files", §"Version Checksum File").

use crate::core::LogFile;

/// The kind of a versioned file in `_delta_log`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeltaFileKind {
    /// `<v>.json`: a commit.
    Commit,
    /// A checkpoint (or one part of one).
    Checkpoint(CheckpointFile),
    /// `<v>.crc`: the version checksum file.
    Checksum,
    /// `<v>.<w>.compacted.json`: the actions of commits v..=w (optional, unused on read).
    Compaction {
        /// Last version the file covers.
        end: u64,
    },
    /// Anything else (temporary files, unknown future files).
    Other,
}

/// The naming scheme of one checkpoint file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointFile {
    /// `<v>.checkpoint.parquet`.
    Classic,
    /// `<v>.checkpoint.<part>.<parts>.parquet`.
    MultiPart {
        /// 1-based part number.
        part: u32,
        /// Number of parts.
        parts: u32,
    },
    /// `<v>.checkpoint.<uuid>.json` or `.parquet` (V2, top-level file).
    V2 {
        /// Whether the file is JSON (else Parquet).
        json: bool,
    },
}

impl CheckpointFile {
    /// Whether the file is Parquet.
    pub fn is_parquet(&self) -> bool {
        !matches!(self, CheckpointFile::V2 { json: true })
    }
}

/// Classifies a listed file of `_delta_log` by its suffix.
pub fn classify(file: &LogFile) -> DeltaFileKind {
    classify_suffix(&file.suffix)
}

/// Classifies the part of a file name after `<version>.`.
pub fn classify_suffix(suffix: &str) -> DeltaFileKind {
    if suffix == "json" {
        return DeltaFileKind::Commit;
    }
    if suffix == "crc" {
        return DeltaFileKind::Checksum;
    }
    if let Some(rest) = suffix.strip_suffix(".compacted.json") {
        return match rest.parse() {
            Ok(end) if rest.len() == crate::core::VERSION_DIGITS => {
                DeltaFileKind::Compaction { end }
            }
            _ => DeltaFileKind::Other,
        };
    }
    let Some(rest) = suffix.strip_prefix("checkpoint") else {
        return DeltaFileKind::Other;
    };
    if rest == ".parquet" {
        return DeltaFileKind::Checkpoint(CheckpointFile::Classic);
    }
    let parts: Vec<&str> = rest.split('.').collect();
    match parts.as_slice() {
        ["", part, parts, "parquet"] if part.len() == 10 && parts.len() == 10 => {
            match (part.parse::<u32>(), parts.parse::<u32>()) {
                (Ok(part), Ok(parts)) if part >= 1 && part <= parts => {
                    DeltaFileKind::Checkpoint(CheckpointFile::MultiPart { part, parts })
                }
                _ => DeltaFileKind::Other,
            }
        }
        ["", uuid, ext] if is_uuid(uuid) && (*ext == "json" || *ext == "parquet") => {
            DeltaFileKind::Checkpoint(CheckpointFile::V2 {
                json: *ext == "json",
            })
        }
        _ => DeltaFileKind::Other,
    }
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| {
            if [8, 13, 18, 23].contains(&i) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_delta_file_names() {
        assert_eq!(classify_suffix("json"), DeltaFileKind::Commit);
        assert_eq!(classify_suffix("crc"), DeltaFileKind::Checksum);
        assert_eq!(
            classify_suffix("checkpoint.parquet"),
            DeltaFileKind::Checkpoint(CheckpointFile::Classic)
        );
        assert_eq!(
            classify_suffix("checkpoint.0000000002.0000000003.parquet"),
            DeltaFileKind::Checkpoint(CheckpointFile::MultiPart { part: 2, parts: 3 })
        );
        assert_eq!(
            classify_suffix("checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json"),
            DeltaFileKind::Checkpoint(CheckpointFile::V2 { json: true })
        );
        assert_eq!(
            classify_suffix("00000000000000000004.compacted.json"),
            DeltaFileKind::Compaction { end: 4 }
        );
        assert_eq!(
            classify_suffix("checkpoint.0000000004.0000000003.parquet"),
            DeltaFileKind::Other
        );
        assert_eq!(classify_suffix("json.tmp"), DeltaFileKind::Other);
    }
}
