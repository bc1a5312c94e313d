//! Deletion vectors (DVs): descriptors, where their bytes live, and decoding them.
//!
//! Implements the sections "Deletion Vectors", "Deletion Vector Descriptor Schema",
//! "Deletion Vector Format" and "Deletion Vector File Storage Format" of the Delta
//! protocol (`PROTOCOL.md` of delta-io/delta). Everything here is pure and sync: the
//! caller fetches bytes from the object store and hands them in.
//!
//! Reading a DV for an `add` action, from its `deletionVector`, delta-log's
//! [`DeletionVectorDescriptor`]:
//! 1. [`locate`] checks the descriptor and says where the serialized DV is: inline in
//!    the log ([`DvLocation::Inline`]), or in a file ([`DvLocation::File`]), whose bytes
//!    [`DvLocation::file_range`] to fetch.
//! 2. [`decode_inline`], [`decode_file_region`] (the fetched range) or
//!    [`decode_whole_file`] (the whole file) check sizes, the CRC-32, the magic number
//!    and the cardinality and return the deleted row indexes.
//! 3. [`row_mask`] turns them into a keep-mask for each record batch of the data file.
//!
//! Errors are [`IoError`]'s deletion vector variants (`InvalidDvStorageType` to
//! `DvCardinalityMismatch`).
//!
//! # Formats, byte by byte
//!
//! Serialized DV (inline, or the `bitmapData` of a DV file), little endian:
//! `magic: u32 = 1681511377`, then a 64-bit RoaringBitmap in the "portable" format:
//! `numBuckets: u64`, then per bucket in strictly ascending key order
//! `key: u32` (the high 32 bits of the row indexes; Delta requires its most significant
//! bit to be 0) and a standard 32-bit RoaringBitmap of the low 32 bits.
//!
//! DV file, big endian: `version: u8 = 1`, then per DV `dataSize: u32`,
//! `bitmapData: [u8; dataSize]` (a serialized DV as above) and
//! `checksum: u32` = CRC-32 (IEEE, as `java.util.zip.CRC32`) of `bitmapData`.
//! A descriptor's `offset` points at the DV's `dataSize` field (so `1` for the first DV in
//! a file) and its `sizeInBytes` equals `dataSize`.

use std::io;
use std::ops::Range;

use arrow::array::{BooleanArray, BooleanBufferBuilder};
use roaring::{RoaringBitmap, RoaringTreemap};

use delta_log::DeletionVectorDescriptor;

use crate::IoError;

/// The magic number that starts every serialized DV (little endian u32), for the
/// "portable" 64-bit RoaringBitmap format the protocol prescribes.
pub const DV_MAGIC_NUMBER: u32 = 1_681_511_377;

/// Magic number of Delta's non-portable "native" RoaringBitmapArray serialization. The
/// protocol does not allow it in tables; it is only recognised to explain the error.
const NATIVE_MAGIC_NUMBER: u32 = 1_681_511_376;

/// The only DV file format version the protocol defines (first byte of a DV file).
pub const DV_FILE_FORMAT_VERSION: u8 = 1;

/// Length of the Z85-encoded UUID at the end of `pathOrInlineDv` for `storageType = "u"`.
pub const ENCODED_UUID_LEN: usize = 20;

/// Bytes around each DV in a DV file: the 4-byte `dataSize` before and the 4-byte
/// CRC-32 after the data.
pub const DV_FILE_FRAMING_BYTES: u64 = 8;

/// Explains magic numbers that are near misses of the protocol's.
pub(crate) fn magic_hint(found: u32) -> &'static str {
    if found == NATIVE_MAGIC_NUMBER {
        "; this is Delta's non-portable \"native\" RoaringBitmapArray format, which the \
         protocol does not allow"
    } else if found.swap_bytes() == NATIVE_MAGIC_NUMBER {
        "; this is the \"native\" format's magic number written big endian (as in the \
         protocol's inline JSON example 3), which the protocol does not allow"
    } else if found.swap_bytes() == DV_MAGIC_NUMBER {
        "; this is the magic number written big endian, but it must be little endian"
    } else {
        ""
    }
}

