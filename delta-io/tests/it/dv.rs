//! Deletion vectors: the real DVs of the conformance corpus, cross-checked against the
//! data files and the expected rows, and synthetic ones (formats, row masks). Malformed
//! input is in `dv_errors.rs`, which uses the helpers here.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::{cast, filter_record_batch};
use arrow::datatypes::{DataType, Int64Type};
use delta_io::dv::{
    DV_MAGIC_NUMBER, DvLocation, decode_file_region, decode_inline, decode_whole_file, locate,
    parse_bitmap, parse_file, parse_file_region, row_mask,
};
use delta_log::DeletionVectorDescriptor;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use roaring::RoaringTreemap;
use serde_json::Value;

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata");

/// Tables of the corpus that have deletion vectors.
const DV_TABLES: [&str; 6] = [
    "kernel-table-with-dv-small",
    "kernel-cdf-table-with-dv",
    "golden-dv-partitioned-with-checkpoint",
    "deltars-table_with_deletion_logs",
    "golden-dv-with-columnmapping",
    "kernel-cdf-table-with-cdc-and-dvs",
];

pub(crate) fn table_dir(table: &str) -> PathBuf {
    let dir = Path::new(TESTDATA).join(table);
    assert!(dir.is_dir(), "test table missing: {}", dir.display());
    dir
}

/// A `deletionVector` found in a commit file.
pub(crate) struct LoggedDv {
    version: u64,
    action: String,
    data_path: String,
    num_records: Option<u64>,
    pub(crate) dv: DeletionVectorDescriptor,
}

fn descriptor_from_json(v: &Value) -> DeletionVectorDescriptor {
    DeletionVectorDescriptor {
        storage_type: v["storageType"].as_str().unwrap().to_string(),
        path_or_inline_dv: v["pathOrInlineDv"].as_str().unwrap().to_string(),
        offset: v
            .get("offset")
            .and_then(Value::as_i64)
            .map(|o| i32::try_from(o).unwrap()),
        size_in_bytes: i32::try_from(v["sizeInBytes"].as_i64().unwrap()).unwrap(),
        cardinality: v["cardinality"].as_i64().unwrap(),
    }
}

/// Every `deletionVector` of the `add` and `remove` actions in the JSON commits.
pub(crate) fn logged_dvs(table: &str) -> Vec<LoggedDv> {
    let log = table_dir(table).join("_delta_log");
    let mut commits: Vec<PathBuf> = std::fs::read_dir(&log)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.len() == 25 && name.ends_with(".json")
        })
        .collect();
    commits.sort();
    let mut out = Vec::new();
    for commit in commits {
        let name = commit.file_name().unwrap().to_str().unwrap();
        let version: u64 = name[..20].parse().unwrap();
        for line in std::fs::read_to_string(&commit).unwrap().lines() {
            let action: Value = serde_json::from_str(line).unwrap();
            for kind in ["add", "remove"] {
                let Some(file) = action.get(kind) else {
                    continue;
                };
                let Some(dv) = file.get("deletionVector").filter(|v| !v.is_null()) else {
                    continue;
                };
                let num_records = file
                    .get("stats")
                    .and_then(Value::as_str)
                    .and_then(|s| serde_json::from_str::<Value>(s).ok())
                    .and_then(|s| s["numRecords"].as_u64());
                out.push(LoggedDv {
                    version,
                    action: kind.to_string(),
                    data_path: file["path"].as_str().unwrap().to_string(),
                    num_records,
                    dv: descriptor_from_json(dv),
                });
            }
        }
    }
    out
}

/// Reads a DV the way a reader would. File DVs are decoded twice: from the fetched
/// byte range and from the whole file; both must agree.
fn read_dv(table: &str, dv: &DeletionVectorDescriptor) -> RoaringTreemap {
    match locate(dv).unwrap() {
        DvLocation::Inline(bytes) => {
            assert_eq!(bytes.len(), dv.size_in_bytes as usize);
            let bitmap = decode_inline(dv).unwrap();
            assert_eq!(bitmap, parse_bitmap(&bytes).unwrap());
            bitmap
        }
        location @ DvLocation::File { .. } => {
            let DvLocation::File { path, offset, size } = &location else {
                unreachable!()
            };
            assert_eq!(
                dv.storage_type, "u",
                "the corpus has only relative DV paths"
            );
            let file = std::fs::read(table_dir(table).join(path))
                .unwrap_or_else(|e| panic!("{table}: DV file {path}: {e}"));
            let range = location.file_range().unwrap();
            let region = &file[range.start as usize..range.end as usize];
            let from_region = decode_file_region(dv, region).unwrap();
            let from_file = decode_whole_file(dv, &file).unwrap();
            assert_eq!(from_region, from_file);
            assert_eq!(from_file, parse_file(&file, *offset, *size).unwrap());
            assert_eq!(
                from_file,
                parse_file_region(&file[*offset as usize..], *size).unwrap()
            );
            from_file
        }
    }
}

