//! Bringing a data file's columns to the table's logical schema: find each
//! column by its physical name or field id (column mapping), rename nested
//! fields to their logical names, fill columns the file lacks with nulls, and
//! upcast types the table has widened.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, GenericListArray, ListArray, MapArray, OffsetSizeTrait, StructArray,
    new_null_array,
};
use arrow::buffer::OffsetBuffer;
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType as ArrowType, Field, FieldRef, Fields};
use delta_schema::{DataType, PrimitiveType, StructField, StructType};

use crate::IoError;
pub use delta_log::ColumnMapping;

/// Arrow field metadata key where the Parquet reader puts field ids.
pub const PARQUET_FIELD_ID: &str = "PARQUET:field_id";

/// Whether an Arrow field of a file is the column of this Delta field under
/// a column mapping mode.
pub fn column_matches(mapping: ColumnMapping, file_field: &Field, field: &StructField) -> bool {
    match mapping {
        ColumnMapping::None => file_field.name() == &field.name,
        ColumnMapping::Name => file_field.name() == field.physical_name(),
        ColumnMapping::Id => match field.column_mapping_id() {
            Some(id) => {
                file_field
                    .metadata()
                    .get(PARQUET_FIELD_ID)
                    .and_then(|v| v.parse::<i64>().ok())
                    == Some(id)
            }
            None => file_field.name() == field.physical_name(),
        },
    }
}

/// Context for error messages.
pub(crate) struct Ctx<'a> {
    pub path: &'a str,
    pub mapping: ColumnMapping,
}