/// Where the bytes of a deletion vector are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DvLocation {
    /// Stored inline in the log: the serialized DV (magic number and bitmap), exactly
    /// `sizeInBytes` long (any Z85 padding removed). Empty for the empty inline DV.
    Inline(Vec<u8>),
    /// Stored in a DV file.
    File {
        /// For `storageType = "u"`: the path relative to the table root,
        /// `[<random prefix>/]deletion_vector_<uuid>.bin`. For `"p"`: `pathOrInlineDv`
        /// unchanged, an absolute path or URL in the format of an action's `path` field.
        path: String,
        /// Byte position of the DV's 4-byte big-endian size field in the file.
        offset: u64,
        /// `sizeInBytes`: length of the serialized DV that follows the size field (the
        /// CRC-32 comes after it).
        size: u64,
    },
}

impl DvLocation {
    /// For a file DV, the byte range of the file to fetch and pass to
    /// [`decode_file_region`] or [`parse_file_region`]:
    /// `offset .. offset + 4 + size + 4` (size field, data, checksum). `None` for inline.
    pub fn file_range(&self) -> Option<Range<u64>> {
        match self {
            DvLocation::Inline(_) => None,
            DvLocation::File { offset, size, .. } => {
                Some(*offset..offset.saturating_add(size.saturating_add(DV_FILE_FRAMING_BYTES)))
            }
        }
    }
}

/// Where the bytes of the DV `descriptor` describes are, after checking the descriptor.
///
/// - `"u"`: the last 20 characters of `pathOrInlineDv` are the Z85-encoded UUID (16
///   bytes, most significant first); any characters before them are a random prefix
///   directory. Path: `<prefix>/deletion_vector_<uuid>.bin`, or without the directory
///   when there is no prefix.
/// - `"p"`: `pathOrInlineDv` as given.
/// - `"i"`: the Z85-decoded bytes, cut to `sizeInBytes`. Encoders pad unaligned data
///   to a multiple of 4 bytes: Delta's (Java) codec with zero bytes, the `z85` crate
///   with a `#`-marked short tail chunk. Both are accepted; the decoded length must be
///   `sizeInBytes` plus at most 3 padding bytes.
///
/// A missing `offset` for a file DV is read as the first DV of the file, right after
/// the version byte (offset 1). The protocol says "interpret as 0", but byte 0 of a
/// DV file is the format version, so no DV can start there; delta-kernel-rs reads it
/// the same way. Delta writers always write the offset.
pub fn locate(descriptor: &DeletionVectorDescriptor) -> Result<DvLocation, IoError> {
    let size = checked_size(descriptor)?;
    if descriptor.cardinality < 0 {
        return Err(invalid(
            descriptor,
            format!("cardinality {} is negative", descriptor.cardinality),
        ));
    }
    match descriptor.storage_type.as_str() {
        "i" => {
            if let Some(offset) = descriptor.offset {
                return Err(invalid(
                    descriptor,
                    format!("inline deletion vectors have no offset, found offset {offset}"),
                ));
            }
            decode_inline_bytes(descriptor, size).map(DvLocation::Inline)
        }
        "u" => Ok(DvLocation::File {
            path: relative_path(descriptor)?,
            offset: checked_offset(descriptor)?,
            size,
        }),
        "p" => {
            if descriptor.path_or_inline_dv.is_empty() {
                return Err(invalid(
                    descriptor,
                    "the absolute path (pathOrInlineDv) is empty",
                ));
            }
            Ok(DvLocation::File {
                path: descriptor.path_or_inline_dv.clone(),
                offset: checked_offset(descriptor)?,
                size,
            })
        }
        _ => Err(IoError::InvalidDvStorageType {
            unique_id: descriptor.unique_id(),
            storage_type: descriptor.storage_type.clone(),
        }),
    }
}

/// Decodes an inline (`"i"`) DV and checks it against `sizeInBytes` and
/// `cardinality`. The empty inline DV (no data, size 0, cardinality 0) gives the
/// empty set.
pub fn decode_inline(descriptor: &DeletionVectorDescriptor) -> Result<RoaringTreemap, IoError> {
    if descriptor.storage_type != "i" {
        return Err(wrong_type(descriptor, "an inline deletion vector"));
    }
    let DvLocation::Inline(bytes) = locate(descriptor)? else {
        return Err(wrong_type(descriptor, "an inline deletion vector"));
    };
    let dv = format!("inline deletion vector {}", descriptor.unique_id());
    if bytes.is_empty() && descriptor.cardinality == 0 {
        return Ok(RoaringTreemap::new());
    }
    let bitmap = parse_bitmap_in(&bytes, &dv)?;
    check_cardinality(descriptor, bitmap, &dv)
}

