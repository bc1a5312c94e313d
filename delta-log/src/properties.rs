//! Table properties (`metaData.configuration`): every `delta.*` key this
//! workspace acts on, parsed once into typed values with Delta's defaults.
//! A value that does not parse is an error naming the key, never a silent
//! default. Keys we do not act on are kept only in the raw map.

use std::collections::{BTreeMap, HashMap};

use parquet::basic::{Compression, GzipLevel, ZstdLevel};

use crate::LogError;
use crate::actions::{Metadata, Protocol};
use crate::features::TableFeature;

/// `delta.appendOnly`.
pub const APPEND_ONLY: &str = "delta.appendOnly";
/// How concurrent transactions are ordered: `Serializable` or `WriteSerializable`.
pub const ISOLATION_LEVEL: &str = "delta.isolationLevel";
/// `delta.checkpointInterval`.
pub const CHECKPOINT_INTERVAL: &str = "delta.checkpointInterval";
/// `delta.checkpointPolicy`.
pub const CHECKPOINT_POLICY: &str = "delta.checkpointPolicy";
/// `delta.checkpoint.writeStatsAsJson`.
pub const CHECKPOINT_STATS_AS_JSON: &str = "delta.checkpoint.writeStatsAsJson";
/// `delta.checkpoint.writeStatsAsStruct`.
pub const CHECKPOINT_STATS_AS_STRUCT: &str = "delta.checkpoint.writeStatsAsStruct";
/// `delta.columnMapping.mode`.
pub const COLUMN_MAPPING_MODE: &str = "delta.columnMapping.mode";
/// `delta.columnMapping.maxColumnId`.
pub const COLUMN_MAPPING_MAX_ID: &str = "delta.columnMapping.maxColumnId";
/// Prefix of CHECK constraints: `delta.constraints.<name>`.
pub const CONSTRAINTS_PREFIX: &str = "delta.constraints.";
/// `delta.enableChangeDataFeed`.
pub const ENABLE_CHANGE_DATA_FEED: &str = "delta.enableChangeDataFeed";
/// `delta.enableDeletionVectors`.
pub const ENABLE_DELETION_VECTORS: &str = "delta.enableDeletionVectors";
/// `delta.enableInCommitTimestamps`.
pub const ENABLE_IN_COMMIT_TIMESTAMPS: &str = "delta.enableInCommitTimestamps";
/// `delta.inCommitTimestampEnablementVersion`.
pub const ICT_ENABLEMENT_VERSION: &str = "delta.inCommitTimestampEnablementVersion";
/// `delta.inCommitTimestampEnablementTimestamp`.
pub const ICT_ENABLEMENT_TIMESTAMP: &str = "delta.inCommitTimestampEnablementTimestamp";
/// `delta.enableRowTracking`.
pub const ENABLE_ROW_TRACKING: &str = "delta.enableRowTracking";
/// `delta.enableTypeWidening`.
pub const ENABLE_TYPE_WIDENING: &str = "delta.enableTypeWidening";
/// `delta.deletedFileRetentionDuration`.
pub const DELETED_FILE_RETENTION: &str = "delta.deletedFileRetentionDuration";
/// `delta.logRetentionDuration`.
pub const LOG_RETENTION: &str = "delta.logRetentionDuration";
/// `delta.enableExpiredLogCleanup`.
pub const ENABLE_EXPIRED_LOG_CLEANUP: &str = "delta.enableExpiredLogCleanup";
/// `delta.checkpointRetentionDuration`.
pub const CHECKPOINT_RETENTION: &str = "delta.checkpointRetentionDuration";
/// `delta.targetFileSize`.
pub const TARGET_FILE_SIZE: &str = "delta.targetFileSize";
/// `delta.parquet.compression.codec`.
pub const COMPRESSION_CODEC: &str = "delta.parquet.compression.codec";
/// `delta.randomizeFilePrefixes`.
pub const RANDOMIZE_FILE_PREFIXES: &str = "delta.randomizeFilePrefixes";
/// `delta.randomPrefixLength`.
pub const RANDOM_PREFIX_LENGTH: &str = "delta.randomPrefixLength";
/// `delta.dataSkippingNumIndexedCols`.
pub const NUM_INDEXED_COLS: &str = "delta.dataSkippingNumIndexedCols";
/// `delta.dataSkippingStatsColumns`.
pub const STATS_COLUMNS: &str = "delta.dataSkippingStatsColumns";

