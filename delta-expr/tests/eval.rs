//! Parsing, binding and evaluating predicates over a batch: SQL's
//! three-valued logic, Spark's float order and ANSI arithmetic, type
//! coercion of literals, and the errors a user sees.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int16Array, Int32Array, Int64Array,
    RecordBatch, StringArray, StructArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType as ArrowType, Field, Fields};
use delta_expr::{ExprError, bind, bind_predicate, parse};
use delta_schema::{DataType, StructField, StructType};

fn schema() -> StructType {
    StructType::new([
        StructField::new("id", DataType::LONG, true),
        StructField::new("small", DataType::SHORT, true),
        StructField::new("value", DataType::DOUBLE, true),
        StructField::new("other", DataType::DOUBLE, true),
        StructField::new("name", DataType::STRING, true),
        StructField::new("day", DataType::DATE, true),
        StructField::new(
            "s",
            DataType::Struct(Box::new(StructType::new([StructField::new(
                "a",
                DataType::INTEGER,
                true,
            )]))),
            true,
        ),
    ])
}

/// Five rows: the third is all nulls (and its struct is null).
fn batch() -> RecordBatch {
    let inner = Int32Array::from(vec![Some(1), Some(2), Some(3), None, Some(5)]);
    let s = StructArray::new(
        Fields::from(vec![Field::new("a", ArrowType::Int32, true)]),
        vec![Arc::new(inner) as ArrayRef],
        Some(NullBuffer::from(vec![true, true, false, true, true])),
    );
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from(vec![
                Some(1),
                Some(2),
                None,
                Some(i64::MAX),
                Some(-5),
            ])) as ArrayRef,
        ),
        (
            "small",
            Arc::new(Int16Array::from(vec![
                Some(1),
                Some(300),
                None,
                Some(-7),
                Some(0),
            ])) as _,
        ),
        (
            "value",
            Arc::new(Float64Array::from(vec![
                Some(1.5),
                Some(f64::NAN),
                None,
                Some(-0.0),
                Some(f64::INFINITY),
            ])) as _,
        ),
        (
            "other",
            Arc::new(Float64Array::from(vec![
                Some(1.5),
                Some(-f64::NAN),
                None,
                Some(0.0),
                Some(1.0),
            ])) as _,
        ),
        (
            "name",
            Arc::new(StringArray::from(vec![
                Some("a"),
                Some("b'c"),
                None,
                Some(""),
                Some("Z"),
            ])) as _,
        ),
        (
            "day",
            Arc::new(Date32Array::from(vec![
                Some(19723),
                Some(19724),
                None,
                Some(0),
                Some(-1),
            ])) as _,
        ),
        ("s", Arc::new(s) as _),
    ])
    .unwrap()
}

/// The predicate's value per row: Some(true/false) or None for null.
fn rows(predicate: &str) -> Vec<Option<bool>> {
    let bound = bind_predicate(&parse(predicate).unwrap(), &schema())
        .unwrap_or_else(|e| panic!("{predicate}: {e}"));
    let out: BooleanArray = bound
        .evaluate_predicate(&batch())
        .unwrap_or_else(|e| panic!("{predicate}: {e}"));
    out.iter().collect()
}

const T: Option<bool> = Some(true);
const F: Option<bool> = Some(false);
const N: Option<bool> = None;

#[test]
fn comparisons_follow_three_valued_logic() {
    assert_eq!(rows("id = 2"), [F, T, N, F, F]);
    assert_eq!(rows("id <> 2"), [T, F, N, T, T]);
    assert_eq!(rows("id = NULL"), [N, N, N, N, N]);
    assert_eq!(rows("id <=> NULL"), [F, F, T, F, F]);
    assert_eq!(rows("id > 1 AND name IS NOT NULL"), [F, T, F, T, F]);
    assert_eq!(rows("id > 1 OR name = 'a'"), [T, T, N, T, F]);
    assert_eq!(rows("NOT (id > 1)"), [T, F, N, F, T]);
    assert_eq!(rows("id IS NULL"), [F, F, T, F, F]);
    assert_eq!(rows("name = 'b''c'"), [F, T, N, F, F]);
    // NULL AND FALSE is false, NULL OR TRUE is true
    assert_eq!(rows("id = NULL AND FALSE"), [F, F, F, F, F]);
    assert_eq!(rows("id = NULL OR TRUE"), [T, T, T, T, T]);
    assert_eq!(rows("(id > 1) IS TRUE"), [F, T, F, T, F]);
    assert_eq!(rows("(id > 1) IS NOT FALSE"), [F, T, T, T, F]);
}

