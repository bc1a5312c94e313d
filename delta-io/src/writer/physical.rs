//! The physical form of data written to Parquet: column names under column
//! mapping (physical names at every level of nesting), Parquet field ids in
//! `id` mode, every column nullable (as Spark writes), and the conversion of
//! a batch in the logical Arrow schema to it.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray, MapArray, StructArray};
use arrow::datatypes::{DataType as ArrowType, Field, Fields, Schema};
use arrow::error::ArrowError;
use delta_schema::{DataType, StructField};

use crate::conform::{ColumnMapping, PARQUET_FIELD_ID};

/// The name of a field in data files.
pub(crate) fn file_name(field: &StructField, mapping: ColumnMapping) -> &str {
    match mapping {
        ColumnMapping::None => &field.name,
        ColumnMapping::Name | ColumnMapping::Id => field.physical_name(),
    }
}

/// The Arrow schema of the data files for these (data) fields.
pub(crate) fn physical_schema(fields: &[StructField], mapping: ColumnMapping) -> Schema {
    Schema::new(
        fields
            .iter()
            .map(|f| physical_field(f, mapping))
            .collect::<Vec<_>>(),
    )
}

fn physical_field(field: &StructField, mapping: ColumnMapping) -> Field {
    let mut metadata = HashMap::new();
    if mapping == ColumnMapping::Id
        && let Some(id) = field.column_mapping_id()
    {
        metadata.insert(PARQUET_FIELD_ID.to_string(), id.to_string());
    }
    Field::new(
        file_name(field, mapping),
        physical_type(&field.data_type, mapping),
        true,
    )
    .with_metadata(metadata)
}

fn physical_type(data_type: &DataType, mapping: ColumnMapping) -> ArrowType {
    match data_type {
        DataType::Primitive(_) => data_type.to_arrow(),
        DataType::Struct(s) => ArrowType::Struct(
            s.fields
                .iter()
                .map(|f| physical_field(f, mapping))
                .collect(),
        ),
        DataType::Array(a) => ArrowType::List(Arc::new(Field::new(
            "element",
            physical_type(&a.element_type, mapping),
            true,
        ))),
        DataType::Map(m) => {
            let entries = Fields::from(vec![
                Field::new("key", physical_type(&m.key_type, mapping), false),
                Field::new("value", physical_type(&m.value_type, mapping), true),
            ]);
            ArrowType::Map(
                Arc::new(Field::new("key_value", ArrowType::Struct(entries), false)),
                false,
            )
        }
    }
}

/// Whether an Arrow type of a batch has the layout of the expected logical
/// type: the same types, and the same field names in structs; nullability,
/// field metadata and the names of list and map children do not matter.
pub(crate) fn same_layout(actual: &ArrowType, expected: &ArrowType) -> bool {
    match (actual, expected) {
        (ArrowType::Struct(a), ArrowType::Struct(e)) => {
            a.len() == e.len()
                && a.iter()
                    .zip(e.iter())
                    .all(|(a, e)| a.name() == e.name() && same_layout(a.data_type(), e.data_type()))
        }
        (ArrowType::List(a), ArrowType::List(e)) => same_layout(a.data_type(), e.data_type()),
        (ArrowType::Map(a, _), ArrowType::Map(e, _)) => match (a.data_type(), e.data_type()) {
            (ArrowType::Struct(a), ArrowType::Struct(e)) => {
                a.len() == e.len()
                    && a.iter()
                        .zip(e.iter())
                        .all(|(a, e)| same_layout(a.data_type(), e.data_type()))
            }
            _ => false,
        },
        _ => actual == expected,
    }
}

/// The same values relabelled to `target`, a type of the same layout
/// ([`same_layout`]) with other names, nullability or metadata. Cheap: the
/// buffers are shared.
pub(crate) fn to_physical(array: &ArrayRef, target: &ArrowType) -> Result<ArrayRef, ArrowError> {
    if array.data_type() == target {
        return Ok(Arc::clone(array));
    }
    let mismatch = || {
        ArrowError::SchemaError(format!(
            "cannot write an Arrow {} as {target}",
            array.data_type()
        ))
    };
    match target {
        ArrowType::Struct(fields) => {
            let source = array.as_struct_opt().ok_or_else(mismatch)?;
            struct_to_physical(source, fields).map(|s| Arc::new(s) as ArrayRef)
        }
        ArrowType::List(element) => {
            let source = array.as_list_opt::<i32>().ok_or_else(mismatch)?;
            let values = to_physical(source.values(), element.data_type())?;
            let list = ListArray::try_new(
                Arc::clone(element),
                source.offsets().clone(),
                values,
                source.nulls().cloned(),
            )?;
            Ok(Arc::new(list))
        }
        ArrowType::Map(entries_field, sorted) => {
            let source = array.as_map_opt().ok_or_else(mismatch)?;
            let ArrowType::Struct(entry_fields) = entries_field.data_type() else {
                return Err(mismatch());
            };
            let entries = struct_to_physical(source.entries(), entry_fields)?;
            let map = MapArray::try_new(
                Arc::clone(entries_field),
                source.offsets().clone(),
                entries,
                source.nulls().cloned(),
                *sorted,
            )?;
            Ok(Arc::new(map))
        }
        _ => Err(mismatch()),
    }
}

fn struct_to_physical(source: &StructArray, fields: &Fields) -> Result<StructArray, ArrowError> {
    if source.num_columns() != fields.len() {
        return Err(ArrowError::SchemaError(format!(
            "a struct of {} fields cannot be written as one of {}",
            source.num_columns(),
            fields.len()
        )));
    }
    let children = source
        .columns()
        .iter()
        .zip(fields.iter())
        .map(|(c, f)| to_physical(c, f.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    StructArray::try_new_with_length(
        fields.clone(),
        children,
        source.nulls().cloned(),
        source.len(),
    )
}