/// One integer column of a data file, in file order.
fn int_column(table: &str, data_path: &str, column: &str) -> Vec<i64> {
    batches(table, data_path, 1024)
        .iter()
        .flat_map(|b| int_values(b, column))
        .collect()
}

fn batches(table: &str, data_path: &str, batch_size: usize) -> Vec<RecordBatch> {
    let file = File::open(table_dir(table).join(data_path)).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .with_batch_size(batch_size)
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn int_values(batch: &RecordBatch, column: &str) -> Vec<i64> {
    let col = cast(batch.column_by_name(column).unwrap(), &DataType::Int64).unwrap();
    let col = col.as_primitive::<Int64Type>();
    assert_eq!(col.null_count(), 0);
    col.values().to_vec()
}

/// The values of `column` in the expected rows of `version`, sorted.
fn expected_values(table: &str, version: u64, column: &str) -> Vec<i64> {
    let path = Path::new(TESTDATA).join(format!("{table}.expected.json"));
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let v = expected["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["version"].as_u64() == Some(version))
        .unwrap();
    let mut values: Vec<i64> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[column].as_i64().unwrap())
        .collect();
    values.sort_unstable();
    values
}

/// Values of `column` left after applying `deleted`, batch by batch as a reader would,
/// with small batches so that masks start at row indexes other than 0.
fn kept_values(table: &str, data_path: &str, column: &str, deleted: &RoaringTreemap) -> Vec<i64> {
    let mut first_row = 0u64;
    let mut kept = Vec::new();
    for batch in batches(table, data_path, 3) {
        let mask = row_mask(deleted, batch.num_rows(), first_row);
        assert_eq!(mask.len(), batch.num_rows());
        assert_eq!(mask.null_count(), 0);
        first_row += batch.num_rows() as u64;
        kept.extend(int_values(
            &filter_record_batch(&batch, &mask).unwrap(),
            column,
        ));
    }
    kept.sort_unstable();
    kept
}

pub(crate) fn set(values: &[u64]) -> RoaringTreemap {
    values.iter().copied().collect()
}

#[test]
fn every_dv_in_the_corpus_decodes_to_its_cardinality() {
    let mut inline = 0;
    let mut later_in_file = 0;
    let mut unaligned = 0;
    for table in DV_TABLES {
        let dvs = logged_dvs(table);
        assert!(!dvs.is_empty(), "{table}: no deletion vectors in the log");
        for logged in &dvs {
            let dv = &logged.dv;
            let bitmap = read_dv(table, dv);
            assert_eq!(
                bitmap.len(),
                dv.cardinality as u64,
                "{table} v{} {} {}: {}",
                logged.version,
                logged.action,
                logged.data_path,
                dv.unique_id()
            );
            assert!(dv.cardinality > 0);
            if let Some(num_records) = logged.num_records {
                assert!(
                    bitmap.max().unwrap() < num_records,
                    "{table}: row index past the file"
                );
            }
            assert!(table_dir(table).join(&logged.data_path).is_file());
            if dv.storage_type == "i" {
                inline += 1;
            }
            if dv.offset.is_some_and(|o| o > 1) {
                later_in_file += 1;
            }
            if dv.size_in_bytes % 4 != 0 {
                unaligned += 1;
            }
        }
    }
    // kernel-cdf-table-with-dv: 3 inline DVs, each in an add and a later remove.
    assert_eq!(inline, 6);
    // kernel-cdf-table-with-cdc-and-dvs stores a second DV at offset 43 of one file.
    assert!(later_in_file > 0);
    assert!(unaligned > 0);
}

#[test]
fn relative_dv_paths_name_the_files_in_the_table() {
    for table in DV_TABLES {
        let on_disk: BTreeSet<String> = std::fs::read_dir(table_dir(table))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with("deletion_vector_"))
            .collect();
        let referenced: BTreeSet<String> = logged_dvs(table)
            .iter()
            .filter_map(|l| match locate(&l.dv).unwrap() {
                DvLocation::File { path, .. } => Some(path),
                DvLocation::Inline(_) => None,
            })
            .collect();
        // Some tables also hold DV files that no commit references (left by rewrites).
        assert!(!referenced.is_empty(), "{table}");
        assert!(
            referenced.is_subset(&on_disk),
            "{table}: {:?}",
            referenced.difference(&on_disk).collect::<Vec<_>>()
        );
    }
    let dv = DeletionVectorDescriptor {
        storage_type: "u".to_string(),
        path_or_inline_dv: "vBn[lx{q8@P<9BNH/isA".to_string(),
        offset: Some(1),
        size_in_bytes: 36,
        cardinality: 2,
    };
    assert_eq!(dv.unique_id(), "uvBn[lx{q8@P<9BNH/isA@1");
    assert_eq!(
        locate(&dv).unwrap(),
        DvLocation::File {
            path: "deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin".to_string(),
            offset: 1,
            size: 36,
        }
    );
}

