//! Schema enforcement on the data itself: bring each incoming batch to the
//! table's Arrow schema (column order, implicit widenings, nulls for missing
//! nullable columns, one encoding per type) and refuse nulls in non-nullable
//! columns. Runs after `delta_schema::check_write_schema` accepted the schemas,
//! and before anything is written.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, GenericListArray, OffsetSizeTrait, StructArray, new_null_array,
};
use arrow::buffer::NullBuffer;
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType as ArrowType, Fields, SchemaRef, TimeUnit};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use delta_io::conform::{list_like, map_like};
use delta_schema::{DataType, SchemaError, StructField, StructType};

use crate::TxnError;

fn mismatch(column: &str, reason: impl Into<String>) -> TxnError {
    TxnError::SchemaMismatch {
        source: SchemaError::WriteMismatch {
            column: column.to_string(),
            reason: reason.into(),
        },
    }
}

/// Brings batches to a table's schema (its Arrow form built once).
#[derive(Debug, Clone)]
pub struct Conformer {
    table: StructType,
    arrow: SchemaRef,
}

impl Conformer {
    /// A conformer to `table`.
    pub fn new(table: &StructType) -> Self {
        Conformer {
            table: table.clone(),
            arrow: Arc::new(table.to_arrow()),
        }
    }

    /// `batch` in the Arrow schema of the table, or why it does not fit.
    pub fn conform(&self, batch: &RecordBatch) -> Result<RecordBatch, TxnError> {
        conform_batch(batch, &self.table, &self.arrow)
    }
}

