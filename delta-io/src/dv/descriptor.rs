//! Locating and decoding a deletion vector by its descriptor, delta-log's
//! [`DeletionVectorDescriptor`]: where its bytes are ([`locate`]) and the row indexes
//! they hold ([`decode_inline`], [`decode_file_region`], [`decode_whole_file`]), each
//! checked against the descriptor's `sizeInBytes` and `cardinality`.

use std::ops::Range;

use delta_log::DeletionVectorDescriptor;
use roaring::RoaringTreemap;

use super::{
    DV_FILE_FRAMING_BYTES, ENCODED_UUID_LEN, parse_bitmap_in, parse_file_in, parse_file_region_in,
};
use crate::IoError;

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

#[cfg(test)]
mod tests {
    use roaring::RoaringBitmap;

    use super::*;
    use crate::dv::NATIVE_MAGIC_NUMBER;

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
