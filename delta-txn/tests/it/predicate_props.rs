//! Scans with predicates over tables our writer made (several files,
//! partitions, nulls, NaN, -0.0, extreme values, long strings with shared
//! prefixes): the rows are exactly those a filter over every row keeps.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::compute::{concat_batches, filter_record_batch};
use delta_expr::{bind_predicate, parse};
use delta_txn::{Table, WriteOptions};
use object_store::memory::InMemory;
use object_store::path::Path;
use proptest::prelude::*;

type Row = (Option<i64>, Option<f64>, Option<String>, Option<String>);

fn batch(rows: &[(i64, Row)]) -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "row",
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))) as ArrayRef,
        ),
        (
            "id",
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.1.0).collect::<Vec<_>>(),
            )) as _,
        ),
        (
            "v",
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.1.1).collect::<Vec<_>>(),
            )) as _,
        ),
        (
            "name",
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.1.2.clone()).collect::<Vec<_>>(),
            )) as _,
        ),
        (
            "part",
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.1.3.clone()).collect::<Vec<_>>(),
            )) as _,
        ),
    ])
    .unwrap()
}

/// A string of 40 `x` then a letter: statistics keep a prefix of it.
fn long(c: char) -> String {
    format!("{}{c}", "x".repeat(40))
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
            (-2i32..3).prop_map(|v| Some(f64::from(v) * 1.5)),
            Just(Some(f64::MAX)),
        ],
        prop_oneof![
            Just(None),
            prop::sample::select(vec!["", "a", "b"]).prop_map(|s| Some(s.to_string())),
            prop::sample::select(vec!['a', 'b', 'z']).prop_map(|c| Some(long(c))),
        ],
        prop_oneof![
            Just(None),
            prop::sample::select(vec!["p", "q"]).prop_map(|s| Some(s.to_string())),
        ],
    )
}

fn leaf() -> impl Strategy<Value = String> {
    let op = prop::sample::select(vec!["=", "<>", "<", "<=", ">", ">="]);
    let id = prop_oneof![
        (-4i64..5).prop_map(|v| v.to_string()),
        Just("NULL".to_string())
    ];
    let v = prop::sample::select(vec!["0", "-0.0", "1.5", "-1.5", "3"]);
    let name = prop_oneof![
        prop::sample::select(vec!["''", "'a'", "'b'"]).prop_map(str::to_string),
        prop::sample::select(vec!['a', 'b', 'z', 'y']).prop_map(|c| format!("'{}'", long(c))),
    ];
    prop_oneof![
        (op.clone(), id).prop_map(|(o, l)| format!("id {o} {l}")),
        (op.clone(), v).prop_map(|(o, l)| format!("v {o} {l}")),
        (op.clone(), name).prop_map(|(o, l)| format!("name {o} {l}")),
        (op, prop::sample::select(vec!["'p'", "'q'"])).prop_map(|(o, l)| format!("part {o} {l}")),
        prop::sample::select(vec![
            "part IS NULL",
            "name IS NULL",
            "v IS NOT NULL",
            "id IN (1, 2)",
            "name LIKE 'x%'",
        ])
        .prop_map(str::to_string),
    ]
}

fn predicate() -> impl Strategy<Value = String> {
    leaf().prop_recursive(2, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) AND ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) OR ({b})")),
            inner.prop_map(|a| format!("NOT ({a})")),
        ]
    })
}

fn rows_of(batches: &[RecordBatch]) -> Vec<i64> {
    let mut rows: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("row")
                .unwrap()
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect();
    rows.sort_unstable();
    rows
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(48)
    ))]

    #[test]
    fn predicate_scans_return_exactly_the_matching_rows(
        writes in prop::collection::vec(prop::collection::vec(row(), 1..6), 1..4),
        predicate in predicate(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let table = Table::with_store(Arc::new(InMemory::new()), Path::from("t"), "memory:///t");
            let mut next = 0;
            for rows in &writes {
                let numbered: Vec<(i64, Row)> = rows
                    .iter()
                    .map(|r| {
                        next += 1;
                        (next, r.clone())
                    })
                    .collect();
                let b = batch(&numbered);
                let options = WriteOptions {
                    partition_by: Some(vec!["part".into()]),
                    ..Default::default()
                };
                table.write(b.schema(), futures::stream::iter([Ok(b)]), options).await.unwrap();
            }
            let snapshot = table.snapshot().await.unwrap();
            let expr = parse(&predicate).unwrap();
            let Ok(bound) = bind_predicate(&expr, snapshot.schema()) else {
                return Ok(());
            };
            let all = snapshot.scan().collect().await.unwrap();
            let all = concat_batches(&all[0].schema(), &all).unwrap();
            let Ok(keep) = bound.evaluate_predicate(&all) else {
                return Ok(());
            };
            let want = rows_of(&[filter_record_batch(&all, &keep).unwrap()]);
            let got = rows_of(&snapshot.scan().with_predicate(expr).collect().await.unwrap());
            prop_assert_eq!(got, want, "{}", predicate);
            Ok(())
        })?;
    }
}