fn conform_batch(
    batch: &RecordBatch,
    table: &StructType,
    schema: &SchemaRef,
) -> Result<RecordBatch, TxnError> {
    let rows = batch.num_rows();
    let mut columns = Vec::with_capacity(table.fields.len());
    for field in &table.fields {
        let column = match batch.column_by_name(&field.name) {
            Some(array) => conform(array, field, &field.name, None)?,
            None => missing(field, &field.name, rows, None)?,
        };
        columns.push(column);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(Arc::clone(schema), columns, &options)
        .map_err(|e| mismatch("*", e.to_string()))
}

/// A column the data does not have: nulls, if the field may be null where
/// the parent is not.
fn missing(
    field: &StructField,
    column: &str,
    rows: usize,
    parent_nulls: Option<&NullBuffer>,
) -> Result<ArrayRef, TxnError> {
    let all_parents_null = parent_nulls.is_some_and(|n| n.null_count() == rows);
    if !field.nullable && !all_parents_null && rows > 0 {
        return Err(mismatch(
            column,
            "is not nullable but the data does not have it",
        ));
    }
    Ok(new_null_array(&field.data_type.to_arrow(), rows))
}

/// Fails if `array` has a null where neither it may be null nor its parent is null.
fn check_nulls(
    array: &dyn Array,
    nullable: bool,
    column: &str,
    parent_nulls: Option<&NullBuffer>,
) -> Result<(), TxnError> {
    if nullable {
        return Ok(());
    }
    let Some(nulls) = array.logical_nulls() else {
        return Ok(());
    };
    let unmasked =
        (0..array.len()).find(|&i| nulls.is_null(i) && parent_nulls.is_none_or(|p| p.is_valid(i)));
    match unmasked {
        Some(row) => Err(mismatch(
            column,
            format!("is not nullable but row {row} of the data is null"),
        )),
        None => Ok(()),
    }
}

fn conform(
    array: &ArrayRef,
    field: &StructField,
    column: &str,
    parent_nulls: Option<&NullBuffer>,
) -> Result<ArrayRef, TxnError> {
    check_nulls(array.as_ref(), field.nullable, column, parent_nulls)?;
    conform_type(array, &field.data_type, column, parent_nulls)
}

/// Conforms `array` to `target`; `parent_nulls` are the rows where an
/// enclosing struct (at any depth) is null.
fn conform_type(
    array: &ArrayRef,
    target: &DataType,
    column: &str,
    parent_nulls: Option<&NullBuffer>,
) -> Result<ArrayRef, TxnError> {
    match (target, array.data_type()) {
        (DataType::Struct(s), ArrowType::Struct(_)) => {
            let source = array.as_struct();
            // a struct inside a null struct is null too: its fields may be
            // null there whatever their nullability
            let nulls = NullBuffer::union(parent_nulls, source.nulls());
            let nulls = nulls.as_ref();
            let mut children = Vec::with_capacity(s.fields.len());
            for f in &s.fields {
                let child_column = format!("{column}.{}", f.name);
                let child = match source.column_by_name(&f.name) {
                    Some(child) => conform(child, f, &child_column, nulls)?,
                    None => missing(f, &child_column, source.len(), nulls)?,
                };
                children.push(child);
            }
            let fields: Fields = s.fields.iter().map(StructField::to_arrow).collect();
            let out = StructArray::try_new(fields, children, nulls.cloned())
                .map_err(|e| mismatch(column, e.to_string()))?;
            Ok(Arc::new(out))
        }
        (DataType::Array(a), ArrowType::List(_)) => conform_list(
            array.as_list::<i32>(),
            target,
            &a.element_type,
            a.contains_null,
            column,
        ),
        (DataType::Array(a), ArrowType::LargeList(_)) => conform_list(
            array.as_list::<i64>(),
            target,
            &a.element_type,
            a.contains_null,
            column,
        ),
        (DataType::Map(m), ArrowType::Map(_, _)) => {
            let source = array.as_map();
            let key_column = format!("{column}.key");
            let value_column = format!("{column}.value");
            check_nulls(source.keys().as_ref(), false, &key_column, None)?;
            check_nulls(
                source.values().as_ref(),
                m.value_contains_null,
                &value_column,
                None,
            )?;
            let keys = conform_type(source.keys(), &m.key_type, &key_column, None)?;
            let values = conform_type(source.values(), &m.value_type, &value_column, None)?;
            map_like(source, keys, values, target).map_err(|e| mismatch(column, e))
        }
        (DataType::Primitive(_), _) => cast_exactly(array, &target.to_arrow(), column),
        (_, other) => Err(mismatch(
            column,
            format!("has Arrow type {other} in the data but {target} in the table"),
        )),
    }
}

fn conform_list<O: OffsetSizeTrait>(
    source: &GenericListArray<O>,
    target: &DataType,
    element: &DataType,
    contains_null: bool,
    column: &str,
) -> Result<ArrayRef, TxnError> {
    let element_column = format!("{column}[]");
    check_nulls(
        source.values().as_ref(),
        contains_null,
        &element_column,
        None,
    )?;
    let values = conform_type(source.values(), element, &element_column, None)?;
    list_like(source, values, target).map_err(|e| mismatch(column, e))
}

/// Casts a leaf column to its table type without losing anything: values that
/// do not fit are errors, and timestamps finer than microseconds must be
/// whole microseconds.
fn cast_exactly(array: &ArrayRef, to: &ArrowType, column: &str) -> Result<ArrayRef, TxnError> {
    if array.data_type() == to {
        return Ok(Arc::clone(array));
    }
    if let ArrowType::Timestamp(TimeUnit::Nanosecond, _) = array.data_type() {
        let nanos = cast_with_options(array, &ArrowType::Int64, &CastOptions::default())
            .map_err(|e| mismatch(column, e.to_string()))?;
        let nanos = nanos.as_primitive::<arrow::datatypes::Int64Type>();
        if let Some(row) =
            (0..nanos.len()).find(|&i| nanos.is_valid(i) && nanos.value(i) % 1000 != 0)
        {
            return Err(mismatch(
                column,
                format!(
                    "row {row} has nanoseconds; Delta timestamps hold microseconds and the write would lose them"
                ),
            ));
        }
    }
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(array, to, &options).map_err(|e| {
        mismatch(
            column,
            format!("cannot be written as {to} without loss: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, Int64Array, TimestampNanosecondArray};
    use arrow::datatypes::{Field, Schema};

    fn table() -> StructType {
        StructType::new([
            StructField::new("id", DataType::LONG, false),
            StructField::new("name", DataType::STRING, true),
            StructField::new(
                "s",
                StructType::new([StructField::new("x", DataType::INTEGER, false)]),
                true,
            ),
        ])
    }

    #[test]
    fn reorders_widens_and_fills_missing_columns() {
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("name", ArrowType::LargeUtf8, true),
                Field::new("id", ArrowType::Int32, false),
            ])),
            vec![
                Arc::new(arrow::array::LargeStringArray::from(vec!["a", "b"])),
                Arc::new(Int32Array::from(vec![1, 2])),
            ],
        )
        .unwrap();
        let out = Conformer::new(&table()).conform(&batch).unwrap();
        assert_eq!(out.schema().as_ref(), &table().to_arrow());
        assert_eq!(
            out.column(0)
                .as_primitive::<arrow::datatypes::Int64Type>()
                .values(),
            &[1, 2]
        );
        assert_eq!(out.column(2).null_count(), 2);
    }

    #[test]
    fn nulls_in_non_nullable_columns_are_refused() {
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("id", ArrowType::Int64, true)])),
            vec![Arc::new(Int64Array::from(vec![Some(1), None]))],
        )
        .unwrap();
        let err = Conformer::new(&table()).conform(&batch).unwrap_err();
        assert_eq!(
            err.to_string(),
            "schema mismatch: column 'id': is not nullable but row 1 of the data is null"
        );
        // a nested non-nullable field is fine where its struct is null
        let s = StructArray::try_new(
            Fields::from(vec![Field::new("x", ArrowType::Int32, true)]),
            vec![Arc::new(Int32Array::from(vec![Some(1), None]))],
            Some(NullBuffer::from(vec![true, false])),
        )
        .unwrap();
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("id", ArrowType::Int64, false),
                Field::new("s", s.data_type().clone(), true),
            ])),
            vec![Arc::new(Int64Array::from(vec![1, 2])), Arc::new(s)],
        )
        .unwrap();
        assert!(Conformer::new(&table()).conform(&batch).is_ok());
    }

    #[test]
    fn a_non_nullable_grandchild_may_be_null_under_a_null_grandparent() {
        // g: struct<p: struct<x: int>>, x null in row 1, g valid as `g_valid` says
        let batch = |g_valid: Option<Vec<bool>>| {
            let p = StructArray::try_new_with_length(
                Fields::from(vec![Field::new("x", ArrowType::Int32, true)]),
                vec![Arc::new(Int32Array::from(vec![Some(1), None]))],
                None,
                2,
            )
            .unwrap();
            let g = StructArray::try_new(
                Fields::from(vec![Field::new("p", p.data_type().clone(), true)]),
                vec![Arc::new(p)],
                g_valid.map(NullBuffer::from),
            )
            .unwrap();
            let field = Field::new("g", g.data_type().clone(), true);
            RecordBatch::try_new(Arc::new(Schema::new(vec![field])), vec![Arc::new(g)]).unwrap()
        };
        let nested = |name: &str, child: StructField, nullable: bool| {
            StructField::new(
                name,
                DataType::Struct(Box::new(StructType::new([child]))),
                nullable,
            )
        };
        // the table says x is not null
        let table = StructType::new([nested(
            "g",
            nested("p", StructField::new("x", DataType::INTEGER, false), true),
            true,
        )]);
        // row 1 has g null: x may be null there
        let out = Conformer::new(&table)
            .conform(&batch(Some(vec![true, false])))
            .unwrap();
        assert!(out.column(0).as_struct().is_null(1));
        // where g is valid, the null is refused
        let err = Conformer::new(&table).conform(&batch(None)).unwrap_err();
        assert!(err.to_string().contains("column 'g.p.x'"), "{err}");
    }

    #[test]
    fn nanoseconds_are_not_silently_dropped() {
        let schema = StructType::new([StructField::new("t", DataType::TIMESTAMP_NTZ, true)]);
        let batch = |v: i64| {
            RecordBatch::try_new(
                Arc::new(Schema::new(vec![Field::new(
                    "t",
                    ArrowType::Timestamp(TimeUnit::Nanosecond, None),
                    true,
                )])),
                vec![Arc::new(TimestampNanosecondArray::from(vec![v]))],
            )
            .unwrap()
        };
        assert!(Conformer::new(&schema).conform(&batch(1_000)).is_ok());
        let err = Conformer::new(&schema).conform(&batch(1_001)).unwrap_err();
        assert!(err.to_string().contains("would lose them"), "{err}");
    }
}
