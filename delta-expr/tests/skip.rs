//! Data skipping never drops a file that holds a matching row: random files
//! (nulls, NaN, -0.0, extreme values) and random predicates, checked against
//! filtering every row; and files that cannot match are skipped.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray, StructArray,
};
use arrow::datatypes::{DataType as ArrowType, Field, Fields, Float64Type, Int64Type};
use delta_expr::{SkippingPredicate, bind_predicate, parse};
use delta_schema::{DataType, StructField, StructType};
use proptest::prelude::*;

fn schema() -> StructType {
    StructType::new([
        StructField::new("id", DataType::LONG, true),
        StructField::new("v", DataType::DOUBLE, true),
        StructField::new("name", DataType::STRING, true),
    ])
}

type Row = (Option<i64>, Option<f64>, Option<String>);

fn file(rows: &[Row]) -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        (
            "v",
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )) as _,
        ),
        (
            "name",
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.2.clone()).collect::<Vec<_>>(),
            )) as _,
        ),
    ])
    .unwrap()
}

/// Statistics as a Delta writer keeps them: bounds over non-null values
/// (NaN left out of float bounds; a file of nulls has none), null counts.
fn stats(files: &[RecordBatch]) -> RecordBatch {
    let mut min_id = Vec::new();
    let mut max_id = Vec::new();
    let mut min_v = Vec::new();
    let mut max_v = Vec::new();
    let mut min_name = Vec::new();
    let mut max_name = Vec::new();
    let mut nulls: [Vec<Option<i64>>; 3] = Default::default();
    let mut records = Vec::new();
    for f in files {
        records.push(Some(f.num_rows() as i64));
        let ids: Vec<i64> = f
            .column(0)
            .as_primitive::<Int64Type>()
            .iter()
            .flatten()
            .collect();
        min_id.push(ids.iter().min().copied());
        max_id.push(ids.iter().max().copied());
        let vs: Vec<f64> = f
            .column(1)
            .as_primitive::<Float64Type>()
            .iter()
            .flatten()
            .filter(|v| !v.is_nan())
            .collect();
        min_v.push(vs.iter().copied().reduce(f64::min));
        max_v.push(vs.iter().copied().reduce(f64::max));
        let names: Vec<&str> = f.column(2).as_string::<i32>().iter().flatten().collect();
        min_name.push(names.iter().min().map(|s| s.to_string()));
        max_name.push(names.iter().max().map(|s| s.to_string()));
        for (c, n) in nulls.iter_mut().enumerate() {
            n.push(Some(f.column(c).null_count() as i64));
        }
    }
    let values = |id: Vec<Option<i64>>, v: Vec<Option<f64>>, name: Vec<Option<String>>| {
        Arc::new(StructArray::from(vec![
            (
                Arc::new(Field::new("id", ArrowType::Int64, true)),
                Arc::new(Int64Array::from(id)) as ArrayRef,
            ),
            (
                Arc::new(Field::new("v", ArrowType::Float64, true)),
                Arc::new(Float64Array::from(v)) as ArrayRef,
            ),
            (
                Arc::new(Field::new("name", ArrowType::Utf8, true)),
                Arc::new(StringArray::from(name)) as ArrayRef,
            ),
        ])) as ArrayRef
    };
    let [n0, n1, n2] = nulls;
    let null_count = StructArray::new(
        Fields::from(vec![
            Field::new("id", ArrowType::Int64, true),
            Field::new("v", ArrowType::Int64, true),
            Field::new("name", ArrowType::Int64, true),
        ]),
        vec![
            Arc::new(Int64Array::from(n0)) as ArrayRef,
            Arc::new(Int64Array::from(n1)),
            Arc::new(Int64Array::from(n2)),
        ],
        None,
    );
    RecordBatch::try_from_iter([
        (
            "numRecords",
            Arc::new(Int64Array::from(records)) as ArrayRef,
        ),
        ("minValues", values(min_id, min_v, min_name)),
        ("maxValues", values(max_id, max_v, max_name)),
        ("nullCount", Arc::new(null_count) as ArrayRef),
    ])
    .unwrap()
}

/// Which files the predicate keeps, and which hold a matching row.
fn kept_and_matching(predicate: &str, files: &[RecordBatch]) -> (Vec<bool>, Vec<bool>) {
    let bound = bind_predicate(&parse(predicate).unwrap(), &schema()).unwrap();
    let matching = files
        .iter()
        .map(|f| bound.evaluate_predicate(f).unwrap().true_count() > 0)
        .collect();
    let kept = match SkippingPredicate::new(&bound) {
        Some(skip) => skip
            .keep(&stats(files))
            .unwrap()
            .iter()
            .map(|k| k.unwrap())
            .collect(),
        None => vec![true; files.len()],
    };
    (kept, matching)
}