#[test]
fn in_and_between() {
    assert_eq!(rows("id IN (1, 2)"), [T, T, N, F, F]);
    // no match and a null in the list: unknown
    assert_eq!(rows("id IN (1, NULL)"), [T, N, N, N, N]);
    assert_eq!(rows("id NOT IN (1, NULL)"), [F, N, N, N, N]);
    assert_eq!(rows("id NOT IN (1, 2)"), [F, F, N, T, T]);
    assert_eq!(rows("small BETWEEN 0 AND 300"), [T, T, N, F, T]);
    assert_eq!(rows("small NOT BETWEEN 0 AND 300"), [F, F, N, T, F]);
}

#[test]
fn floats_compare_as_spark_does() {
    // NaN equals NaN (of any sign) and is above every number; -0.0 is 0.0
    assert_eq!(rows("value = other"), [T, T, N, T, F]);
    assert_eq!(rows("value > 1e308"), [F, T, N, F, T]);
    assert_eq!(rows("value = 0"), [F, F, N, T, F]);
    assert_eq!(rows("other < value"), [F, F, N, F, T]);
}

#[test]
fn literals_take_the_type_they_meet() {
    // a number next to a short is a short; one that does not fit widens
    assert_eq!(rows("small = 300"), [F, T, N, F, F]);
    assert_eq!(rows("small < 100000"), [T, T, N, T, T]);
    assert_eq!(rows("small = 1.5"), [F, F, N, F, F]);
    assert_eq!(rows("small < 1.5"), [T, F, N, T, T]);
    // a string next to a date is a date
    assert_eq!(rows("day = '2024-01-02'"), [F, T, N, F, F]);
    assert_eq!(rows("day >= DATE '2024-01-01'"), [T, T, N, F, F]);
    assert_eq!(
        rows("day BETWEEN '1969-12-31' AND '1970-01-01'"),
        [F, F, N, T, T]
    );
    // / divides as fractions
    assert_eq!(rows("id / 2 = 0.5"), [T, F, N, F, F]);
    assert_eq!(rows("7 / 2 = 3.5"), [T, T, T, T, T]);
    assert_eq!(rows("id % 2 = 1"), [T, F, N, T, F]);
    assert_eq!(rows("-id = 5"), [F, F, N, F, T]);
}

#[test]
fn struct_fields_of_null_structs_are_null() {
    assert_eq!(rows("s.a = 3"), [F, F, N, N, F]);
    assert_eq!(rows("s.a IS NULL"), [F, F, T, T, F]);
    assert_eq!(rows("S.A > 1"), [F, T, N, N, T]);
}

#[test]
fn arithmetic_is_checked() {
    let eval = |text: &str| {
        let bound = bind(&parse(text).unwrap(), &schema()).unwrap();
        bound.evaluate(&batch())
    };
    let err = eval("id + 1").unwrap_err();
    assert!(matches!(err, ExprError::Eval { .. }), "{err}");
    assert!(err.to_string().contains("overflow"), "{err}");
    let err = eval("id / 0").unwrap_err().to_string();
    assert!(err.contains("division by zero"), "{err}");
    let err = eval("value / (small - small)").unwrap_err().to_string();
    assert!(err.contains("division by zero"), "{err}");
    let err = eval("id % 0").unwrap_err().to_string();
    assert!(err.contains("division by zero"), "{err}");
    // a null divisor is no division
    let out = eval("small / NULL").unwrap();
    assert_eq!(out.null_count(), 5);
    let out = eval("small + 1").unwrap();
    assert_eq!(out.data_type(), &ArrowType::Int16);
}