/// Default of `delta.checkpointInterval`.
pub const DEFAULT_CHECKPOINT_INTERVAL: u64 = 10;
/// Default of `delta.deletedFileRetentionDuration`: one week.
pub const DEFAULT_DELETED_FILE_RETENTION_MS: i64 = 7 * DAY_MS;
/// Default of `delta.logRetentionDuration`: 30 days.
pub const DEFAULT_LOG_RETENTION_MS: i64 = 30 * DAY_MS;
/// Default of `delta.checkpointRetentionDuration`: 2 days.
pub const DEFAULT_CHECKPOINT_RETENTION_MS: i64 = 2 * DAY_MS;
/// Default of `delta.dataSkippingNumIndexedCols`.
pub const DEFAULT_NUM_INDEXED_COLS: i64 = 32;
/// Default of `delta.randomPrefixLength`.
pub const DEFAULT_RANDOM_PREFIX_LENGTH: usize = 2;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// How data files name their columns (`delta.columnMapping.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColumnMapping {
    /// Files use the logical names.
    #[default]
    None,
    /// Files use the physical names of the field metadata.
    Name,
    /// Files are matched by field id (Parquet field ids).
    Id,
}

impl ColumnMapping {
    /// Reads the mode from the property value (`None` for an unknown mode).
    pub fn from_property(value: Option<&str>) -> Option<Self> {
        match value {
            None | Some("none") => Some(ColumnMapping::None),
            Some("name") => Some(ColumnMapping::Name),
            Some("id") => Some(ColumnMapping::Id),
            Some(_) => None,
        }
    }

    /// The property value.
    pub fn name(self) -> &'static str {
        match self {
            ColumnMapping::None => "none",
            ColumnMapping::Name => "name",
            ColumnMapping::Id => "id",
        }
    }
}

/// Which kind of checkpoint the table writes (`delta.checkpointPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckpointPolicy {
    /// Classic (V1) checkpoints.
    #[default]
    Classic,
    /// V2 checkpoints (needs the `v2Checkpoint` feature).
    V2,
}

/// Which columns get statistics in new data files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsColumns {
    /// The first `n` leaf columns (`delta.dataSkippingNumIndexedCols`).
    FirstLeaves(usize),
    /// Every leaf column (`delta.dataSkippingNumIndexedCols = -1`).
    AllLeaves,
    /// These columns (`delta.dataSkippingStatsColumns`), each a path of
    /// lower-cased logical names; a struct stands for all its leaves.
    Columns(Vec<Vec<String>>),
}

impl Default for StatsColumns {
    fn default() -> Self {
        StatsColumns::FirstLeaves(DEFAULT_NUM_INDEXED_COLS as usize)
    }
}

