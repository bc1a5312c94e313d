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
//! This file holds the formats (constants, parsing serialized DVs and DV files, row
//! masks); locating and decoding by descriptor is in the `descriptor` submodule, whose
//! functions are re-exported here.
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

mod descriptor;

use std::io;

use arrow::array::{BooleanArray, BooleanBufferBuilder};
use roaring::{RoaringBitmap, RoaringTreemap};

use crate::IoError;

pub use descriptor::{DvLocation, decode_file_region, decode_inline, decode_whole_file, locate};

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
