use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryArray, Date32Array, Date64Array, Decimal128Array, DictionaryArray,
    FixedSizeListArray, Float32Array, Int32Array, ListArray, MapArray, StringArray, StructArray,
    Time32SecondArray, TimestampNanosecondArray, TimestampSecondArray, UInt64Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Fields, Int32Type};
use arrow::record_batch::RecordBatch;

use super::*;

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

fn lines_of(columns: Vec<(&str, ArrayRef)>) -> Vec<String> {
    canonical_lines(&[batch(columns)]).unwrap()
}

#[test]
fn escapes_strings_like_python_json_dumps() {
    let all_controls: String = (0u8..0x20).map(char::from).collect();
    // python3 -c 'import json; print(json.dumps("".join(map(chr, range(32))), ensure_ascii=False))'
    let python = r#""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f""#;
    assert_eq!(json_string(&all_controls), python);
    assert_eq!(
        json_string("q\"b\\s/ del\u{7f} ls\u{2028} é 😀"),
        "\"q\\\"b\\\\s/ del\u{7f} ls\u{2028} é 😀\""
    );
    // serde_json escapes the same way (for the rows, which go through it)
    assert_eq!(serde_json::to_string(&all_controls).unwrap(), python);
}

#[test]
fn formats_decimals_with_exactly_scale_digits() {
    let cases = [
        ("150", 2, "1.50"),
        ("-7", 2, "-0.07"),
        ("0", 2, "0.00"),
        ("3", 0, "3"),
        ("-3", 0, "-3"),
        ("5", 1, "0.5"),
        ("-12345", 3, "-12.345"),
        ("12", -2, "1200"),
        ("-1", -2, "-100"),
        ("0", -2, "0"),
    ];
    for (unscaled, scale, want) in cases {
        assert_eq!(
            decimal(unscaled, scale),
            format!("\"{want}\""),
            "{unscaled} scale {scale}"
        );
    }
    let array = Decimal128Array::from(vec![Some(i128::MAX / 10), Some(-1), None])
        .with_precision_and_scale(38, 38)
        .unwrap();
    assert_eq!(
        lines_of(vec![("d", Arc::new(array))]),
        [
            r#"{"d":"-0.00000000000000000000000000000000000001"}"#,
            r#"{"d":"0.17014118346046923173168730371588410572"}"#,
            r#"{"d":null}"#,
        ]
    );
}

#[test]
fn formats_dates_before_1970_and_beyond_9999() {
    assert_eq!(date(0, "d").unwrap(), "\"1970-01-01\"");
    assert_eq!(date(-1, "d").unwrap(), "\"1969-12-31\"");
    assert_eq!(date(-719_162, "d").unwrap(), "\"0001-01-01\"");
    assert_eq!(date(2_932_896, "d").unwrap(), "\"9999-12-31\"");
    assert_eq!(date(2_932_897, "d").unwrap(), "\"+10000-01-01\"");
    assert_eq!(date(-719_162 - 366, "d").unwrap(), "\"0000-01-01\"");
    assert_eq!(date(-719_162 - 367, "d").unwrap(), "\"-0001-12-31\"");
    assert!(matches!(
        date(i64::from(i32::MAX), "d"),
        Err(CanonicalError::OutOfRange { .. })
    ));
    let lines = lines_of(vec![
        ("a", Arc::new(Date32Array::from(vec![-25_567]))),
        ("b", Arc::new(Date64Array::from(vec![-1]))),
    ]);
    assert_eq!(lines, [r#"{"a":"1900-01-01","b":"1969-12-31"}"#]);
}

#[test]
fn timestamps_become_microseconds_with_floor_division() {
    let ns = TimestampNanosecondArray::from(vec![-1, -1000, -1001, 1999]).with_timezone("+01:00");
    let s = TimestampSecondArray::from(vec![-1, 0, 1, i64::MAX]);
    let lines = lines_of(vec![("ns", Arc::new(ns)), ("s", Arc::new(s))]);
    assert_eq!(
        lines,
        [
            r#"{"ns":-1,"s":-1000000}"#,
            r#"{"ns":-1,"s":0}"#,
            r#"{"ns":-2,"s":1000000}"#,
            r#"{"ns":1,"s":9223372036854775807000000}"#,
        ]
    );
}

#[test]
fn floats_keep_their_bits_and_nan_is_one_value() {
    let h32 = Float32Array::from(vec![-0.0, f32::NAN, 1.5]);
    let h = arrow::compute::cast(&h32, &DataType::Float16).unwrap();
    let u = UInt64Array::from(vec![u64::MAX, 0, 1]);
    let lines = lines_of(vec![("h", h), ("u", Arc::new(u))]);
    assert_eq!(
        lines,
        [
            r#"{"h":"NaN","u":0}"#,
            r#"{"h":"f64:3ff8000000000000","u":1}"#,
            r#"{"h":"f64:8000000000000000","u":18446744073709551615}"#,
        ]
    );
}

#[test]
fn keys_sort_by_code_point_not_utf16() {
    // U+FF5E sorts before U+1F600 by code point; in UTF-16 the emoji's surrogate
    // (0xD83D) would come first.
    let lines = lines_of(vec![
        ("😀", Arc::new(Int32Array::from(vec![1]))),
        ("～", Arc::new(Int32Array::from(vec![2]))),
        ("B", Arc::new(Int32Array::from(vec![3]))),
        ("a", Arc::new(Int32Array::from(vec![4]))),
    ]);
    assert_eq!(lines, [r#"{"B":3,"a":4,"～":2,"😀":1}"#]);
}

fn nested_batch() -> RecordBatch {
    let point_fields = Fields::from(vec![
        Field::new("y", DataType::Int32, true),
        Field::new("x", DataType::Utf8, true),
    ]);
    let point = StructArray::new(
        point_fields,
        vec![
            Arc::new(Int32Array::from(vec![
                Some(1),
                None,
                Some(3),
                Some(4),
                Some(5),
            ])),
            Arc::new(StringArray::from(vec!["a", "b", "c", "d", "e"])),
        ],
        Some(vec![true, true, false, true, true].into()),
    );
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), None]),
        None,
        Some(vec![]),
        Some(vec![Some(3)]),
        Some(vec![Some(4), Some(5), Some(6)]),
    ]);
    let fsl = FixedSizeListArray::try_new(
        Arc::new(Field::new_list_field(DataType::Int32, true)),
        2,
        Arc::new(Int32Array::from((0..10).collect::<Vec<i32>>())),
        Some(vec![true, true, true, false, true].into()),
    )
    .unwrap();
    let entries = StructArray::from(vec![
        (
            Arc::new(Field::new("key", DataType::Utf8, false)),
            Arc::new(StringArray::from(vec!["b", "a", "c", "z", "y", "x", "w"])) as ArrayRef,
        ),
        (
            Arc::new(Field::new("value", DataType::Binary, true)),
            Arc::new(BinaryArray::from_opt_vec(vec![
                Some(b"\x01"),
                None,
                Some(b""),
                Some(b"\xff"),
                Some(b"y"),
                Some(b"x"),
                Some(b"w"),
            ])) as ArrayRef,
        ),
    ]);
    let map = MapArray::try_new(
        Arc::new(Field::new("entries", entries.data_type().clone(), false)),
        OffsetBuffer::new(vec![0, 3, 3, 4, 4, 7].into()),
        entries,
        Some(vec![true, true, true, false, true].into()),
        false,
    )
    .unwrap();
    let dict: DictionaryArray<Int32Type> = vec![Some("x"), None, Some("y"), Some("x"), Some("z")]
        .into_iter()
        .collect();
    batch(vec![
        ("point", Arc::new(point)),
        ("list", Arc::new(list)),
        ("fsl", Arc::new(fsl)),
        ("map", Arc::new(map)),
        ("dict", Arc::new(dict)),
    ])
}