#[test]
fn files_that_cannot_match_are_skipped() {
    let files = [
        file(&[
            (Some(1), Some(1.0), Some("a".into())),
            (Some(5), Some(2.0), None),
        ]),
        file(&[
            (Some(10), Some(f64::NAN), Some("m".into())),
            (Some(20), None, Some("z".into())),
        ]),
        file(&[(None, None, None)]),
    ];
    let kept = |p: &str| kept_and_matching(p, &files).0;
    assert_eq!(kept("id = 3"), [true, false, false]);
    assert_eq!(kept("id = 7"), [false, false, false]);
    assert_eq!(kept("id > 5"), [false, true, false]);
    assert_eq!(kept("id < 1 OR id > 20"), [false, false, false]);
    assert_eq!(kept("NOT (id >= 1)"), [false, false, false]);
    assert_eq!(kept("id IN (2, 30)"), [true, false, false]);
    assert_eq!(kept("id BETWEEN 6 AND 9"), [false, false, false]);
    assert_eq!(kept("id IS NULL"), [false, false, true]);
    assert_eq!(kept("id IS NOT NULL"), [true, true, false]);
    assert_eq!(kept("name = 'b'"), [false, false, false]);
    assert_eq!(kept("name = 'p'"), [false, true, false]);
    assert_eq!(kept("id = NULL"), [false, false, false]);
    assert_eq!(kept("id <=> NULL"), [false, false, true]);
    // NaN is above every number: a greater-than on floats keeps NaN files
    assert_eq!(kept("v > 100"), [true, true, true]);
    // the second file's only value is NaN: no bounds, kept
    assert_eq!(kept("v < 0"), [false, true, false]);
    // a part it cannot rewrite keeps what the rest keeps
    assert_eq!(kept("id = 3 AND id + 1 = 4"), [true, false, false]);
    assert_eq!(kept("id = 7 OR id + 1 = 8"), [true, true, true]);
}

fn row() -> impl Strategy<Value = Row> {
    (
        prop_oneof![
            Just(None),
            (-3i64..4).prop_map(Some),
            Just(Some(i64::MAX)),
            Just(Some(i64::MIN))
        ],
        prop_oneof![
            Just(None),
            Just(Some(f64::NAN)),
            Just(Some(-0.0)),
            Just(Some(0.0)),
            (-3i32..4).prop_map(|v| Some(f64::from(v) * 1.5)),
            Just(Some(1e300)),
        ],
        prop_oneof![
            Just(None),
            prop::sample::select(vec!["", "a", "ab", "b", "é", "Z"])
                .prop_map(|s| Some(s.to_string())),
        ],
    )
}

fn leaf() -> impl Strategy<Value = String> {
    let op = prop::sample::select(vec!["=", "<>", "<", "<=", ">", ">=", "<=>"]);
    let id = prop_oneof![
        (-4i64..5).prop_map(|v| v.to_string()),
        Just(i64::MAX.to_string()),
        Just("NULL".to_string())
    ];
    let v = prop::sample::select(vec!["0", "-0.0", "1.5", "-1.5", "3", "1e300", "NULL"]);
    let name = prop::sample::select(vec!["''", "'a'", "'ab'", "'b'", "'é'", "'Z'", "NULL"]);
    prop_oneof![
        (op.clone(), id.clone()).prop_map(|(o, l)| format!("id {o} {l}")),
        (op.clone(), v.clone()).prop_map(|(o, l)| format!("v {o} {l}")),
        (op, name.clone()).prop_map(|(o, l)| format!("name {o} {l}")),
        (id.clone(), id.clone()).prop_map(|(a, b)| format!("id IN ({a}, {b})")),
        (v.clone(), v).prop_map(|(a, b)| format!("v NOT BETWEEN {a} AND {b}")),
        (name.clone(), name).prop_map(|(a, b)| format!("name BETWEEN {a} AND {b}")),
        prop::sample::select(vec![
            "id IS NULL",
            "v IS NOT NULL",
            "name IS NULL",
            "id + 1 > 2",
            "v / 2 < 1",
            "name LIKE 'a%'",
            "COALESCE(id, 0) > 1",
            "CASE WHEN id > 0 THEN v ELSE 0 END < 1",
            "CAST(id AS double) > 1.5",
            "CAST(v AS long) <= 0",
            "CAST(name AS long) = 2",
            "CAST(id AS string) < '2'",
            "CAST(id AS string) = '-1'",
        ])
        .prop_map(str::to_string),
    ]
}

fn predicate() -> impl Strategy<Value = String> {
    leaf().prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) AND ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) OR ({b})")),
            inner.prop_map(|a| format!("NOT ({a})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256)
    ))]

    #[test]
    fn skipping_never_drops_a_matching_file(
        files in prop::collection::vec(prop::collection::vec(row(), 0..8), 1..5),
        predicate in predicate(),
    ) {
        // printed back, a predicate parses to the same tree
        let parsed = parse(&predicate).unwrap();
        prop_assert_eq!(parse(&parsed.to_string()).unwrap(), parsed);
        let files: Vec<RecordBatch> = files.iter().map(|rows| file(rows)).collect();
        let bound = bind_predicate(&parse(&predicate).unwrap(), &schema());
        // some random predicates are ill-typed or overflow: not this test's subject
        let Ok(bound) = bound else { return Ok(()) };
        if files.iter().any(|f| bound.evaluate_predicate(f).is_err()) {
            return Ok(());
        }
        let (kept, matching) = kept_and_matching(&predicate, &files);
        for (i, (k, m)) in kept.iter().zip(&matching).enumerate() {
            prop_assert!(*k || !*m, "file {} matches '{}' but was skipped", i, predicate);
        }
    }
}