#[test]
fn binding_errors_name_the_problem() {
    let bind_err = |text: &str| bind_predicate(&parse(text).unwrap(), &schema()).unwrap_err();
    let err = bind_err("vlaue > 1");
    assert_eq!(
        err.to_string(),
        "unknown column 'vlaue'; did you mean 'value'?"
    );
    let err = bind_err("s.b = 1");
    assert_eq!(err.to_string(), "unknown column 's.b'; did you mean 's.a'?");
    let err = bind_err("s.zzz = 1");
    assert_eq!(err.to_string(), "unknown column 's.zzz'");
    let err = bind_err("name = 5");
    assert!(matches!(err, ExprError::TypeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("string and integer"), "{err}");
    let err = bind_err("id = 'x'");
    assert!(err.to_string().contains("'x' is not a long"), "{err}");
    let err = bind_err("day = '2024-13-45'");
    assert!(err.to_string().contains("is not a date"), "{err}");
    let err = bind_err("id + 1");
    assert!(err.to_string().contains("must be boolean"), "{err}");
    let err = bind_err("name AND id > 1");
    assert!(err.to_string().contains("not boolean"), "{err}");
    let err = bind_err("id.x = 1");
    assert!(err.to_string().contains("has no fields"), "{err}");
    let err = bind_err("s = 1");
    assert!(err.to_string().contains("do not compare"), "{err}");
    let twins = StructType::new([
        StructField::new("Ab", DataType::LONG, true),
        StructField::new("aB", DataType::LONG, true),
    ]);
    let err = bind_predicate(&parse("ab = 1").unwrap(), &twins).unwrap_err();
    assert_eq!(
        err.to_string(),
        "column name 'ab' is ambiguous: it matches Ab, aB"
    );
    assert!(bind_predicate(&parse("aB = 1").unwrap(), &twins).is_ok());
}

#[test]
fn like_cast_case_and_coalesce() {
    assert_eq!(rows("name LIKE 'b%'"), [F, T, N, F, F]);
    assert_eq!(rows("name ILIKE 'z'"), [F, F, N, F, T]);
    assert_eq!(rows("name NOT LIKE '%'"), [F, F, N, F, F]);
    assert_eq!(rows("name LIKE '_'"), [T, F, N, F, T]);
    assert_eq!(rows("CAST(small AS string) = '300'"), [F, T, N, F, F]);
    assert_eq!(rows("CAST('2024-01-02' AS date) = day"), [F, T, N, F, F]);
    assert_eq!(rows("CAST(small AS double) / 2 = 0.5"), [T, F, N, F, F]);
    // each branch only for its rows: no division by the zero of the last row
    assert_eq!(
        rows("CASE WHEN small = 0 THEN 0 ELSE 100 / small END > 1"),
        [T, F, N, F, F]
    );
    assert_eq!(
        rows("CASE small WHEN 1 THEN 'one' WHEN 300 THEN 'many' END = 'many'"),
        [F, T, N, N, N]
    );
    assert_eq!(rows("COALESCE(id, small, 0) > 1"), [F, T, F, T, F]);
    assert_eq!(rows("COALESCE(name, 'none') = 'none'"), [F, F, T, F, F]);
    // a value that does not convert is an error, as in Spark's ANSI mode
    let bound = bind(&parse("CAST(name AS int)").unwrap(), &schema()).unwrap();
    let err = bound.evaluate(&batch()).unwrap_err();
    assert!(matches!(err, ExprError::Eval { .. }), "{err}");
    // NaN and infinity do not convert to integers (Spark ANSI)
    let bound = bind(&parse("CAST(value AS int)").unwrap(), &schema()).unwrap();
    let err = bound.evaluate(&batch()).unwrap_err();
    assert!(err.to_string().contains("NaN"), "{err}");
    let err = bind(&parse("CASE WHEN id THEN 1 END").unwrap(), &schema()).unwrap_err();
    assert!(err.to_string().contains("not boolean"), "{err}");
    let err = bind(&parse("COALESCE(id, name)").unwrap(), &schema()).unwrap_err();
    assert!(err.to_string().contains("do not compare"), "{err}");
    let err = bind(&parse("id LIKE 'a'").unwrap(), &schema()).unwrap_err();
    assert!(err.to_string().contains("LIKE needs strings"), "{err}");
}

#[test]
fn scalar_functions() {
    assert_eq!(rows("lower(name) = 'z'"), [F, F, N, F, T]);
    assert_eq!(rows("upper(name) = 'A'"), [T, F, N, F, F]);
    assert_eq!(rows("length(name) = 3"), [F, T, N, F, F]);
    assert_eq!(rows("length(name) = 0"), [F, F, N, T, F]);
    assert_eq!(rows("substring(name, 2) = '''c'"), [F, T, N, F, F]);
    assert_eq!(rows("substr(name, -1, 1) = 'c'"), [F, T, N, F, F]);
    assert_eq!(rows("SUBSTRING(name FROM 1 FOR 1) = 'b'"), [F, T, N, F, F]);
    assert_eq!(rows("abs(small) = 7"), [F, F, N, T, F]);
    assert_eq!(rows("abs(value) = 0"), [F, F, N, T, F]);
    assert_eq!(rows("year(day) = 2024 AND month(day) = 1"), [T, T, N, F, F]);
    assert_eq!(rows("day(day) = 31"), [F, F, N, F, T]);
    let err = bind(&parse("abs(-9223372036854775808)").unwrap(), &schema())
        .unwrap()
        .evaluate(&batch())
        .unwrap_err();
    assert!(err.to_string().contains("overflow"), "{err}");
    let err = bind(&parse("lower(id)").unwrap(), &schema()).unwrap_err();
    assert!(
        err.to_string().contains("lower takes a string, not long"),
        "{err}"
    );
    let err = bind(&parse("year(name)").unwrap(), &schema()).unwrap_err();
    assert!(err.to_string().contains("a date or timestamp"), "{err}");
}