/// Decodes a file DV (`"u"` or `"p"`) from `region`: the bytes of its file starting
/// at `offset` (the size field), i.e. at least [`DvLocation::file_range`]; bytes
/// after the checksum are ignored. Checks the size field against `sizeInBytes`, the
/// CRC-32, the magic number and `cardinality`.
pub fn decode_file_region(
    descriptor: &DeletionVectorDescriptor,
    region: &[u8],
) -> Result<RoaringTreemap, IoError> {
    let (path, offset, size) = file_location(descriptor)?;
    let dv = file_context(descriptor, &path, offset);
    let bitmap = parse_file_region_in(region, size, &dv)?;
    check_cardinality(descriptor, bitmap, &dv)
}

/// Decodes a file DV (`"u"` or `"p"`) from the whole DV file: checks the leading
/// format version byte, then decodes the DV at `offset` as
/// [`decode_file_region`] does.
pub fn decode_whole_file(
    descriptor: &DeletionVectorDescriptor,
    file: &[u8],
) -> Result<RoaringTreemap, IoError> {
    let (path, offset, size) = file_location(descriptor)?;
    let dv = file_context(descriptor, &path, offset);
    let bitmap = parse_file_in(file, offset, size, &dv)?;
    check_cardinality(descriptor, bitmap, &dv)
}

fn file_location(descriptor: &DeletionVectorDescriptor) -> Result<(String, u64, u64), IoError> {
    if descriptor.storage_type == "i" {
        return Err(wrong_type(descriptor, "a deletion vector file"));
    }
    match locate(descriptor)? {
        DvLocation::File { path, offset, size } => Ok((path, offset, size)),
        DvLocation::Inline(_) => Err(wrong_type(descriptor, "a deletion vector file")),
    }
}

fn file_context(descriptor: &DeletionVectorDescriptor, path: &str, offset: u64) -> String {
    format!(
        "deletion vector {} (file {path}, offset {offset})",
        descriptor.unique_id()
    )
}

fn check_cardinality(
    descriptor: &DeletionVectorDescriptor,
    bitmap: RoaringTreemap,
    dv: &str,
) -> Result<RoaringTreemap, IoError> {
    let actual = bitmap.len();
    if u64::try_from(descriptor.cardinality).ok() != Some(actual) {
        return Err(IoError::DvCardinalityMismatch {
            dv: dv.to_string(),
            expected: descriptor.cardinality,
            actual,
        });
    }
    Ok(bitmap)
}

fn checked_size(descriptor: &DeletionVectorDescriptor) -> Result<u64, IoError> {
    u64::try_from(descriptor.size_in_bytes).map_err(|_| {
        invalid(
            descriptor,
            format!("sizeInBytes {} is negative", descriptor.size_in_bytes),
        )
    })
}

fn checked_offset(descriptor: &DeletionVectorDescriptor) -> Result<u64, IoError> {
    match descriptor.offset {
        None => Ok(1),
        Some(offset) => match u64::try_from(offset) {
            Ok(0) => Err(invalid(
                descriptor,
                "offset 0 points at the DV file's format version byte; the first DV \
                 starts at offset 1",
            )),
            Ok(offset) => Ok(offset),
            Err(_) => Err(invalid(descriptor, format!("offset {offset} is negative"))),
        },
    }
}

fn relative_path(descriptor: &DeletionVectorDescriptor) -> Result<String, IoError> {
    let text = &descriptor.path_or_inline_dv;
    let split = text.len().checked_sub(ENCODED_UUID_LEN);
    let (prefix, encoded) = match split.and_then(|at| Some((text.get(..at)?, text.get(at..)?))) {
        Some(parts) => parts,
        None => {
            return Err(IoError::InvalidZ85 {
                dv: descriptor_context(descriptor),
                what: "the encoded UUID (last 20 characters of pathOrInlineDv)",
                detail: format!(
                    "pathOrInlineDv has {} bytes; it must end in 20 ASCII characters",
                    text.len()
                ),
            });
        }
    };
    let bytes = z85::decode(encoded).map_err(|e| IoError::InvalidZ85 {
        dv: descriptor_context(descriptor),
        what: "the encoded UUID (last 20 characters of pathOrInlineDv)",
        detail: e.to_string(),
    })?;
    let uuid: [u8; 16] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| IoError::InvalidZ85 {
            dv: descriptor_context(descriptor),
            what: "the encoded UUID (last 20 characters of pathOrInlineDv)",
            detail: format!("decodes to {} bytes, a UUID has 16", bytes.len()),
        })?;
    let file_name = format!("deletion_vector_{}.bin", format_uuid(&uuid));
    if prefix.is_empty() {
        return Ok(file_name);
    }
    if prefix
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(invalid(
            descriptor,
            format!(
                "random prefix {prefix:?} is not a relative directory inside the table \
             (empty, \".\" or \"..\" path segment)"
            ),
        ));
    }
    Ok(format!("{prefix}/{file_name}"))
}