/// The `delta.*` properties of a table, typed, with Delta's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct TableProperties {
    /// `delta.appendOnly` (default false).
    pub append_only: bool,
    /// `delta.checkpointInterval` (default 10, at least 1).
    pub checkpoint_interval: u64,
    /// `delta.checkpointPolicy` (default classic).
    pub checkpoint_policy: CheckpointPolicy,
    /// `delta.checkpoint.writeStatsAsJson` (default true).
    pub checkpoint_write_stats_as_json: bool,
    /// `delta.checkpoint.writeStatsAsStruct` (default false: `stats_parsed`
    /// and `partitionValues_parsed` are written only when asked).
    pub checkpoint_write_stats_as_struct: bool,
    /// `delta.columnMapping.mode` (default none).
    pub column_mapping: ColumnMapping,
    /// `delta.columnMapping.maxColumnId`.
    pub column_mapping_max_id: Option<i64>,
    /// `delta.constraints.<name>` by (lower-cased) name: CHECK constraints.
    pub constraints: BTreeMap<String, String>,
    /// `delta.enableChangeDataFeed` (default false).
    pub enable_change_data_feed: bool,
    /// `delta.enableDeletionVectors` (default false).
    pub enable_deletion_vectors: bool,
    /// `delta.enableInCommitTimestamps` (default false).
    pub enable_in_commit_timestamps: bool,
    /// `delta.inCommitTimestampEnablementVersion`.
    pub in_commit_timestamp_enablement_version: Option<u64>,
    /// `delta.inCommitTimestampEnablementTimestamp` (ms since the epoch).
    pub in_commit_timestamp_enablement_timestamp: Option<i64>,
    /// `delta.enableRowTracking` (default false).
    pub enable_row_tracking: bool,
    /// `delta.enableTypeWidening` (default false).
    pub enable_type_widening: bool,
    /// `delta.deletedFileRetentionDuration` in ms (default one week).
    pub deleted_file_retention_ms: i64,
    /// `delta.logRetentionDuration` in ms (default 30 days).
    pub log_retention_ms: i64,
    /// `delta.enableExpiredLogCleanup` (default true).
    pub enable_expired_log_cleanup: bool,
    /// `delta.checkpointRetentionDuration` in ms (default 2 days).
    pub checkpoint_retention_ms: i64,
    /// `delta.targetFileSize` in bytes.
    pub target_file_size: Option<u64>,
    /// `delta.parquet.compression.codec`.
    pub compression: Option<Compression>,
    /// `delta.randomizeFilePrefixes` (default false).
    pub randomize_file_prefixes: bool,
    /// `delta.randomPrefixLength` (default 2).
    pub random_prefix_length: usize,
    /// `delta.dataSkippingStatsColumns`, else `delta.dataSkippingNumIndexedCols`.
    pub stats_columns: StatsColumns,
}

impl Default for TableProperties {
    fn default() -> Self {
        TableProperties {
            append_only: false,
            checkpoint_interval: DEFAULT_CHECKPOINT_INTERVAL,
            checkpoint_policy: CheckpointPolicy::Classic,
            checkpoint_write_stats_as_json: true,
            checkpoint_write_stats_as_struct: false,
            column_mapping: ColumnMapping::None,
            column_mapping_max_id: None,
            constraints: BTreeMap::new(),
            enable_change_data_feed: false,
            enable_deletion_vectors: false,
            enable_in_commit_timestamps: false,
            in_commit_timestamp_enablement_version: None,
            in_commit_timestamp_enablement_timestamp: None,
            enable_row_tracking: false,
            enable_type_widening: false,
            deleted_file_retention_ms: DEFAULT_DELETED_FILE_RETENTION_MS,
            log_retention_ms: DEFAULT_LOG_RETENTION_MS,
            enable_expired_log_cleanup: true,
            checkpoint_retention_ms: DEFAULT_CHECKPOINT_RETENTION_MS,
            target_file_size: None,
            compression: None,
            randomize_file_prefixes: false,
            random_prefix_length: DEFAULT_RANDOM_PREFIX_LENGTH,
            stats_columns: StatsColumns::default(),
        }
    }
}

