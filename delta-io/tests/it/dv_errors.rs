//! Malformed deletion vectors: the right `IoError` variant, never a panic. Built from
//! the corpus's `kernel-table-with-dv-small` and synthetic DVs (see `dv.rs`).

use delta_io::IoError;
use delta_io::dv::{
    DV_MAGIC_NUMBER, DvLocation, decode_file_region, decode_inline, decode_whole_file, locate,
    parse_bitmap, parse_file,
};
use delta_log::DeletionVectorDescriptor;

use crate::dv::{dv_file, logged_dvs, serialize, set, table_dir, wide_bitmap};

fn small_dv() -> (DeletionVectorDescriptor, Vec<u8>) {
    let table = "kernel-table-with-dv-small";
    let dv = logged_dvs(table).remove(0).dv;
    let DvLocation::File { path, .. } = locate(&dv).unwrap() else {
        panic!("expected a file DV")
    };
    let file = std::fs::read(table_dir(table).join(path)).unwrap();
    (dv, file)
}

#[test]
fn wrong_magic_number_is_rejected() {
    let (dv, file) = small_dv();
    // Bytes 5..9: the magic number, right after version byte and size field.
    assert_eq!(&file[5..9], DV_MAGIC_NUMBER.to_le_bytes());
    let data = &file[5..5 + 36];
    let mut bad = data.to_vec();
    bad[..4].copy_from_slice(&1_681_511_376u32.to_le_bytes());
    let err = parse_bitmap(&bad).unwrap_err();
    assert!(
        matches!(
            err,
            IoError::BadDvMagic {
                found: 1_681_511_376,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("native"), "{err}");

    // In a file, with a valid checksum over the bad data.
    let (file, _) = dv_file(&[&bad]);
    let err = decode_whole_file(&dv, &file).unwrap_err();
    assert!(matches!(err, IoError::BadDvMagic { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&dv.unique_id()), "{msg}");
    assert!(
        msg.contains("deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin"),
        "{msg}"
    );
}

#[test]
fn bad_checksum_is_rejected() {
    let (dv, file) = small_dv();
    for at in [5, 20, 40, 41, 44] {
        let mut bad = file.clone();
        bad[at] ^= 0x10;
        let err = decode_whole_file(&dv, &bad).unwrap_err();
        assert!(
            matches!(err, IoError::DvChecksumMismatch { len: 36, .. }),
            "byte {at}: {err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(&dv.unique_id()) && msg.contains("offset 1"),
            "{msg}"
        );
    }
}

#[test]
fn truncated_data_is_rejected() {
    let (dv, file) = small_dv();
    for len in 0..file.len() {
        let err = decode_whole_file(&dv, &file[..len]).unwrap_err();
        assert!(
            matches!(err, IoError::DvTruncated { .. }),
            "length {len}: {err}"
        );
        if len >= 1 {
            let err = decode_file_region(&dv, &file[1..len]).unwrap_err();
            assert!(
                matches!(err, IoError::DvTruncated { .. }),
                "length {len}: {err}"
            );
        }
    }
    // The serialized DV itself, cut anywhere.
    let data = serialize(&wide_bitmap());
    for len in 0..data.len() {
        let err = parse_bitmap(&data[..len]).unwrap_err();
        assert!(
            matches!(err, IoError::DvTruncated { .. }),
            "length {len}: {err}"
        );
    }
    // A region whose checksum is valid but whose bitmap is cut short.
    let short = &data[..data.len() - 3];
    let (file, offsets) = dv_file(&[short]);
    let err = parse_file(&file, offsets[0], short.len() as u64).unwrap_err();
    assert!(matches!(err, IoError::DvTruncated { .. }), "{err}");
}

#[test]
fn size_and_cardinality_must_match_the_descriptor() {
    let (dv, file) = small_dv();
    let wrong_size = DeletionVectorDescriptor {
        size_in_bytes: 34,
        ..dv.clone()
    };
    let err = decode_whole_file(&wrong_size, &file).unwrap_err();
    assert!(
        matches!(
            err,
            IoError::DvSizeMismatch {
                expected: 34,
                found: 36,
                ..
            }
        ),
        "{err}"
    );
    let wrong_count = DeletionVectorDescriptor {
        cardinality: 3,
        ..dv.clone()
    };
    let err = decode_whole_file(&wrong_count, &file).unwrap_err();
    assert!(
        matches!(
            err,
            IoError::DvCardinalityMismatch {
                expected: 3,
                actual: 2,
                ..
            }
        ),
        "{err}"
    );
    // Inline: decoded length must be sizeInBytes plus at most 3 bytes of padding.
    let data = &file[5..5 + 36];
    for size in [35, 32, 40] {
        let inline = DeletionVectorDescriptor {
            storage_type: "i".to_string(),
            path_or_inline_dv: z85::encode(data),
            offset: None,
            size_in_bytes: size,
            cardinality: 2,
        };
        let err = decode_inline(&inline).unwrap_err();
        if size == 35 {
            // Accepted length, but the bitmap then has a byte left over or missing.
            assert!(matches!(err, IoError::DvTruncated { .. }), "{err}");
        } else {
            assert!(
                matches!(err, IoError::DvSizeMismatch { .. }),
                "size {size}: {err}"
            );
        }
    }
}

#[test]
fn unsupported_file_version_is_rejected() {
    let (dv, mut file) = small_dv();
    file[0] = 2;
    let err = decode_whole_file(&dv, &file).unwrap_err();
    assert!(
        matches!(err, IoError::UnsupportedDvFileVersion { found: 2, .. }),
        "{err}"
    );
    let err = parse_file(&file, 1, 36).unwrap_err();
    assert!(
        matches!(err, IoError::UnsupportedDvFileVersion { found: 2, .. }),
        "{err}"
    );
}

#[test]
fn bad_storage_type_is_rejected() {
    for storage_type in ["x", "", "uu", "U", "I"] {
        let dv = DeletionVectorDescriptor {
            storage_type: storage_type.to_string(),
            path_or_inline_dv: "vBn[lx{q8@P<9BNH/isA".to_string(),
            offset: Some(1),
            size_in_bytes: 36,
            cardinality: 2,
        };
        let err = locate(&dv).unwrap_err();
        assert!(
            matches!(err, IoError::InvalidDvStorageType { .. }),
            "{storage_type:?}: {err}"
        );
        assert!(err.to_string().contains(&dv.unique_id()), "{err}");
        assert!(decode_whole_file(&dv, &[1]).is_err());
    }
    let (dv, file) = small_dv();
    let err = decode_inline(&dv).unwrap_err();
    assert!(matches!(err, IoError::WrongDvStorageType { .. }), "{err}");
    let inline = DeletionVectorDescriptor {
        storage_type: "i".to_string(),
        path_or_inline_dv: z85::encode(&file[5..41]),
        offset: None,
        size_in_bytes: 36,
        cardinality: 2,
    };
    let err = decode_whole_file(&inline, &file).unwrap_err();
    assert!(matches!(err, IoError::WrongDvStorageType { .. }), "{err}");
    let err = decode_file_region(&inline, &file[1..]).unwrap_err();
    assert!(matches!(err, IoError::WrongDvStorageType { .. }), "{err}");
}

#[test]
fn bad_z85_is_rejected() {
    let inline = |text: &str| DeletionVectorDescriptor {
        storage_type: "i".to_string(),
        path_or_inline_dv: text.to_string(),
        offset: None,
        size_in_bytes: 4,
        cardinality: 1,
    };
    // Space, quote, tilde and backslash are not in the Z85 alphabet; length 7 is not a
    // multiple of 5; "%%%%%" overflows 32 bits; non-ASCII.
    for text in [
        "0000 ", "0000\"", "~~~~~", "\\0000", "0000000", "%%%%%", "00é00",
    ] {
        let err = locate(&inline(text)).unwrap_err();
        assert!(matches!(err, IoError::InvalidZ85 { .. }), "{text:?}: {err}");
        assert!(decode_inline(&inline(text)).is_err());
    }
    let relative = |text: &str| DeletionVectorDescriptor {
        storage_type: "u".to_string(),
        path_or_inline_dv: text.to_string(),
        offset: Some(1),
        size_in_bytes: 36,
        cardinality: 2,
    };
    for text in [
        "",
        "vBn[lx{q8@P<9BNH/is",    // 19 characters
        "vBn[lx{q8@P<9BNH/is~",   // invalid character
        "ab vBn[lx{q8@P<9BNH/is", // space inside the last 20
        "vBn[lx{q8@P<9BNH/isé",   // non-ASCII inside the last 20
        "éBn[lx{q8@P<9BNH/isA",   // non-ASCII across the prefix split
        "vBn[lx{q8@P<9BN##0AA",   // a `#`-padded tail: decodes to 14 bytes, not 16
    ] {
        let err = locate(&relative(text)).unwrap_err();
        assert!(matches!(err, IoError::InvalidZ85 { .. }), "{text:?}: {err}");
    }
}

#[test]
fn invalid_descriptor_fields_are_rejected() {
    let (dv, _) = small_dv();
    let cases = [
        DeletionVectorDescriptor {
            offset: Some(-1),
            ..dv.clone()
        },
        DeletionVectorDescriptor {
            offset: Some(0),
            ..dv.clone()
        },
        DeletionVectorDescriptor {
            size_in_bytes: -36,
            ..dv.clone()
        },
        DeletionVectorDescriptor {
            cardinality: -2,
            ..dv.clone()
        },
        DeletionVectorDescriptor {
            path_or_inline_dv: format!("../{}", dv.path_or_inline_dv),
            ..dv.clone()
        },
        DeletionVectorDescriptor {
            path_or_inline_dv: format!("/{}", dv.path_or_inline_dv),
            ..dv.clone()
        },
        DeletionVectorDescriptor {
            storage_type: "p".to_string(),
            path_or_inline_dv: String::new(),
            ..dv.clone()
        },
        DeletionVectorDescriptor {
            storage_type: "i".to_string(),
            path_or_inline_dv: "00000".to_string(),
            offset: Some(1),
            size_in_bytes: 4,
            cardinality: 0,
        },
    ];
    for case in cases {
        let err = locate(&case).unwrap_err();
        assert!(
            matches!(err, IoError::InvalidDvDescriptor { .. }),
            "{case:?}: {err}"
        );
    }
    // A random prefix is fine, also nested.
    for prefix in ["ab", "a1/b2"] {
        let with_prefix = DeletionVectorDescriptor {
            path_or_inline_dv: format!("{prefix}{}", dv.path_or_inline_dv),
            ..dv.clone()
        };
        let DvLocation::File { path, .. } = locate(&with_prefix).unwrap() else {
            panic!()
        };
        assert_eq!(
            path,
            format!("{prefix}/deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin")
        );
    }
    // A missing offset means the first DV of the file.
    let no_offset = DeletionVectorDescriptor {
        offset: None,
        ..dv.clone()
    };
    assert_eq!(no_offset.unique_id(), format!("u{}", dv.path_or_inline_dv));
    assert_eq!(locate(&no_offset).unwrap().file_range(), Some(1..45));
    let (_, file) = small_dv();
    assert_eq!(decode_whole_file(&no_offset, &file).unwrap(), set(&[0, 9]));
    assert!(matches!(
        parse_file(&file, 0, 36).unwrap_err(),
        IoError::InvalidDvDescriptor { .. }
    ));
    assert!(matches!(
        parse_file(&file, 100, 36).unwrap_err(),
        IoError::DvTruncated { .. }
    ));
}

#[test]
fn malformed_bitmaps_are_rejected() {
    let magic = DV_MAGIC_NUMBER.to_le_bytes();
    let bucket = |key: u32| {
        let mut out = key.to_le_bytes().to_vec();
        set(&[1])
            .bitmaps()
            .next()
            .unwrap()
            .1
            .serialize_into(&mut out)
            .unwrap();
        out
    };
    let with = |buckets: &[Vec<u8>], trailing: &[u8]| {
        let mut out = magic.to_vec();
        out.extend_from_slice(&(buckets.len() as u64).to_le_bytes());
        for b in buckets {
            out.extend_from_slice(b);
        }
        out.extend_from_slice(trailing);
        out
    };
    assert_eq!(
        parse_bitmap(&with(&[bucket(0), bucket(3)], &[]))
            .unwrap()
            .len(),
        2
    );
    for (name, data) in [
        ("key with MSB set", with(&[bucket(0x8000_0000)], &[])),
        ("keys not ascending", with(&[bucket(3), bucket(1)], &[])),
        ("duplicate key", with(&[bucket(3), bucket(3)], &[])),
        ("trailing bytes", with(&[bucket(0)], &[0])),
        (
            "bad roaring cookie",
            with(&[vec![0, 0, 0, 0, 1, 2, 3, 4]], &[]),
        ),
    ] {
        let err = parse_bitmap(&data).unwrap_err();
        assert!(
            matches!(err, IoError::InvalidDvBitmap { .. }),
            "{name}: {err}"
        );
    }
    // A huge bucket count with no buckets is truncated, not a huge allocation.
    let mut data = magic.to_vec();
    data.extend_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        parse_bitmap(&data).unwrap_err(),
        IoError::DvTruncated { .. }
    ));
}

#[test]
fn corrupted_files_never_panic() {
    let (dv, file) = small_dv();
    let big = {
        let data = serialize(&wide_bitmap());
        dv_file(&[&data]).0
    };
    let big_dv = DeletionVectorDescriptor {
        size_in_bytes: (big.len() - 9) as i32,
        cardinality: wide_bitmap().len() as i64,
        ..dv.clone()
    };
    // Deterministic pseudo-random byte flips; also skip the CRC check by parsing the
    // bitmap data directly.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (dv, file) in [(&dv, &file), (&big_dv, &big)] {
        for _ in 0..2_000 {
            let mut bad = file.clone();
            for _ in 0..(next() % 4 + 1) {
                let at = (next() % bad.len() as u64) as usize;
                bad[at] = next() as u8;
            }
            let _ = decode_whole_file(dv, &bad);
            let _ = parse_bitmap(&bad[5..bad.len() - 4]);
        }
    }
}
