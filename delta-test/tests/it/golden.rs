//! Simple tables of testdata/ (one version, no partitions, deletion vectors or
//! column mapping): the hash of their data files must be the `hash` of their
//! `expected.json`, which the Python reference computed from what delta-rs read.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use delta_test::{canonical_hash, canonical_rows};

fn testdata() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata")).to_path_buf()
}

/// The data files of version 0, after checking that the log is that one simple commit
/// and that its add actions name exactly the Parquet files in the folder.
fn data_files(table: &Path) -> Vec<PathBuf> {
    let log = table.join("_delta_log");
    let commits: Vec<String> = std::fs::read_dir(&log)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(
        commits,
        ["00000000000000000000.json"],
        "{}",
        table.display()
    );
    let text = std::fs::read_to_string(log.join(&commits[0])).unwrap();
    let mut added = BTreeSet::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let action: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(action.get("remove").is_none(), "{line}");
        if let Some(meta) = action.get("metaData") {
            assert_eq!(meta["partitionColumns"], serde_json::json!([]), "{line}");
            let config = meta["configuration"].as_object();
            assert!(
                config.is_none_or(|c| !c.contains_key("delta.columnMapping.mode")),
                "{line}"
            );
        }
        if let Some(add) = action.get("add") {
            assert!(
                add.get("deletionVector").is_none_or(|dv| dv.is_null()),
                "{line}"
            );
            added.insert(add["path"].as_str().unwrap().to_string());
        }
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(table)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".parquet"))
        .collect();
    assert_eq!(added, on_disk, "{}", table.display());
    added.into_iter().map(|p| table.join(p)).collect()
}

fn check(name: &str) {
    let table = testdata().join(name);
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(testdata().join(format!("{name}.expected.json"))).unwrap(),
    )
    .unwrap();
    let version = &expected["versions"][0];
    assert_eq!(version["version"], 0, "{name}");
    let batches: Vec<_> = data_files(&table)
        .iter()
        .flat_map(|p| crate::read_parquet(p))
        .collect();
    if let Some(rows) = version["rows"].as_array() {
        assert_eq!(&canonical_rows(&batches).unwrap(), rows, "{name}: rows");
    }
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(Some(rows as u64), version["num_rows"].as_u64(), "{name}");
    assert_eq!(
        canonical_hash(&batches).unwrap(),
        version["hash"].as_str().unwrap(),
        "{name}: hash"
    );
}

#[test]
fn data_reader_primitives() {
    check("golden-data-reader-primitives");
}

#[test]
fn decimal_various_scale_precision() {
    check("golden-decimal-various-scale-precision");
}

#[test]
fn data_reader_map() {
    check("golden-data-reader-map");
}

#[test]
fn data_reader_array_complex_objects() {
    check("golden-data-reader-array-complex-objects");
}