impl Ctx<'_> {
    fn err(&self, column: &str, reason: impl ToString) -> IoError {
        IoError::Column {
            path: self.path.to_string(),
            column: column.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// The file's column for a Delta field, among the fields of a file struct.
pub(crate) fn find_column<'f>(
    fields: &'f Fields,
    field: &StructField,
    mapping: ColumnMapping,
) -> Option<(usize, &'f FieldRef)> {
    fields
        .iter()
        .enumerate()
        .find(|(_, f)| column_matches(mapping, f, field))
}

/// Conforms one array of a file to the Delta type `target` (logical Arrow type).
pub(crate) fn conform(
    array: &ArrayRef,
    target: &DataType,
    column: &str,
    ctx: &Ctx<'_>,
) -> Result<ArrayRef, IoError> {
    match target {
        DataType::Struct(s) => {
            let source = array.as_struct_opt().ok_or_else(|| {
                ctx.err(
                    column,
                    format!("expected a struct, found {}", array.data_type()),
                )
            })?;
            conform_struct(source, s, column, ctx)
        }
        DataType::Primitive(PrimitiveType::Variant) => {
            let source = array.as_struct_opt().ok_or_else(|| {
                ctx.err(
                    column,
                    format!("expected a variant struct, found {}", array.data_type()),
                )
            })?;
            let child = |name: &str| {
                source
                    .column_by_name(name)
                    .cloned()
                    .ok_or_else(|| ctx.err(column, format!("variant without '{name}'")))
            };
            let ArrowType::Struct(fields) = target.to_arrow() else {
                return Err(ctx.err(column, "variant must map to a struct"));
            };
            let children = vec![
                cast(&child("metadata")?, &ArrowType::Binary, column, ctx)?,
                cast(&child("value")?, &ArrowType::Binary, column, ctx)?,
            ];
            build_struct(fields, children, source, column, ctx)
        }
        DataType::Primitive(PrimitiveType::Void) => {
            Ok(new_null_array(&ArrowType::Null, array.len()))
        }
        DataType::Primitive(_) => cast(array, &target.to_arrow(), column, ctx),
        DataType::Array(a) => {
            let element_column = format!("{column}[]");
            match array.data_type() {
                ArrowType::List(_) => conform_list(
                    array.as_list::<i32>(),
                    &a.element_type,
                    target,
                    &element_column,
                    ctx,
                ),
                ArrowType::LargeList(_) => conform_list(
                    array.as_list::<i64>(),
                    &a.element_type,
                    target,
                    &element_column,
                    ctx,
                ),
                other => Err(ctx.err(column, format!("expected a list, found {other}"))),
            }
        }
        DataType::Map(m) => {
            let source = array.as_map_opt().ok_or_else(|| {
                ctx.err(
                    column,
                    format!("expected a map, found {}", array.data_type()),
                )
            })?;
            let keys = conform(source.keys(), &m.key_type, &format!("{column}.key"), ctx)?;
            let values = conform(
                source.values(),
                &m.value_type,
                &format!("{column}.value"),
                ctx,
            )?;
            map_like(source, keys, values, target).map_err(|e| ctx.err(column, e))
        }
    }
}

fn conform_list<O: OffsetSizeTrait>(
    source: &GenericListArray<O>,
    element: &DataType,
    target: &DataType,
    column: &str,
    ctx: &Ctx<'_>,
) -> Result<ArrayRef, IoError> {
    let values = conform(source.values(), element, column, ctx)?;
    list_like(source, values, target).map_err(|e| ctx.err(column, e))
}

/// A list with the offsets and nulls of `source` around new `values`, typed
/// as the Arrow list of the Delta array type `target`.
pub fn list_like<O: OffsetSizeTrait>(
    source: &GenericListArray<O>,
    values: ArrayRef,
    target: &DataType,
) -> Result<ArrayRef, String> {
    let ArrowType::List(element_field) = target.to_arrow() else {
        return Err(format!("{target} is not an array type"));
    };
    let offsets: Vec<i32> = source
        .offsets()
        .iter()
        .map(|o| i32::try_from(o.as_usize()))
        .collect::<Result<_, _>>()
        .map_err(|_| "list too large".to_string())?;
    let list = ListArray::try_new(
        element_field,
        OffsetBuffer::new(offsets.into()),
        values,
        source.nulls().cloned(),
    )
    .map_err(|e| e.to_string())?;
    Ok(Arc::new(list))
}

/// A map with the offsets and nulls of `source` around new `keys` and
/// `values`, typed as the Arrow map of the Delta map type `target`.
pub fn map_like(
    source: &MapArray,
    keys: ArrayRef,
    values: ArrayRef,
    target: &DataType,
) -> Result<ArrayRef, String> {
    let ArrowType::Map(entries_field, sorted) = target.to_arrow() else {
        return Err(format!("{target} is not a map type"));
    };
    let ArrowType::Struct(entry_fields) = entries_field.data_type() else {
        return Err("map entries must be a struct".to_string());
    };
    let entries = StructArray::try_new(entry_fields.clone(), vec![keys, values], None)
        .map_err(|e| e.to_string())?;
    let map = MapArray::try_new(
        entries_field,
        source.offsets().clone(),
        entries,
        source.nulls().cloned(),
        sorted,
    )
    .map_err(|e| e.to_string())?;
    Ok(Arc::new(map))
}

/// Conforms a file struct to a Delta struct, field by field.
pub(crate) fn conform_struct(
    source: &StructArray,
    target: &StructType,
    column: &str,
    ctx: &Ctx<'_>,
) -> Result<ArrayRef, IoError> {
    let mut children = Vec::with_capacity(target.fields.len());
    for field in &target.fields {
        let child_column = format!("{column}.{}", field.name);
        let child = match find_column(source.fields(), field, ctx.mapping) {
            Some((i, _)) => conform(source.column(i), &field.data_type, &child_column, ctx)?,
            None => new_null_array(&field.data_type.to_arrow(), source.len()),
        };
        children.push(child);
    }
    let fields: Fields = target.fields.iter().map(StructField::to_arrow).collect();
    build_struct(fields, children, source, column, ctx)
}

fn build_struct(
    fields: Fields,
    children: Vec<ArrayRef>,
    source: &StructArray,
    column: &str,
    ctx: &Ctx<'_>,
) -> Result<ArrayRef, IoError> {
    let array = StructArray::try_new(fields, children, source.nulls().cloned())
        .map_err(|e| ctx.err(column, e))?;
    Ok(Arc::new(array))
}

/// Casts a leaf column to its table type; values that do not fit are errors.
fn cast(
    array: &ArrayRef,
    to: &ArrowType,
    column: &str,
    ctx: &Ctx<'_>,
) -> Result<ArrayRef, IoError> {
    if array.data_type() == to {
        return Ok(Arc::clone(array));
    }
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(array, to, &options).map_err(|e| {
        ctx.err(
            column,
            format!("cannot read {} as {to}: {e}", array.data_type()),
        )
    })
}
