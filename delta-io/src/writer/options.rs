//! How data files are written: [`WriterOptions`], their defaults, and the
//! ones a table's properties ask for.

use delta_log::TableProperties;
use delta_log::properties::StatsColumns;
use parquet::basic::Compression;

/// Default size at which a data file is closed: 128 MiB.
pub const DEFAULT_TARGET_FILE_SIZE: u64 = 128 * 1024 * 1024;
/// Default largest number of rows in a Parquet row group.
pub const DEFAULT_MAX_ROW_GROUP_ROWS: usize = 1024 * 1024;
/// Default largest (estimated, encoded) size of a Parquet row group: 64 MiB.
pub const DEFAULT_MAX_ROW_GROUP_BYTES: usize = 64 * 1024 * 1024;
/// Default largest number of rows in a data page (arrow-rs's default).
pub const DEFAULT_DATA_PAGE_ROWS: usize = 20_000;
/// Default largest number of files open at once (one per partition).
pub const DEFAULT_MAX_OPEN_FILES: usize = 16;

/// How data files are written.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterOptions {
    /// A file is closed, and the next rows go to a new one, between row
    /// groups once one more row group like its last would pass this size
    /// (so files end with whole row groups); a file whose first row group
    /// alone reaches it is closed inside that row group.
    pub target_file_size: u64,
    /// Largest number of rows in a row group.
    pub max_row_group_rows: usize,
    /// Largest estimated encoded size of a row group, which bounds the memory
    /// of each open file.
    pub max_row_group_bytes: usize,
    /// Largest number of rows in a data page (pages are what a reader with
    /// the page index skips).
    pub data_page_rows: usize,
    /// Largest number of files open at once.
    pub max_open_files: usize,
    /// Parquet compression codec (snappy by default, as Spark and delta-rs).
    pub compression: Compression,
    /// Put each file in a random directory of this many letters and digits
    /// instead of partition directories. Always on under column mapping
    /// (with [`DEFAULT_RANDOM_PREFIX_LENGTH`] when `None`).
    ///
    /// [`DEFAULT_RANDOM_PREFIX_LENGTH`]: delta_log::properties::DEFAULT_RANDOM_PREFIX_LENGTH
    pub random_prefix_length: Option<usize>,
    /// Which columns get statistics.
    pub stats: StatsColumns,
    /// Threads that encode the columns of a file at once (the file's bytes
    /// are the same whatever the number); by default the cores, at most 8.
    pub encoding_threads: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            target_file_size: DEFAULT_TARGET_FILE_SIZE,
            max_row_group_rows: DEFAULT_MAX_ROW_GROUP_ROWS,
            max_row_group_bytes: DEFAULT_MAX_ROW_GROUP_BYTES,
            data_page_rows: DEFAULT_DATA_PAGE_ROWS,
            max_open_files: DEFAULT_MAX_OPEN_FILES,
            compression: Compression::SNAPPY,
            random_prefix_length: None,
            stats: StatsColumns::default(),
            encoding_threads: std::thread::available_parallelism()
                .map_or(1, std::num::NonZero::get)
                .min(8),
        }
    }
}

impl WriterOptions {
    /// The defaults, adjusted by a table's properties: target file size,
    /// compression codec, random file prefixes and the statistics columns.
    pub fn from_table(properties: &TableProperties) -> Self {
        let defaults = WriterOptions::default();
        WriterOptions {
            target_file_size: properties
                .target_file_size
                .unwrap_or(defaults.target_file_size),
            compression: properties.compression.unwrap_or(defaults.compression),
            random_prefix_length: properties
                .randomize_file_prefixes
                .then_some(properties.random_prefix_length),
            stats: properties.stats_columns.clone(),
            ..defaults
        }
    }
}

/// The codec part of file names, as Spark names them (`.snappy`, `.gz`...).
pub(super) fn codec_extension(compression: Compression) -> &'static str {
    match compression {
        Compression::UNCOMPRESSED => "",
        Compression::SNAPPY => ".snappy",
        Compression::GZIP(_) => ".gz",
        Compression::LZO => ".lzo",
        Compression::BROTLI(_) => ".br",
        Compression::LZ4 => ".lz4",
        Compression::ZSTD(_) => ".zstd",
        Compression::LZ4_RAW => ".lz4raw",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn options_follow_the_table_properties() {
        let props = |pairs: &[(&str, &str)]| {
            let map: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            WriterOptions::from_table(&TableProperties::parse(&map).unwrap())
        };
        assert_eq!(props(&[]), WriterOptions::default());
        let o = props(&[
            ("delta.targetFileSize", "64mb"),
            ("delta.parquet.compression.codec", "ZSTD"),
            ("delta.randomizeFilePrefixes", "true"),
            ("delta.randomPrefixLength", "3"),
            ("delta.dataSkippingNumIndexedCols", "-1"),
        ]);
        assert_eq!(o.target_file_size, 64 << 20);
        assert!(matches!(o.compression, Compression::ZSTD(_)));
        assert_eq!(o.random_prefix_length, Some(3));
        assert_eq!(o.stats, StatsColumns::AllLeaves);
        let o = props(&[("delta.randomPrefixLength", "3")]);
        assert_eq!(o.random_prefix_length, None);
    }
}