fn decode_inline_bytes(
    descriptor: &DeletionVectorDescriptor,
    size: u64,
) -> Result<Vec<u8>, IoError> {
    let mut bytes =
        z85::decode(&descriptor.path_or_inline_dv).map_err(|e| IoError::InvalidZ85 {
            dv: descriptor_context(descriptor),
            what: "the inline data (pathOrInlineDv)",
            detail: e.to_string(),
        })?;
    let decoded = bytes.len() as u64;
    if decoded < size || decoded - size > 3 {
        return Err(IoError::DvSizeMismatch {
            dv: descriptor_context(descriptor),
            what: "Z85-decoded inline data must be sizeInBytes long, plus at most 3 \
                   bytes of padding",
            expected: size,
            found: decoded,
        });
    }
    // `size <= decoded`, which is a `usize`.
    bytes.truncate(usize::try_from(size).unwrap_or(bytes.len()));
    Ok(bytes)
}

fn descriptor_context(descriptor: &DeletionVectorDescriptor) -> String {
    format!("deletion vector {}", descriptor.unique_id())
}

fn invalid(descriptor: &DeletionVectorDescriptor, reason: impl Into<String>) -> IoError {
    IoError::InvalidDvDescriptor {
        dv: descriptor_context(descriptor),
        reason: reason.into(),
    }
}

fn wrong_type(descriptor: &DeletionVectorDescriptor, expected: &'static str) -> IoError {
    IoError::WrongDvStorageType {
        unique_id: descriptor.unique_id(),
        expected,
        found: descriptor.storage_type.clone(),
    }
}