impl TableProperties {
    /// Parses the properties of `configuration`; a value that does not parse
    /// is [`LogError::InvalidProperty`] naming the key.
    pub fn parse(configuration: &HashMap<String, String>) -> Result<Self, LogError> {
        let mut p = TableProperties::default();
        for (key, value) in configuration {
            let invalid = |reason: &str| LogError::InvalidProperty {
                key: key.clone(),
                value: value.clone(),
                reason: reason.to_string(),
            };
            let boolean = || parse_bool(value).ok_or_else(|| invalid("expected true or false"));
            let interval = || {
                parse_interval_ms(value)
                    .filter(|ms| *ms >= 0)
                    .ok_or_else(|| invalid("expected an interval such as 'interval 7 days'"))
            };
            if let Some(name) = key.strip_prefix(CONSTRAINTS_PREFIX) {
                p.constraints.insert(name.to_lowercase(), value.clone());
                continue;
            }
            match key.as_str() {
                APPEND_ONLY => p.append_only = boolean()?,
                CHECKPOINT_INTERVAL => {
                    p.checkpoint_interval = value
                        .trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| invalid("expected a positive integer"))?;
                }
                CHECKPOINT_POLICY => {
                    p.checkpoint_policy = match value.trim().to_ascii_lowercase().as_str() {
                        "classic" => CheckpointPolicy::Classic,
                        "v2" => CheckpointPolicy::V2,
                        _ => return Err(invalid("expected classic or v2")),
                    };
                }
                CHECKPOINT_STATS_AS_JSON => p.checkpoint_write_stats_as_json = boolean()?,
                CHECKPOINT_STATS_AS_STRUCT => p.checkpoint_write_stats_as_struct = boolean()?,
                COLUMN_MAPPING_MODE => {
                    p.column_mapping = ColumnMapping::from_property(Some(value.as_str()))
                        .ok_or_else(|| invalid("expected none, name or id"))?;
                }
                COLUMN_MAPPING_MAX_ID => {
                    p.column_mapping_max_id = Some(
                        value
                            .trim()
                            .parse::<i64>()
                            .ok()
                            .filter(|n| *n >= 0)
                            .ok_or_else(|| invalid("expected a non-negative integer"))?,
                    );
                }
                ENABLE_CHANGE_DATA_FEED => p.enable_change_data_feed = boolean()?,
                ENABLE_DELETION_VECTORS => p.enable_deletion_vectors = boolean()?,
                ENABLE_IN_COMMIT_TIMESTAMPS => p.enable_in_commit_timestamps = boolean()?,
                ICT_ENABLEMENT_VERSION => {
                    p.in_commit_timestamp_enablement_version = Some(
                        value
                            .trim()
                            .parse::<u64>()
                            .map_err(|_| invalid("expected a version number"))?,
                    );
                }
                ICT_ENABLEMENT_TIMESTAMP => {
                    p.in_commit_timestamp_enablement_timestamp = Some(
                        value
                            .trim()
                            .parse::<i64>()
                            .map_err(|_| invalid("expected milliseconds since the epoch"))?,
                    );
                }
                ENABLE_ROW_TRACKING => p.enable_row_tracking = boolean()?,
                ENABLE_TYPE_WIDENING => p.enable_type_widening = boolean()?,
                DELETED_FILE_RETENTION => p.deleted_file_retention_ms = interval()?,
                LOG_RETENTION => p.log_retention_ms = interval()?,
                ENABLE_EXPIRED_LOG_CLEANUP => p.enable_expired_log_cleanup = boolean()?,
                CHECKPOINT_RETENTION => p.checkpoint_retention_ms = interval()?,
                TARGET_FILE_SIZE => {
                    p.target_file_size = Some(
                        parse_size(value)
                            .filter(|n| *n > 0)
                            .ok_or_else(|| invalid("expected a positive size in bytes"))?,
                    );
                }
                COMPRESSION_CODEC => {
                    p.compression = Some(parse_codec(value).ok_or_else(|| {
                        invalid(
                            "expected one of uncompressed, none, snappy, gzip, lz4, lz4_raw, zstd",
                        )
                    })?);
                }
                RANDOMIZE_FILE_PREFIXES => p.randomize_file_prefixes = boolean()?,
                RANDOM_PREFIX_LENGTH => {
                    p.random_prefix_length = value
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| invalid("expected a positive integer"))?;
                }
                _ => {}
            }
        }
        p.stats_columns = stats_columns(configuration)?;
        Ok(p)
    }
}

/// Whether in-commit timestamps are on for a table with this protocol and
/// metadata: the `inCommitTimestamp` feature in force and
/// `delta.enableInCommitTimestamps` true (the feature alone is not enough).
pub fn in_commit_timestamps_on(protocol: &Protocol, metadata: &Metadata) -> Result<bool, LogError> {
    Ok(
        protocol.has_writer_feature(&TableFeature::InCommitTimestamp)
            && TableProperties::parse(&metadata.configuration)?.enable_in_commit_timestamps,
    )
}

