//! Writing deletion vectors, in the formats [`crate::dv`] reads (see its
//! module docs, byte by byte).
//!
//! Pure and sync: [`serialize_bitmap`] gives a DV's bytes, [`DvFile`] lays
//! several DVs out in one DV file and names their descriptors; the caller
//! puts the file in the store. Tiny DVs can be kept in the log instead
//! ([`inline_descriptor`]).

use delta_log::DeletionVectorDescriptor;
use roaring::RoaringTreemap;

use crate::dv::{DV_FILE_FORMAT_VERSION, DV_MAGIC_NUMBER};

/// DVs whose serialized form is at most this long are kept inline in the
/// log ([`inline_descriptor`]) rather than in a file.
pub const MAX_INLINE_BYTES: usize = 64;

/// A DV's bytes: the little-endian magic number, then the 64-bit
/// RoaringBitmap in the portable format (bucket count, then each bucket's
/// key and 32-bit bitmap, keys ascending).
pub fn serialize_bitmap(rows: &RoaringTreemap) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + rows.serialized_size());
    out.extend_from_slice(&DV_MAGIC_NUMBER.to_le_bytes());
    let buckets: Vec<(u32, &roaring::RoaringBitmap)> = rows.bitmaps().collect();
    out.extend_from_slice(&(buckets.len() as u64).to_le_bytes());
    for (key, bitmap) in buckets {
        out.extend_from_slice(&key.to_le_bytes());
        // writing into a Vec cannot fail
        let _ = bitmap.serialize_into(&mut out);
    }
    out
}

/// A descriptor keeping `rows` in the log itself (`storageType = "i"`,
/// Z85 of the serialized DV, zero-padded to a multiple of 4 bytes as
/// Delta's codec does).
pub fn inline_descriptor(rows: &RoaringTreemap) -> DeletionVectorDescriptor {
    let mut bytes = serialize_bitmap(rows);
    let size = bytes.len();
    bytes.resize(size.div_ceil(4) * 4, 0);
    DeletionVectorDescriptor {
        storage_type: "i".to_string(),
        path_or_inline_dv: z85::encode(&bytes),
        offset: None,
        size_in_bytes: i32::try_from(size).unwrap_or(i32::MAX),
        cardinality: i64::try_from(rows.len()).unwrap_or(i64::MAX),
    }
}

/// One DV file being laid out: the version byte, then each DV's size,
/// bytes and CRC-32.
#[derive(Debug)]
pub struct DvFile {
    uuid: [u8; 16],
    bytes: Vec<u8>,
}

impl DvFile {
    /// An empty DV file that will live at `deletion_vector_<uuid>.bin` in
    /// the table root.
    pub fn new(uuid: [u8; 16]) -> DvFile {
        DvFile {
            uuid,
            bytes: vec![DV_FILE_FORMAT_VERSION],
        }
    }

    /// Adds a DV; its descriptor (`storageType = "u"`, no random prefix).
    pub fn add(&mut self, rows: &RoaringTreemap) -> DeletionVectorDescriptor {
        let data = serialize_bitmap(rows);
        let offset = self.bytes.len();
        let size = u32::try_from(data.len()).unwrap_or(u32::MAX);
        self.bytes.extend_from_slice(&size.to_be_bytes());
        self.bytes.extend_from_slice(&data);
        self.bytes
            .extend_from_slice(&crc32fast::hash(&data).to_be_bytes());
        DeletionVectorDescriptor {
            storage_type: "u".to_string(),
            path_or_inline_dv: z85::encode(self.uuid),
            offset: Some(i32::try_from(offset).unwrap_or(i32::MAX)),
            size_in_bytes: i32::try_from(data.len()).unwrap_or(i32::MAX),
            cardinality: i64::try_from(rows.len()).unwrap_or(i64::MAX),
        }
    }

    /// Whether no DV was added.
    pub fn is_empty(&self) -> bool {
        self.bytes.len() == 1
    }

    /// The file's path relative to the table root.
    pub fn path(&self) -> String {
        let uuid = uuid_text(&self.uuid);
        format!("deletion_vector_{uuid}.bin")
    }

    /// The file's bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// A UUID in canonical lowercase form.
fn uuid_text(bytes: &[u8; 16]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dv::{DvLocation, decode_inline, decode_whole_file, locate, parse_bitmap};

    fn rows(values: &[u64]) -> RoaringTreemap {
        values.iter().copied().collect()
    }

    #[test]
    fn bitmaps_round_trip() {
        for set in [
            rows(&[]),
            rows(&[0]),
            rows(&[1, 2, 3, 1000, 65_536, 4_000_000]),
            rows(&[5, (1 << 32) + 7, (3 << 32) + 1]),
            (0..100_000u64).step_by(3).collect(),
        ] {
            assert_eq!(parse_bitmap(&serialize_bitmap(&set)).unwrap(), set);
        }
    }

    #[test]
    fn a_file_of_several_dvs_reads_back_through_its_descriptors() {
        let uuid = *b"0123456789abcdef";
        let mut file = DvFile::new(uuid);
        assert!(file.is_empty());
        let sets = [rows(&[1, 5, 9]), rows(&[0]), (10..5000u64).collect()];
        let descriptors: Vec<_> = sets.iter().map(|s| file.add(s)).collect();
        let path = file.path();
        let bytes = file.into_bytes();
        for (set, descriptor) in sets.iter().zip(&descriptors) {
            let DvLocation::File { path: at, .. } = locate(descriptor).unwrap() else {
                panic!("not a file DV")
            };
            assert_eq!(at, path);
            assert_eq!(decode_whole_file(descriptor, &bytes).unwrap(), *set);
            assert_eq!(descriptor.cardinality, set.len() as i64);
        }
        assert_eq!(descriptors[0].offset, Some(1));
    }

    #[test]
    fn inline_dvs_read_back() {
        for set in [rows(&[]), rows(&[3]), rows(&[1, 2, 40, 41])] {
            let descriptor = inline_descriptor(&set);
            assert_eq!(decode_inline(&descriptor).unwrap(), set);
        }
    }
}