/// Formats 16 bytes (most significant first) as a UUID in canonical lowercase form,
/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
fn format_uuid(bytes: &[u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Parses a serialized DV: the little-endian magic number [`DV_MAGIC_NUMBER`] followed
/// by a 64-bit RoaringBitmap in the portable format. All bytes must be used (pass
/// exactly `sizeInBytes` bytes). Bucket keys must be strictly ascending with their most
/// significant bit 0, as the protocol requires.
pub fn parse_bitmap(bytes: &[u8]) -> Result<RoaringTreemap, IoError> {
    parse_bitmap_in(bytes, "serialized deletion vector")
}

/// Parses one DV of a DV file from `region`: the file's bytes starting at the DV's
/// `offset`, i.e. at its 4-byte big-endian size field; bytes after the checksum are
/// ignored. Checks the size field against `expected_size` (the descriptor's
/// `sizeInBytes`) and the CRC-32 that follows the data, then parses the data with
/// [`parse_bitmap`]. Does not check the file's version byte (see [`parse_file`]).
pub fn parse_file_region(region: &[u8], expected_size: u64) -> Result<RoaringTreemap, IoError> {
    parse_file_region_in(region, expected_size, "deletion vector file region")
}

/// Parses the DV at `offset` (the descriptor's offset, pointing at the size field) of a
/// whole DV file: checks the leading format version byte (must be 1), then does what
/// [`parse_file_region`] does.
pub fn parse_file(file: &[u8], offset: u64, expected_size: u64) -> Result<RoaringTreemap, IoError> {
    parse_file_in(file, offset, expected_size, "deletion vector file")
}

fn parse_file_in(
    file: &[u8],
    offset: u64,
    expected_size: u64,
    dv: &str,
) -> Result<RoaringTreemap, IoError> {
    let Some(&version) = file.first() else {
        return Err(IoError::DvTruncated {
            dv: dv.to_string(),
            what: "the DV file's format version byte".to_string(),
            needed: 1,
            available: 0,
        });
    };
    if version != DV_FILE_FORMAT_VERSION {
        return Err(IoError::UnsupportedDvFileVersion {
            dv: dv.to_string(),
            found: version,
        });
    }
    if offset == 0 {
        return Err(IoError::InvalidDvDescriptor {
            dv: dv.to_string(),
            reason: "offset 0 points at the DV file's format version byte; the first DV \
                     starts at offset 1"
                .to_string(),
        });
    }
    let region = usize::try_from(offset)
        .ok()
        .and_then(|start| file.get(start..))
        .ok_or_else(|| IoError::DvTruncated {
            dv: dv.to_string(),
            what: format!("the DV at offset {offset}"),
            needed: offset
                .saturating_add(DV_FILE_FRAMING_BYTES)
                .saturating_add(expected_size),
            available: file.len() as u64,
        })?;
    parse_file_region_in(region, expected_size, dv)
}

fn parse_file_region_in(
    region: &[u8],
    expected_size: u64,
    dv: &str,
) -> Result<RoaringTreemap, IoError> {
    let available = region.len() as u64;
    let size_field = region
        .first_chunk::<4>()
        .ok_or_else(|| IoError::DvTruncated {
            dv: dv.to_string(),
            what: "the 4-byte size field before the DV data".to_string(),
            needed: 4,
            available,
        })?;
    let data_size = u32::from_be_bytes(*size_field);
    if u64::from(data_size) != expected_size {
        return Err(IoError::DvSizeMismatch {
            dv: dv.to_string(),
            what: "the DV file's size field disagrees with the descriptor's sizeInBytes",
            expected: expected_size,
            found: u64::from(data_size),
        });
    }
    let needed = u64::from(data_size) + DV_FILE_FRAMING_BYTES;
    let truncated = || IoError::DvTruncated {
        dv: dv.to_string(),
        what: "size field, DV data and CRC-32 checksum".to_string(),
        needed,
        available,
    };
    let data_end = usize::try_from(data_size)
        .ok()
        .and_then(|len| len.checked_add(4))
        .ok_or_else(truncated)?;
    let data = region.get(4..data_end).ok_or_else(truncated)?;
    let stored = region
        .get(data_end..)
        .and_then(<[u8]>::first_chunk::<4>)
        .map(|crc| u32::from_be_bytes(*crc))
        .ok_or_else(truncated)?;
    let computed = crc32fast::hash(data);
    if stored != computed {
        return Err(IoError::DvChecksumMismatch {
            dv: dv.to_string(),
            stored,
            computed,
            len: data.len(),
        });
    }
    parse_bitmap_in(data, dv)
}

fn parse_bitmap_in(bytes: &[u8], dv: &str) -> Result<RoaringTreemap, IoError> {
    let total = bytes.len() as u64;
    let truncated = |what: String, needed: u64| IoError::DvTruncated {
        dv: dv.to_string(),
        what,
        needed,
        available: total,
    };
    let (magic, mut rest) = bytes
        .split_first_chunk::<4>()
        .ok_or_else(|| truncated("the magic number".to_string(), 4))?;
    let magic = u32::from_le_bytes(*magic);
    if magic != DV_MAGIC_NUMBER {
        return Err(IoError::BadDvMagic {
            dv: dv.to_string(),
            found: magic,
        });
    }
    let (num_buckets, after) = rest
        .split_first_chunk::<8>()
        .ok_or_else(|| truncated("the bucket count after the magic number".to_string(), 12))?;
    let num_buckets = u64::from_le_bytes(*num_buckets);
    rest = after;

    let invalid = |reason: String| IoError::InvalidDvBitmap {
        dv: dv.to_string(),
        reason,
    };
    let mut buckets: Vec<(u32, RoaringBitmap)> = Vec::new();
    let mut previous_key: Option<u32> = None;
    for index in 0..num_buckets {
        let position = total - rest.len() as u64;
        let (key, after) = rest.split_first_chunk::<4>().ok_or_else(|| {
            truncated(
                format!("the key of bucket {index} of {num_buckets} at byte {position}"),
                position + 4,
            )
        })?;
        let key = u32::from_le_bytes(*key);
        rest = after;
        if key & 0x8000_0000 != 0 {
            return Err(invalid(format!(
                "bucket {index} has key {key} (0x{key:08x}) with the most significant bit \
                 set; Delta requires it to be 0"
            )));
        }
        if let Some(previous) = previous_key
            && key <= previous
        {
            return Err(invalid(format!(
                "bucket {index} has key {key} after key {previous}; keys must be strictly \
                 ascending"
            )));
        }
        previous_key = Some(key);
        let bitmap_start = total - rest.len() as u64;
        let bitmap = RoaringBitmap::deserialize_from(&mut rest).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                truncated(
                    format!(
                        "the 32-bit RoaringBitmap of bucket {index} (key {key}) starting at \
                         byte {bitmap_start}"
                    ),
                    total + 1,
                )
            } else {
                invalid(format!(
                    "the 32-bit RoaringBitmap of bucket {index} (key {key}) starting at byte \
                     {bitmap_start}: {e}"
                ))
            }
        })?;
        buckets.push((key, bitmap));
    }
    if !rest.is_empty() {
        return Err(invalid(format!(
            "{} bytes left over after the last of {num_buckets} buckets (data is {total} \
             bytes)",
            rest.len()
        )));
    }
    Ok(RoaringTreemap::from_bitmaps(buckets))
}