/// `delta.dataSkippingStatsColumns` when set (it takes precedence), else
/// `delta.dataSkippingNumIndexedCols`.
fn stats_columns(configuration: &HashMap<String, String>) -> Result<StatsColumns, LogError> {
    if let Some(text) = configuration.get(STATS_COLUMNS) {
        let columns = parse_column_list(text).map_err(|reason| LogError::InvalidProperty {
            key: STATS_COLUMNS.to_string(),
            value: text.clone(),
            reason,
        })?;
        return Ok(StatsColumns::Columns(columns));
    }
    let Some(text) = configuration.get(NUM_INDEXED_COLS) else {
        return Ok(StatsColumns::default());
    };
    let invalid = || LogError::InvalidProperty {
        key: NUM_INDEXED_COLS.to_string(),
        value: text.clone(),
        reason: "expected an integer >= -1".to_string(),
    };
    match text.trim().parse::<i64>().map_err(|_| invalid())? {
        -1 => Ok(StatsColumns::AllLeaves),
        n => usize::try_from(n)
            .map(StatsColumns::FirstLeaves)
            .map_err(|_| invalid()),
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Parses a Delta interval such as `interval 7 days` or `interval 1 day 12
/// hours` (`<number> <unit>` pairs, the word `interval` optional; units from
/// microseconds to weeks, singular or plural) into milliseconds.
pub fn parse_interval_ms(text: &str) -> Option<i64> {
    let mut words = text.split_whitespace().peekable();
    if words
        .peek()
        .is_some_and(|w| w.eq_ignore_ascii_case("interval"))
    {
        words.next();
    }
    let mut total: i64 = 0;
    let mut parts = 0;
    while let Some(number) = words.next() {
        let n: i64 = number.parse().ok()?;
        let unit = words.next()?.to_ascii_lowercase();
        let ms = match unit.trim_end_matches('s') {
            "microsecond" => {
                total = total.checked_add(n / 1000)?;
                parts += 1;
                continue;
            }
            "millisecond" => 1,
            "second" => 1000,
            "minute" => 60 * 1000,
            "hour" => 3600 * 1000,
            "day" => DAY_MS,
            "week" => 7 * DAY_MS,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(ms)?)?;
        parts += 1;
    }
    (parts > 0).then_some(total)
}

/// A size in bytes: digits with an optional `b`, `k[b]`, `m[b]`, `g[b]` suffix
/// (powers of 1024), case-insensitive.
fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let n: u64 = digits.parse().ok()?;
    let factor: u64 = match unit.trim() {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor)
}

fn parse_codec(text: &str) -> Option<Compression> {
    Some(match text.trim().to_ascii_lowercase().as_str() {
        "uncompressed" | "none" => Compression::UNCOMPRESSED,
        "snappy" => Compression::SNAPPY,
        "gzip" => Compression::GZIP(GzipLevel::default()),
        "lz4" => Compression::LZ4,
        "lz4_raw" => Compression::LZ4_RAW,
        "zstd" => Compression::ZSTD(ZstdLevel::default()),
        _ => return None,
    })
}

/// Parses a comma-separated list of column names, each a dotted path whose
/// parts may be quoted in backticks (a doubled backtick inside quotes is one
/// backtick). Names are lowercased for case-insensitive matching.
fn parse_column_list(text: &str) -> Result<Vec<Vec<String>>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut columns = Vec::new();
    let mut parts: Vec<String> = Vec::new();
    let mut part = String::new();
    let mut quoted_part = false;
    let mut chars = text.chars().peekable();
    let finish_part = |part: &mut String, quoted: &mut bool, parts: &mut Vec<String>| {
        let name = if *quoted {
            part.clone()
        } else {
            part.trim().to_string()
        };
        if name.is_empty() {
            return Err("a column name is empty".to_string());
        }
        parts.push(name.to_lowercase());
        part.clear();
        *quoted = false;
        Ok(())
    };
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                if !part.trim().is_empty() {
                    return Err(format!("unexpected '`' after '{}'", part.trim()));
                }
                part.clear();
                quoted_part = true;
                loop {
                    match chars.next() {
                        Some('`') if chars.peek() == Some(&'`') => {
                            chars.next();
                            part.push('`');
                        }
                        Some('`') => break,
                        Some(other) => part.push(other),
                        None => return Err("unterminated '`'".to_string()),
                    }
                }
                // only blanks may follow a quoted part before '.' or ','
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if chars.peek().is_some_and(|c| *c != '.' && *c != ',') {
                    return Err(format!("unexpected text after '`{part}`'"));
                }
            }
            '.' => finish_part(&mut part, &mut quoted_part, &mut parts)?,
            ',' => {
                finish_part(&mut part, &mut quoted_part, &mut parts)?;
                columns.push(std::mem::take(&mut parts));
            }
            other => part.push(other),
        }
    }
    finish_part(&mut part, &mut quoted_part, &mut parts)?;
    columns.push(parts);
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<TableProperties, LogError> {
        TableProperties::parse(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn defaults_are_deltas() {
        let p = parse(&[]).unwrap();
        assert_eq!(p, TableProperties::default());
        assert_eq!(p.checkpoint_interval, 10);
        assert_eq!(p.deleted_file_retention_ms, 604_800_000);
        assert_eq!(p.stats_columns, StatsColumns::FirstLeaves(32));
    }

    #[test]
    fn typed_values() {
        let p = parse(&[
            ("delta.appendOnly", "TRUE"),
            ("delta.checkpointInterval", "3"),
            ("delta.checkpointPolicy", "v2"),
            ("delta.columnMapping.mode", "name"),
            ("delta.constraints.XPos", "x > 0"),
            ("delta.logRetentionDuration", "interval 2 days"),
            ("delta.targetFileSize", "64mb"),
            ("delta.dataSkippingNumIndexedCols", "-1"),
            ("delta.inCommitTimestampEnablementVersion", "4"),
            ("user.key", "anything"),
        ])
        .unwrap();
        assert!(p.append_only);
        assert_eq!(p.checkpoint_interval, 3);
        assert_eq!(p.checkpoint_policy, CheckpointPolicy::V2);
        assert_eq!(p.column_mapping, ColumnMapping::Name);
        assert_eq!(p.constraints.get("xpos").map(String::as_str), Some("x > 0"));
        assert_eq!(p.log_retention_ms, 2 * DAY_MS);
        assert_eq!(p.target_file_size, Some(64 << 20));
        assert_eq!(p.stats_columns, StatsColumns::AllLeaves);
        assert_eq!(p.in_commit_timestamp_enablement_version, Some(4));
        let p = parse(&[("delta.dataSkippingStatsColumns", "a, `b.c`.d")]).unwrap();
        assert_eq!(
            p.stats_columns,
            StatsColumns::Columns(vec![vec!["a".into()], vec!["b.c".into(), "d".into()]])
        );
    }

    #[test]
    fn bad_values_name_the_key() {
        for (key, value) in [
            ("delta.appendOnly", "yes"),
            ("delta.checkpointInterval", "0"),
            ("delta.checkpointPolicy", "v3"),
            ("delta.columnMapping.mode", "fancy"),
            ("delta.deletedFileRetentionDuration", "7 fortnights"),
            ("delta.targetFileSize", "big"),
            ("delta.parquet.compression.codec", "brotli9"),
            ("delta.dataSkippingNumIndexedCols", "-2"),
            ("delta.dataSkippingStatsColumns", "a,,b"),
        ] {
            let err = parse(&[(key, value)]).unwrap_err();
            assert!(
                matches!(&err, LogError::InvalidProperty { key: k, .. } if k == key),
                "{key}: {err}"
            );
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn parses_column_lists() {
        assert_eq!(
            parse_column_list(" a, B.c ,`x.y`.`z``w` ").unwrap(),
            vec![
                vec!["a".to_string()],
                vec!["b".to_string(), "c".to_string()],
                vec!["x.y".to_string(), "z`w".to_string()],
            ]
        );
        assert!(parse_column_list("").unwrap().is_empty());
        assert!(parse_column_list("a,,b").is_err());
        assert!(parse_column_list("`a").is_err());
        assert!(parse_column_list("a.").is_err());
    }

    #[test]
    fn parses_intervals() {
        assert_eq!(parse_interval_ms("interval 1 week"), Some(604_800_000));
        assert_eq!(parse_interval_ms("interval 7 days"), Some(604_800_000));
        assert_eq!(parse_interval_ms("INTERVAL 2 hours"), Some(7_200_000));
        assert_eq!(parse_interval_ms("30 seconds"), Some(30_000));
        assert_eq!(parse_interval_ms("interval x days"), None);
        assert_eq!(parse_interval_ms("interval 3 fortnights"), None);
        assert_eq!(parse_interval_ms("interval 3 days later"), None);
        assert_eq!(
            parse_interval_ms("interval 1 day 12 hours"),
            Some(36 * 3_600_000)
        );
        assert_eq!(parse_interval_ms("interval"), None);
        assert_eq!(parse_interval_ms("2000 microseconds"), Some(2));
    }
}
