//! The one error type of this crate.

/// Everything that can go wrong reading or writing data files. Messages name
/// the file and column where there is one.
///
/// The deletion vector variants (`InvalidDvStorageType` to
/// `DvCardinalityMismatch`) name the DV concerned: its unique id and, for DVs in
/// files, the file path and offset (or a generic label when the parse functions of
/// [`crate::dv`] are used directly).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    /// The object store failed on a path.
    #[error("storage error at '{path}': {source}")]
    Store {
        /// Path the operation was on.
        path: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// A data file referenced by the log does not exist.
    #[error("data file '{path}' referenced by the log is missing")]
    MissingFile {
        /// The file.
        path: String,
    },
    /// A Parquet file could not be read.
    #[error("cannot read Parquet file '{path}': {reason}")]
    Parquet {
        /// The file.
        path: String,
        /// The reader's complaint.
        reason: String,
    },
    /// A file's column does not fit the table schema.
    #[error("file '{path}', column '{column}': {reason}")]
    Column {
        /// The file.
        path: String,
        /// The column (dotted path).
        column: String,
        /// What does not fit.
        reason: String,
    },
    /// A partition value in the log cannot be read as its column's type.
    #[error("partition value {value:?} of column '{column}' is not a valid {data_type}: {reason}")]
    PartitionValue {
        /// The column.
        column: String,
        /// The value as serialized in the log.
        value: String,
        /// The column's Delta type.
        data_type: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A path in the log cannot be resolved.
    #[error("invalid file path '{path}' in the log: {reason}")]
    InvalidPath {
        /// The path as written.
        path: String,
        /// Why.
        reason: String,
    },
    /// A column asked for does not exist.
    #[error("no column '{column}' in the table (columns: {available})")]
    NoSuchColumn {
        /// The name asked for.
        column: String,
        /// The table's columns.
        available: String,
    },
    /// `storageType` is not one of the three the protocol defines.
    #[error(
        "deletion vector {unique_id}: unknown storageType {storage_type:?}; the protocol \
         defines only \"u\" (file at a UUID-derived relative path), \"i\" (inline) and \
         \"p\" (file at an absolute path)"
    )]
    InvalidDvStorageType {
        /// The descriptor's unique id.
        unique_id: String,
        /// The storage type found.
        storage_type: String,
    },
    /// A deletion vector was decoded as inline, or as in a file, and its descriptor's
    /// storage type says otherwise.
    #[error("deletion vector {unique_id}: storageType {found:?} cannot be read as {expected}")]
    WrongDvStorageType {
        /// The descriptor's unique id.
        unique_id: String,
        /// What the caller asked for.
        expected: &'static str,
        /// The storage type found.
        found: String,
    },
    /// A descriptor field has a value the protocol does not allow.
    #[error("{dv}: invalid deletion vector descriptor: {reason}")]
    InvalidDvDescriptor {
        /// The DV concerned.
        dv: String,
        /// Which field is wrong and why.
        reason: String,
    },
    /// Z85 text (the inline data or the encoded UUID) does not decode.
    #[error("{dv}: {what} is not valid Z85: {detail}")]
    InvalidZ85 {
        /// The DV concerned.
        dv: String,
        /// Which text: the inline data or the encoded UUID.
        what: &'static str,
        /// The decoder's complaint.
        detail: String,
    },
    /// A DV file starts with a format version other than 1.
    #[error(
        "{dv}: DV file format version is {found}, but the protocol defines only version {}",
        crate::dv::DV_FILE_FORMAT_VERSION
    )]
    UnsupportedDvFileVersion {
        /// The DV concerned.
        dv: String,
        /// The version byte found.
        found: u8,
    },
    /// The serialized DV does not start with the protocol's magic number.
    #[error(
        "{dv}: serialized deletion vector starts with magic number {found} (0x{found:08x}), \
         expected {} (64-bit RoaringBitmap in the portable format){}",
        crate::dv::DV_MAGIC_NUMBER,
        crate::dv::magic_hint(*found)
    )]
    BadDvMagic {
        /// The DV concerned.
        dv: String,
        /// The magic number found (read little endian).
        found: u32,
    },
    /// A size recorded in one place disagrees with the data or with another size.
    #[error("{dv}: size mismatch: {what}: expected {expected} bytes, found {found}")]
    DvSizeMismatch {
        /// The DV concerned.
        dv: String,
        /// Which sizes disagree.
        what: &'static str,
        /// The size required (from the descriptor's `sizeInBytes`).
        expected: u64,
        /// The size found.
        found: u64,
    },
    /// The data ends before a field that must be there.
    #[error("{dv}: truncated: {what} needs at least {needed} bytes, only {available} present")]
    DvTruncated {
        /// The DV concerned.
        dv: String,
        /// What was being read.
        what: String,
        /// Bytes needed (at least).
        needed: u64,
        /// Bytes present.
        available: u64,
    },
    /// The CRC-32 stored after a DV in a file does not match its data.
    #[error(
        "{dv}: CRC-32 checksum mismatch: file stores 0x{stored:08x}, but the {len} bytes of \
         DV data hash to 0x{computed:08x}; the DV file is corrupt"
    )]
    DvChecksumMismatch {
        /// The DV concerned.
        dv: String,
        /// The checksum stored in the file.
        stored: u32,
        /// The checksum computed over the data.
        computed: u32,
        /// Length of the data hashed.
        len: usize,
    },
    /// The RoaringBitmapArray after the magic number is malformed.
    #[error("{dv}: invalid 64-bit RoaringBitmap (portable format): {reason}")]
    InvalidDvBitmap {
        /// The DV concerned.
        dv: String,
        /// What is wrong and where.
        reason: String,
    },
    /// The bitmap holds a different number of row indexes than the descriptor says.
    #[error(
        "{dv}: the deletion vector holds {actual} row indexes, but the descriptor's \
         cardinality is {expected}"
    )]
    DvCardinalityMismatch {
        /// The DV concerned.
        dv: String,
        /// The descriptor's `cardinality`.
        expected: i64,
        /// Row indexes in the decoded bitmap.
        actual: u64,
    },
    /// A table schema that cannot be read.
    #[error(transparent)]
    Schema(#[from] delta_schema::SchemaError),
    /// A data file could not be written.
    #[error("cannot write data file '{path}': {reason}")]
    Write {
        /// The file being written.
        path: String,
        /// What failed.
        reason: String,
    },
    /// A batch given to the writer does not have the table's Arrow schema.
    #[error("batch does not match the table schema at column '{column}': {reason}")]
    BatchSchema {
        /// The column (dotted path; `*` for the whole batch).
        column: String,
        /// What differs.
        reason: String,
    },
    /// A partition column that cannot be written.
    #[error("cannot partition by column '{column}': {reason}")]
    InvalidPartitionColumn {
        /// The column.
        column: String,
        /// Why.
        reason: String,
    },
    /// A value of a partition column that has no partition value serialization.
    #[error("cannot serialize a value of partition column '{column}' ({data_type}): {reason}")]
    UnwritablePartitionValue {
        /// The column.
        column: String,
        /// Its Delta type.
        data_type: String,
        /// Why.
        reason: String,
    },
    /// The writer was used after one of its writes failed: the files it wrote
    /// must not be committed.
    #[error("the data writer failed earlier ({reason}); its files must not be committed")]
    WriterFailed {
        /// The first failure.
        reason: String,
    },
}