/// Keep-mask for a batch of `num_rows` consecutive rows of a data file, the first being
/// row `first_row_index` of the file (row indexes count from 0 over the whole file):
/// `true` = keep, `false` = the DV `deleted` deletes the row. Never null.
pub fn row_mask(deleted: &RoaringTreemap, num_rows: usize, first_row_index: u64) -> BooleanArray {
    let mut keep = BooleanBufferBuilder::new(num_rows);
    keep.append_n(num_rows, true);
    let end = first_row_index.saturating_add(num_rows as u64);
    let mut iter = deleted.iter();
    iter.advance_to(first_row_index);
    for row in iter.take_while(|&row| row < end) {
        if let Ok(i) = usize::try_from(row - first_row_index) {
            keep.set_bit(i, false);
        }
    }
    BooleanArray::new(keep.finish(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(
        storage_type: &str,
        path: &str,
        offset: Option<i32>,
        size: i32,
        card: i64,
    ) -> DeletionVectorDescriptor {
        DeletionVectorDescriptor {
            storage_type: storage_type.to_string(),
            path_or_inline_dv: path.to_string(),
            offset,
            size_in_bytes: size,
            cardinality: card,
        }
    }

    #[test]
    fn protocol_example_1_relative_path_with_prefix() {
        let d = desc("u", "ab^-aqEH.-t@S}K{vb[*k^", Some(4), 40, 6);
        assert_eq!(d.unique_id(), "uab^-aqEH.-t@S}K{vb[*k^@4");
        assert_eq!(
            locate(&d).unwrap(),
            DvLocation::File {
                path: "ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin".to_string(),
                offset: 4,
                size: 40,
            }
        );
        assert_eq!(locate(&d).unwrap().file_range(), Some(4..52));
    }

    #[test]
    fn protocol_example_2_absolute_path() {
        let path = "s3://mytable/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin";
        let d = desc("p", path, Some(4), 40, 6);
        assert_eq!(d.unique_id(), format!("p{path}@4"));
        assert_eq!(
            locate(&d).unwrap(),
            DvLocation::File {
                path: path.to_string(),
                offset: 4,
                size: 40
            }
        );
    }

    /// The protocol's inline example is not in the format the protocol specifies: it
    /// starts with the magic number 1681511376 of Delta's "native" RoaringBitmapArray
    /// format, written big endian, followed by a big-endian bitmap count and size. Delta's
    /// own readers (which read the magic number little endian) reject it too.
    #[test]
    fn protocol_example_3_inline_is_in_the_native_format() {
        let text = "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L";
        let d = desc("i", text, None, 40, 6);
        assert_eq!(d.unique_id(), format!("i{text}"));
        let DvLocation::Inline(bytes) = locate(&d).unwrap() else {
            panic!("inline expected")
        };
        assert_eq!(bytes.len(), 40);
        let err = decode_inline(&d).unwrap_err();
        assert!(err.to_string().contains("big endian"), "{err}");
        let IoError::BadDvMagic { found, .. } = err else {
            panic!("{err}")
        };
        assert_eq!(found.swap_bytes(), NATIVE_MAGIC_NUMBER);
        // Native layout: magic, bitmap count 1 and bitmap size 28, all big endian, then
        // one standard 32-bit RoaringBitmap holding the example's row indexes.
        assert_eq!(&bytes[4..12], [0, 0, 0, 1, 0, 0, 0, 28]);
        let bitmap = RoaringBitmap::deserialize_from(&bytes[12..]).unwrap();
        assert_eq!(bitmap.iter().collect::<Vec<_>>(), [3, 4, 7, 11, 18, 29]);
    }

    #[test]
    fn uuid_formatting() {
        let bytes: [u8; 16] = core::array::from_fn(|i| (i as u8) * 17);
        assert_eq!(format_uuid(&bytes), "00112233-4455-6677-8899-aabbccddeeff");
    }
}
