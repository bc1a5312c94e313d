//! The fixtures written by `scripts/gen_canonical_fixtures.py`: each file must give the
//! lines and hash that the Python twin (xtask/peer/canonical.py) computes.

use std::path::{Path, PathBuf};

use delta_test::{canonical_hash, canonical_lines};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/canonical")
}

fn check(name: &str) {
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir().join("expected.json")).unwrap()).unwrap();
    let want = &expected[name];
    assert!(want.is_object(), "{name} missing from expected.json");
    let path = dir().join(name);
    let batches = if name.ends_with(".arrow") {
        crate::read_ipc(&path)
    } else {
        crate::read_parquet(&path)
    };
    let lines = canonical_lines(&batches).unwrap();
    let want_lines: Vec<&str> = want["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    for (n, (got, want)) in lines.iter().zip(&want_lines).enumerate() {
        assert_eq!(got, want, "{name}: line {n} differs");
    }
    assert_eq!(lines.len(), want_lines.len(), "{name}: number of rows");
    assert_eq!(
        Some(lines.len() as u64),
        want["num_rows"].as_u64(),
        "{name}"
    );
    assert_eq!(
        canonical_hash(&batches).unwrap(),
        want["hash"].as_str().unwrap(),
        "{name}: hash"
    );
}

#[test]
fn primitives() {
    check("primitives.parquet");
}

#[test]
fn decimals() {
    check("decimals.parquet");
}

#[test]
fn temporal() {
    check("temporal.parquet");
}

#[test]
fn nested() {
    check("nested.parquet");
}

#[test]
fn dictionaries() {
    check("dictionaries.parquet");
}

#[test]
fn empty() {
    check("empty.parquet");
}

#[test]
fn ipc_extra() {
    check("ipc_extra.arrow");
}

#[test]
fn every_fixture_is_checked() {
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir().join("expected.json")).unwrap()).unwrap();
    let mut names: Vec<&str> = expected
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "decimals.parquet",
            "dictionaries.parquet",
            "empty.parquet",
            "ipc_extra.arrow",
            "nested.parquet",
            "primitives.parquet",
            "temporal.parquet",
        ]
    );
}