#[test]
fn nested_values() {
    let lines = canonical_lines(&[nested_batch()]).unwrap();
    assert_eq!(
        lines,
        [
            r#"{"dict":"x","fsl":[0,1],"list":[1,null],"map":[["a",null],["b","01"],["c",""]],"point":{"x":"a","y":1}}"#,
            r#"{"dict":"x","fsl":null,"list":[3],"map":null,"point":{"x":"d","y":4}}"#,
            r#"{"dict":"y","fsl":[4,5],"list":[],"map":[["z","ff"]],"point":null}"#,
            r#"{"dict":"z","fsl":[8,9],"list":[4,5,6],"map":[["w","77"],["x","78"],["y","79"]],"point":{"x":"e","y":5}}"#,
            r#"{"dict":null,"fsl":[2,3],"list":null,"map":[],"point":{"x":"b","y":null}}"#,
        ]
    );
    let rows = canonical_rows(&[nested_batch()]).unwrap();
    assert_eq!(rows[2]["map"], serde_json::json!([["z", "ff"]]));
}

#[test]
fn slices_and_batch_boundaries_do_not_matter() {
    let full = nested_batch();
    let want = canonical_lines(std::slice::from_ref(&full)).unwrap();
    for split in 0..=full.num_rows() {
        let parts = [
            full.slice(0, split),
            full.slice(split, full.num_rows() - split),
        ];
        assert_eq!(canonical_lines(&parts).unwrap(), want, "split at {split}");
    }
}

#[test]
fn empty_input_hashes_the_empty_text() {
    let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert_eq!(canonical_hash(&[]).unwrap(), empty);
    assert_eq!(
        canonical_hash(&[nested_batch().slice(0, 0)]).unwrap(),
        empty
    );
    // one row `{"a":1}`: python3 -c 'import hashlib; print(hashlib.sha256(b"{\"a\":1}").hexdigest())'
    let one = batch(vec![("a", Arc::new(Int32Array::from(vec![1])))]);
    assert_eq!(
        canonical_hash(&[one.clone(), one]).unwrap(),
        hash_lines(&[r#"{"a":1}"#.to_string(), r#"{"a":1}"#.to_string()])
    );
}

#[test]
fn unsupported_types_name_the_column() {
    let time = Time32SecondArray::from(vec![1]);
    let s = StructArray::from(vec![(
        Arc::new(Field::new(
            "t",
            DataType::Time32(arrow::datatypes::TimeUnit::Second),
            true,
        )),
        Arc::new(time) as ArrayRef,
    )]);
    let err = canonical_hash(&[batch(vec![("s", Arc::new(s))])]).unwrap_err();
    match &err {
        CanonicalError::UnsupportedType { column, data_type } => {
            assert_eq!(column, "s.t");
            assert_eq!(
                data_type,
                &DataType::Time32(arrow::datatypes::TimeUnit::Second)
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("`s.t`"), "{err}");
}

#[test]
fn duplicate_names_are_refused() {
    let s = StructArray::from(vec![
        (
            Arc::new(Field::new("x", DataType::Int32, true)),
            Arc::new(Int32Array::from(vec![1])) as ArrayRef,
        ),
        (
            Arc::new(Field::new("x", DataType::Int32, true)),
            Arc::new(Int32Array::from(vec![2])) as ArrayRef,
        ),
    ]);
    let err = canonical_lines(&[batch(vec![("s", Arc::new(s))])]).unwrap_err();
    assert!(
        matches!(&err, CanonicalError::DuplicateName { column } if column == "s.x"),
        "{err:?}"
    );
}