#[test]
fn small_table_deletes_exactly_the_rows_with_value_0_and_9() {
    let table = "kernel-table-with-dv-small";
    let dvs = logged_dvs(table);
    assert_eq!(dvs.len(), 1);
    let logged = &dvs[0];
    assert_eq!((logged.version, logged.action.as_str()), (1, "add"));
    let values = int_column(table, &logged.data_path, "value");
    assert_eq!(
        values,
        (0..10).collect::<Vec<i64>>(),
        "file order of the data"
    );

    let deleted = read_dv(table, &logged.dv);
    assert_eq!(deleted, set(&[0, 9]));
    // The commit's predicate was `value IN (0, 9)`.
    let deleted_values: Vec<i64> = deleted.iter().map(|row| values[row as usize]).collect();
    assert_eq!(deleted_values, [0, 9]);

    let mask = row_mask(&deleted, values.len(), 0);
    let mask: Vec<bool> = mask.iter().map(Option::unwrap).collect();
    assert_eq!(
        mask,
        [false, true, true, true, true, true, true, true, true, false]
    );
    assert_eq!(
        kept_values(table, &logged.data_path, "value", &deleted),
        expected_values(table, 1, "value")
    );
}

#[test]
fn cdf_table_file_and_inline_dvs_match_the_expected_rows() {
    let table = "kernel-cdf-table-with-dv";
    let adds: Vec<LoggedDv> = logged_dvs(table)
        .into_iter()
        .filter(|l| l.action == "add")
        .collect();
    let found: Vec<(u64, &str, Vec<u64>)> = adds
        .iter()
        .map(|l| {
            let bitmap = read_dv(table, &l.dv);
            (
                l.version,
                l.dv.storage_type.as_str(),
                bitmap.iter().collect(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (1, "u", vec![0, 9]),
            (3, "i", vec![0, 1, 4, 5]),
            (4, "i", vec![0, 5]),
            // sizeInBytes 34, Z85 with a `#`-padded tail chunk.
            (5, "i", vec![3]),
        ]
    );
    for l in &adds {
        let values = int_column(table, &l.data_path, "value");
        assert_eq!(values, (0..10).collect::<Vec<i64>>());
        let deleted = read_dv(table, &l.dv);
        assert_eq!(
            kept_values(table, &l.data_path, "value", &deleted),
            expected_values(table, l.version, "value"),
            "version {}",
            l.version
        );
    }
}

#[test]
fn deltars_table_dvs_match_the_expected_rows() {
    let table = "deltars-table_with_deletion_logs";
    let adds: Vec<LoggedDv> = logged_dvs(table)
        .into_iter()
        .filter(|l| l.action == "add")
        .collect();
    assert_eq!(adds.len(), 2);
    for l in &adds {
        let deleted = read_dv(table, &l.dv);
        let all = int_column(table, &l.data_path, "id");
        assert_eq!(all.len() as u64, l.num_records.unwrap());
        assert_eq!(
            kept_values(table, &l.data_path, "id", &deleted),
            expected_values(table, l.version, "id"),
            "version {}",
            l.version
        );
    }
}

// ---- synthetic DVs: formats and row masks ----

pub(crate) fn serialize(bitmap: &RoaringTreemap) -> Vec<u8> {
    let mut out = DV_MAGIC_NUMBER.to_le_bytes().to_vec();
    bitmap.serialize_into(&mut out).unwrap();
    out
}

/// A DV file holding the given serialized DVs; returns it and each DV's offset.
pub(crate) fn dv_file(dvs: &[&[u8]]) -> (Vec<u8>, Vec<u64>) {
    let mut file = vec![1u8];
    let mut offsets = Vec::new();
    for data in dvs {
        offsets.push(file.len() as u64);
        file.extend_from_slice(&(data.len() as u32).to_be_bytes());
        file.extend_from_slice(data);
        file.extend_from_slice(&crc32fast::hash(data).to_be_bytes());
    }
    (file, offsets)
}

pub(crate) fn wide_bitmap() -> RoaringTreemap {
    let mut b = set(&[0, 1, 65_535, 65_536, (1 << 32) + 5, 1 << 33]);
    b.insert_range((5u64 << 32) + 70_000..(5u64 << 32) + 70_100);
    b.insert_range(1_000_000..1_010_000); // run/bitmap containers
    b
}

#[test]
fn multi_bucket_bitmaps_round_trip_through_files_and_inline() {
    let first = wide_bitmap();
    let second = set(&[7]);
    let (a, b) = (serialize(&first), serialize(&second));
    assert_eq!(parse_bitmap(&a).unwrap(), first);

    let (file, offsets) = dv_file(&[&a, &b]);
    assert_eq!(offsets[0], 1);
    for (bitmap, data, offset) in [(&first, &a, offsets[0]), (&second, &b, offsets[1])] {
        let dv = DeletionVectorDescriptor {
            storage_type: "p".to_string(),
            path_or_inline_dv: "s3://bucket/table/dvs.bin".to_string(),
            offset: Some(offset as i32),
            size_in_bytes: data.len() as i32,
            cardinality: bitmap.len() as i64,
        };
        assert_eq!(&decode_whole_file(&dv, &file).unwrap(), bitmap);
        let range = locate(&dv).unwrap().file_range().unwrap();
        assert_eq!(range.end - range.start, data.len() as u64 + 8);
        let region = &file[range.start as usize..range.end as usize];
        assert_eq!(&decode_file_region(&dv, region).unwrap(), bitmap);
    }

    // Inline, for every alignment, with both paddings: the z85 crate's `#` tail and
    // Delta's (Java) zero bytes.
    // Array containers give sizes 34, 36 and 38; run containers odd sizes (31, 53).
    let mut runs = RoaringTreemap::new();
    runs.insert_range(10..20);
    let mut two_buckets = runs.clone();
    two_buckets.insert(1 << 40);
    let mut alignments = BTreeSet::new();
    for bitmap in [set(&[0]), set(&[0, 3]), set(&[0, 3, 6]), runs, two_buckets] {
        let data = serialize(&bitmap);
        alignments.insert(data.len() % 4);
        let expected = parse_bitmap(&data).unwrap();
        assert_eq!(expected, bitmap);
        let mut zero_padded = data.clone();
        zero_padded.resize(data.len().div_ceil(4) * 4, 0);
        for encoded in [z85::encode(&data), z85::encode(&zero_padded)] {
            let dv = DeletionVectorDescriptor {
                storage_type: "i".to_string(),
                path_or_inline_dv: encoded,
                offset: None,
                size_in_bytes: data.len() as i32,
                cardinality: expected.len() as i64,
            };
            assert_eq!(locate(&dv).unwrap(), DvLocation::Inline(data.clone()));
            assert_eq!(decode_inline(&dv).unwrap(), expected);
        }
    }
    assert_eq!(alignments, BTreeSet::from([0, 1, 2, 3]));
}

#[test]
fn empty_inline_dv_is_the_empty_set() {
    let dv = DeletionVectorDescriptor {
        storage_type: "i".to_string(),
        path_or_inline_dv: String::new(),
        offset: None,
        size_in_bytes: 0,
        cardinality: 0,
    };
    assert_eq!(dv.unique_id(), "i");
    assert!(decode_inline(&dv).unwrap().is_empty());
}

#[test]
fn row_masks_cover_batches_anywhere_in_the_file() {
    let deleted = wide_bitmap();
    let total = 1_100_000usize;
    // Whole range in uneven batches; the masks together must delete exactly the rows.
    let mut first = 0u64;
    let mut removed = Vec::new();
    for size in [1usize, 7, 65_530, 3, 100_000, 934_459].iter().cycle() {
        if first as usize >= total {
            break;
        }
        let n = (*size).min(total - first as usize);
        let mask = row_mask(&deleted, n, first);
        assert_eq!(mask.len(), n);
        for (i, keep) in mask.iter().enumerate() {
            if !keep.unwrap() {
                removed.push(first + i as u64);
            }
        }
        first += n as u64;
    }
    let expected: Vec<u64> = deleted.iter().take_while(|&r| r < total as u64).collect();
    assert_eq!(removed, expected);

    // Batches above 2^32.
    let mask = row_mask(&deleted, 10, (1 << 32) + 1);
    let kept: Vec<bool> = mask.iter().map(Option::unwrap).collect();
    let mut want = vec![true; 10];
    want[4] = false;
    assert_eq!(kept, want);
    let mask = row_mask(&deleted, 200, (5u64 << 32) + 69_950);
    assert_eq!(mask.false_count(), 100);
    // Edges: nothing to mask, empty batch, batch at the end of the u64 range.
    assert_eq!(row_mask(&RoaringTreemap::new(), 5, 0).true_count(), 5);
    assert_eq!(row_mask(&deleted, 0, 0).len(), 0);
    assert_eq!(
        row_mask(&set(&[u64::MAX - 1]), 4, u64::MAX - 2).false_count(),
        1
    );
}
