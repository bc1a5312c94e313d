//! Page skipping: with a predicate's skipping form, a file with many small
//! pages yields a subset of its rows that still holds every matching row.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::compute::{concat_batches, filter_record_batch};
use delta_expr::{SkippingPredicate, bind_predicate, parse};
use delta_io::writer::WriterOptions;
use delta_io::{ColumnMapping, ReadPlan, read_file};
use delta_schema::{DataType, StructType};
use futures::TryStreamExt;
use object_store::path::Path;

use crate::writer::{field, memory, write_all};

const ROWS: i64 = 2000;

fn schema() -> StructType {
    StructType::new([
        field("id", DataType::LONG),
        field("g", DataType::LONG),
        field("f", DataType::DOUBLE),
        field("s", DataType::STRING),
        field("ts", DataType::TIMESTAMP),
    ])
}

/// `id` sorted; `g` small and random with nulls; `f` random with NaN, -0.0
/// and nulls; `s` sorted words with nulls; `ts` sorted.
fn rows() -> RecordBatch {
    let mut seed = 7u64;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        seed >> 33
    };
    let ids: Vec<i64> = (0..ROWS).collect();
    let g: Vec<Option<i64>> = ids
        .iter()
        .map(|_| match next() % 10 {
            0 => None,
            v => Some(v as i64),
        })
        .collect();
    let f: Vec<Option<f64>> = ids
        .iter()
        .map(|&i| match next() % 50 {
            0 => None,
            1 => Some(f64::NAN),
            2 => Some(-0.0),
            v => Some((v as f64 - 25.0) * (i as f64 / 100.0)),
        })
        .collect();
    let s: Vec<Option<String>> = ids
        .iter()
        .map(|&i| (i % 37 != 0).then(|| format!("{}{:04}", (b'a' + (i / 80) as u8) as char, i)))
        .collect();
    let ts: Vec<i64> = ids
        .iter()
        .map(|&i| 1_704_067_200_000_000 + i * 1_000_000)
        .collect();
    RecordBatch::try_new(
        Arc::new(schema().to_arrow()),
        vec![
            Arc::new(Int64Array::from(ids)) as ArrayRef,
            Arc::new(Int64Array::from(g)),
            Arc::new(Float64Array::from(f)),
            Arc::new(StringArray::from(s)),
            Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
        ],
    )
    .unwrap()
}

#[tokio::test]
async fn skipped_pages_never_hold_a_matching_row() {
    let store = memory();
    let root = Path::from("pages");
    let schema = schema();
    let data = rows();
    let options = WriterOptions {
        data_page_rows: 50,
        max_row_group_rows: 800,
        ..WriterOptions::default()
    };
    let adds = write_all(
        &store,
        &root,
        &schema,
        &[],
        ColumnMapping::None,
        options,
        std::slice::from_ref(&data),
    )
    .await;
    assert_eq!(adds.len(), 1);
    let files: delta_log::ActiveFiles = adds.iter().cloned().collect();
    let read = |skip: Option<SkippingPredicate>| {
        let plan = ReadPlan::new(&schema, &[], ColumnMapping::None, None)
            .unwrap()
            .with_page_skipping(skip);
        let (store, root, files) = (Arc::clone(&store), root.clone(), files.clone());
        let arrow_schema = Arc::new(schema.to_arrow());
        async move {
            let file = files.get(0).unwrap();
            let batches: Vec<RecordBatch> = read_file(store, &root, Arc::new(plan), file)
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            concat_batches(&arrow_schema, &batches).unwrap()
        }
    };
    let all = read(None).await;
    assert_eq!(all.num_rows(), ROWS as usize);
    // predicate, and whether pages must be skipped (the sorted columns)
    let cases = [
        ("id >= 500 AND id < 620", true),
        ("id = 1999", true),
        ("id < 0", true),
        ("id BETWEEN 90 AND 110 OR id > 1950", true),
        ("NOT (id < 1900)", true),
        ("ts < TIMESTAMP '2024-01-01 00:01:00'", true),
        ("s >= 'y'", true),
        ("s < 'b' AND g = 3", true),
        ("g = 3", false),
        ("g IS NULL", false),
        ("g IS NOT NULL AND id < 300", true),
        ("f > 400", false),
        ("f < -400", false),
        ("f = CAST('NaN' AS DOUBLE)", false),
        ("f = 0", false),
        ("s IS NULL", false),
        ("s LIKE 'c%'", false),
        ("coalesce(g, 0) = 0 AND id >= 1500", true),
        ("id + 1 > 1990", false),
    ];
    for (text, must_skip) in cases {
        let bound = bind_predicate(&parse(text).unwrap(), &schema).unwrap();
        let skip = SkippingPredicate::new(&bound);
        let paged = read(skip).await;
        let want = filter_record_batch(&all, &bound.matching_rows(&all).unwrap()).unwrap();
        let got = filter_record_batch(&paged, &bound.matching_rows(&paged).unwrap()).unwrap();
        assert_eq!(got, want, "{text}");
        if must_skip {
            assert!(
                paged.num_rows() < all.num_rows() / 2,
                "{text}: {} of {} rows read",
                paged.num_rows(),
                all.num_rows()
            );
        }
    }
}
