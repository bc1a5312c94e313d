//! Schema enforcement and evolution for writes: does the schema of incoming
//! data fit the table, and if it does not, may the table evolve to take it?
//!
//! Pure code over schemas. Rules (as Delta on Spark):
//! - every data column must exist in the table, unless `merge_schema` adds it
//!   (new columns, top level or nested in structs, are added as nullable);
//! - a table column missing from the data is written as null, which is only
//!   allowed when it is nullable (checked again per row by the writer);
//! - types must match, except the widenings Delta applies on write (a narrower
//!   integer into a wider one, float into double); no lossy cast is ever implied;
//! - names are compared case-insensitively, as Delta does; a data column whose
//!   name differs from its table column only by case, or two data columns that
//!   differ only by case, are refused, so nothing is silently renamed.

use arrow_schema::{DataType as ArrowType, Field, Fields, Schema};

use crate::{ArrayType, DataType, MapType, PrimitiveType, SchemaError, StructField, StructType};

/// How a write may change the table schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteSchemaOptions {
    /// Add the data's new columns to the table (`mergeSchema`).
    pub merge_schema: bool,
    /// With `merge_schema`: widen column types to the data's where Delta
    /// widens automatically (the table has type widening enabled).
    pub type_widening: bool,
}

/// The outcome of checking a write's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteSchema {
    /// The table schema after the write (the old one, or the merged one).
    pub table_schema: StructType,
    /// Whether the write changes the table schema.
    pub changed: bool,
}

fn mismatch(column: &str, reason: impl Into<String>) -> SchemaError {
    SchemaError::WriteMismatch {
        column: column.to_string(),
        reason: reason.into(),
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// Checks that data with Arrow schema `data` can be written to a table with
/// schema `table`, and gives the table schema after the write.
pub fn check_write_schema(
    table: &StructType,
    data: &Schema,
    options: WriteSchemaOptions,
) -> Result<WriteSchema, SchemaError> {
    let merged = check_struct(table, data.fields(), "", options)?;
    let changed = &merged != table;
    Ok(WriteSchema {
        table_schema: merged,
        changed,
    })
}

fn check_struct(
    table: &StructType,
    data: &Fields,
    parent: &str,
    options: WriteSchemaOptions,
) -> Result<StructType, SchemaError> {
    // duplicate names (ignoring case) in the data
    for (i, f) in data.iter().enumerate() {
        if let Some(other) = data
            .iter()
            .skip(i + 1)
            .find(|o| o.name().eq_ignore_ascii_case(f.name()))
        {
            return Err(mismatch(
                &join(parent, f.name()),
                format!(
                    "the data has columns '{}' and '{}', which differ only by case",
                    f.name(),
                    other.name()
                ),
            ));
        }
    }
    let mut out = table.clone();
    for field in data.iter() {
        let column = join(parent, field.name());
        match table
            .fields
            .iter()
            .position(|t| t.name.eq_ignore_ascii_case(field.name()))
        {
            Some(i) => {
                let t = &table.fields[i];
                if &t.name != field.name() {
                    return Err(mismatch(
                        &column,
                        format!(
                            "differs from table column '{}' only by case; use the table's spelling",
                            join(parent, &t.name)
                        ),
                    ));
                }
                let merged = check_type(&t.data_type, field, &column, options)?;
                if let (DataType::Primitive(from), DataType::Primitive(to)) =
                    (&t.data_type, &merged)
                    && from != to
                {
                    record_type_change(&mut out.fields[i], *from, *to);
                }
                out.fields[i].data_type = merged;
            }
            None if options.merge_schema => {
                let added = new_field(field, &column)?;
                out.fields.push(added);
            }
            None => {
                return Err(mismatch(
                    &column,
                    "is not in the table schema (enable schema merging to add it)",
                ));
            }
        }
    }
    for t in &table.fields {
        let present = data.iter().any(|f| f.name().eq_ignore_ascii_case(&t.name));
        if !present && !t.nullable {
            return Err(mismatch(
                &join(parent, &t.name),
                "is not nullable but the data does not have it",
            ));
        }
    }
    Ok(out)
}

/// The table schema with the columns of `source` it does not have added
/// (as nullable, at the end of their struct), at the top level and inside
/// struct columns both have: what MERGE's `UPDATE SET *` and `INSERT *`
/// evolve the table to under schema merging. The types of existing columns
/// are kept; a source column whose name differs from a table column only by
/// case is refused, so nothing is silently renamed or doubled.
pub fn add_source_columns(
    table: &StructType,
    source: &StructType,
) -> Result<StructType, SchemaError> {
    add_fields(table, source, "")
}

fn add_fields(
    table: &StructType,
    source: &StructType,
    parent: &str,
) -> Result<StructType, SchemaError> {
    let mut out = table.clone();
    for field in &source.fields {
        let column = join(parent, &field.name);
        match out
            .fields
            .iter_mut()
            .find(|t| t.name.eq_ignore_ascii_case(&field.name))
        {
            Some(existing) if existing.name != field.name => {
                return Err(mismatch(
                    &column,
                    format!(
                        "differs from table column '{}' only by case; use the table's spelling",
                        join(parent, &existing.name)
                    ),
                ));
            }
            Some(existing) => {
                if let (DataType::Struct(t), DataType::Struct(s)) =
                    (&existing.data_type, &field.data_type)
                {
                    existing.data_type = add_fields(t, s, &column)?.into();
                }
            }
            None => out.fields.push(StructField::new(
                field.name.clone(),
                field.data_type.clone(),
                true,
            )),
        }
    }
    Ok(out)
}

/// A field of the data that the table does not have yet: added as nullable.
fn new_field(field: &Field, column: &str) -> Result<StructField, SchemaError> {
    Ok(StructField::new(
        field.name(),
        delta_type_of(field, column)?,
        true,
    ))
}

/// Checks one column's type; gives the (possibly merged) table type.
fn check_type(
    table: &DataType,
    data: &Field,
    column: &str,
    options: WriteSchemaOptions,
) -> Result<DataType, SchemaError> {
    let data_type = data.data_type();
    match (table, data_type) {
        (DataType::Struct(t), ArrowType::Struct(fields)) => {
            Ok(check_struct(t, fields, column, options)?.into())
        }
        (DataType::Array(t), ArrowType::List(e) | ArrowType::LargeList(e)) => {
            let element = check_type(&t.element_type, e, &format!("{column}[]"), options)?;
            Ok(ArrayType::new(element, t.contains_null).into())
        }
        (DataType::Map(t), ArrowType::Map(entries, _)) => {
            let ArrowType::Struct(kv) = entries.data_type() else {
                return Err(mismatch(column, "map entries must be a struct"));
            };
            let (Some(k), Some(v)) = (kv.first(), kv.get(1)) else {
                return Err(mismatch(column, "map entries must have a key and a value"));
            };
            let key = check_type(&t.key_type, k, &format!("{column}.key"), options)?;
            let value = check_type(&t.value_type, v, &format!("{column}.value"), options)?;
            Ok(MapType::new(key, value, t.value_contains_null).into())
        }
        (DataType::Primitive(p), _) => {
            let given = delta_type_of(data, column)?;
            match &given {
                DataType::Primitive(g) if g == p || implicit_widening(*g, *p) => Ok(table.clone()),
                DataType::Primitive(g)
                    if options.merge_schema
                        && options.type_widening
                        && automatic_type_widening(*p, *g) =>
                {
                    Ok(given.clone())
                }
                // an all-null column of the data fits any type
                DataType::Primitive(PrimitiveType::Void) => Ok(table.clone()),
                _ => Err(mismatch(
                    column,
                    format!("has type {given} in the data but {table} in the table"),
                )),
            }
        }
        _ => Err(mismatch(
            column,
            format!(
                "has type {} in the data but {table} in the table",
                delta_type_of(data, column)?
            ),
        )),
    }
}

/// The Delta type of an Arrow field of the data.
fn delta_type_of(field: &Field, column: &str) -> Result<DataType, SchemaError> {
    let mut s = StructType::from_arrow(&Schema::new(vec![field.clone()]))
        .map_err(|e| mismatch(column, e.to_string()))?;
    Ok(s.fields.remove(0).data_type)
}

/// Type changes the type widening feature allows (PROTOCOL.md §"Type
/// Widening"): integers to wider integers, to `double` and to decimals wide
/// enough; `float` to `double`; `date` to `timestamp_ntz`; decimals to
/// decimals with at least as many digits before and after the point.
pub fn type_widening_allowed(from: PrimitiveType, to: PrimitiveType) -> bool {
    use PrimitiveType as P;
    let integer_digits = |p: PrimitiveType| match p {
        P::Byte | P::Short | P::Integer => Some(10),
        P::Long => Some(20),
        _ => None,
    };
    match (from, to) {
        (
            P::Decimal {
                precision: p1,
                scale: s1,
            },
            P::Decimal {
                precision: p2,
                scale: s2,
            },
        ) => s2 >= s1 && p2 - s2 >= p1 - s1 && (from != to),
        (P::Byte | P::Short | P::Integer | P::Long, P::Decimal { precision, scale }) => {
            integer_digits(from).is_some_and(|d| precision - scale >= d)
        }
        (P::Byte | P::Short | P::Integer, P::Double) => true,
        (P::Date, P::TimestampNtz) => true,
        _ => implicit_widening(from, to),
    }
}

/// The type changes schema evolution applies by itself (integer to decimal
/// or double must be asked for explicitly, as in Delta).
pub fn automatic_type_widening(from: PrimitiveType, to: PrimitiveType) -> bool {
    use PrimitiveType as P;
    type_widening_allowed(from, to)
        && !matches!(
            (from, to),
            (
                P::Byte | P::Short | P::Integer | P::Long,
                P::Decimal { .. } | P::Double
            )
        )
}

/// Appends `{fromType, toType}` to the field's `delta.typeChanges`.
pub fn record_type_change(field: &mut StructField, from: PrimitiveType, to: PrimitiveType) {
    let change = serde_json::json!({"fromType": from.to_string(), "toType": to.to_string()});
    match field.metadata.get_mut(crate::TYPE_CHANGES) {
        Some(serde_json::Value::Array(changes)) => changes.push(change),
        _ => {
            field.metadata.insert(
                crate::TYPE_CHANGES.to_string(),
                serde_json::Value::Array(vec![change]),
            );
        }
    }
}

/// Widenings Delta applies on write without a schema change.
pub fn implicit_widening(from: PrimitiveType, to: PrimitiveType) -> bool {
    use PrimitiveType as P;
    matches!(
        (from, to),
        (P::Byte, P::Short | P::Integer | P::Long)
            | (P::Short, P::Integer | P::Long)
            | (P::Integer, P::Long)
            | (P::Float, P::Double)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::TimeUnit;

    fn table() -> StructType {
        StructType::new([
            StructField::new("id", DataType::LONG, false),
            StructField::new("name", DataType::STRING, true),
            StructField::new(
                "address",
                StructType::new([
                    StructField::new("city", DataType::STRING, true),
                    StructField::new("zip", DataType::INTEGER, true),
                ]),
                true,
            ),
        ])
    }

    fn address(fields: Vec<Field>) -> Field {
        Field::new("address", ArrowType::Struct(Fields::from(fields)), true)
    }

    fn check(data: Vec<Field>, merge: bool) -> Result<WriteSchema, String> {
        check_write_schema(
            &table(),
            &Schema::new(data),
            WriteSchemaOptions {
                merge_schema: merge,
                type_widening: false,
            },
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn type_widening_changes_types_and_records_them() {
        let widen = |data: Vec<Field>| {
            check_write_schema(
                &table(),
                &Schema::new(data),
                WriteSchemaOptions {
                    merge_schema: true,
                    type_widening: true,
                },
            )
        };
        let ws = widen(vec![
            Field::new("id", ArrowType::Int64, false),
            address(vec![Field::new("zip", ArrowType::Int64, true)]),
        ])
        .unwrap();
        let merged = ws
            .table_schema
            .field("address")
            .unwrap()
            .data_type
            .as_struct()
            .unwrap();
        let zip = merged.field("zip").unwrap();
        assert_eq!(zip.data_type, DataType::LONG);
        assert_eq!(
            zip.metadata[crate::TYPE_CHANGES],
            serde_json::json!([{"fromType": "integer", "toType": "long"}])
        );
        // integer to double is never automatic
        let err = widen(vec![address(vec![Field::new(
            "zip",
            ArrowType::Float64,
            true,
        )])]);
        assert!(err.is_err());
        use PrimitiveType as P;
        assert!(type_widening_allowed(P::Integer, P::Double));
        assert!(type_widening_allowed(P::Date, P::TimestampNtz));
        assert!(type_widening_allowed(
            P::Decimal {
                precision: 10,
                scale: 1
            },
            P::Decimal {
                precision: 12,
                scale: 3
            }
        ));
        assert!(!type_widening_allowed(
            P::Decimal {
                precision: 10,
                scale: 1
            },
            P::Decimal {
                precision: 11,
                scale: 3
            }
        ));
        assert!(type_widening_allowed(
            P::Long,
            P::Decimal {
                precision: 20,
                scale: 0
            }
        ));
        assert!(!type_widening_allowed(
            P::Long,
            P::Decimal {
                precision: 19,
                scale: 0
            }
        ));
        assert!(!type_widening_allowed(P::Long, P::Integer));
    }

    #[test]
    fn exact_and_subset_schemas_fit() {
        let ws = check(
            vec![
                Field::new("id", ArrowType::Int64, false),
                Field::new("name", ArrowType::Utf8, true),
            ],
            false,
        )
        .unwrap();
        assert!(!ws.changed);
        // narrower integers widen implicitly
        assert!(check(vec![Field::new("id", ArrowType::Int32, true)], false).is_ok());
    }

    #[test]
    fn rejections_name_the_column_and_the_reason() {
        let cases = [
            (
                vec![Field::new("name", ArrowType::Utf8, true)],
                "column 'id': is not nullable but the data does not have it",
            ),
            (
                vec![
                    Field::new("id", ArrowType::Int64, false),
                    Field::new("extra", ArrowType::Utf8, true),
                ],
                "column 'extra': is not in the table schema (enable schema merging to add it)",
            ),
            (
                vec![Field::new("id", ArrowType::Utf8, false)],
                "column 'id': has type string in the data but long in the table",
            ),
            (
                vec![
                    Field::new("id", ArrowType::Int64, false),
                    Field::new(
                        "name",
                        ArrowType::Timestamp(TimeUnit::Microsecond, None),
                        true,
                    ),
                ],
                "column 'name': has type timestamp_ntz in the data but string in the table",
            ),
            (
                vec![
                    Field::new("id", ArrowType::Int64, false),
                    address(vec![Field::new("zip", ArrowType::Int64, true)]),
                ],
                "column 'address.zip': has type long in the data but integer in the table",
            ),
            (
                vec![
                    Field::new("id", ArrowType::Int64, false),
                    address(vec![Field::new("street", ArrowType::Utf8, true)]),
                ],
                "column 'address.street': is not in the table schema",
            ),
            (
                vec![Field::new("ID", ArrowType::Int64, false)],
                "column 'ID': differs from table column 'id' only by case",
            ),
            (
                vec![
                    Field::new("id", ArrowType::Int64, false),
                    Field::new("Name", ArrowType::Utf8, true),
                    Field::new("NAME", ArrowType::Utf8, true),
                ],
                "the data has columns 'Name' and 'NAME', which differ only by case",
            ),
            (
                vec![
                    Field::new("id", ArrowType::Int64, false),
                    Field::new("address", ArrowType::Utf8, true),
                ],
                "column 'address': has type string in the data but struct<city:string,zip:integer> in the table",
            ),
        ];
        for (data, want) in cases {
            let err = check(data, false).unwrap_err();
            assert!(err.contains(want), "got '{err}', want '{want}'");
        }
        // lossy: long into integer is not implied
        assert!(!implicit_widening(
            PrimitiveType::Long,
            PrimitiveType::Integer
        ));
        assert!(!implicit_widening(
            PrimitiveType::Double,
            PrimitiveType::Float
        ));
    }

    #[test]
    fn add_source_columns_adds_missing_columns_at_any_depth() {
        let source = StructType::new([
            StructField::new("id", DataType::LONG, false),
            StructField::new("extra", DataType::STRING, false),
            StructField::new(
                "address",
                StructType::new([
                    StructField::new("zip", DataType::INTEGER, true),
                    StructField::new("street", DataType::STRING, false),
                ]),
                true,
            ),
        ]);
        let merged = add_source_columns(&table(), &source).unwrap();
        assert_eq!(
            merged.field_names().collect::<Vec<_>>(),
            ["id", "name", "address", "extra"]
        );
        assert!(merged.field("extra").is_some_and(|f| f.nullable));
        let DataType::Struct(address) = &merged.field("address").unwrap().data_type else {
            panic!("address is not a struct");
        };
        assert_eq!(
            address.field_names().collect::<Vec<_>>(),
            ["city", "zip", "street"]
        );
        assert!(address.field("street").is_some_and(|f| f.nullable));
        // nothing new: the same schema
        assert_eq!(add_source_columns(&table(), &table()).unwrap(), table());
        let shouting = StructType::new([StructField::new("NAME", DataType::STRING, true)]);
        let err = add_source_columns(&table(), &shouting)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("NAME") && err.contains("only by case"),
            "{err}"
        );
    }

    #[test]
    fn merge_schema_adds_nullable_columns_at_any_depth() {
        let ws = check(
            vec![
                Field::new("id", ArrowType::Int64, false),
                Field::new("score", ArrowType::Float64, false),
                address(vec![Field::new("street", ArrowType::Utf8, false)]),
            ],
            true,
        )
        .unwrap();
        assert!(ws.changed);
        let s = &ws.table_schema;
        assert_eq!(
            s.field_names().collect::<Vec<_>>(),
            ["id", "name", "address", "score"]
        );
        assert!(s.field("score").unwrap().nullable);
        let address = s.field("address").unwrap().data_type.as_struct().unwrap();
        assert_eq!(
            address.field_names().collect::<Vec<_>>(),
            ["city", "zip", "street"]
        );
        assert!(address.field("street").unwrap().nullable);
        // merging does not allow a type change
        assert!(check(vec![Field::new("id", ArrowType::Utf8, false)], true).is_err());
        // nor a case clash
        assert!(check(vec![Field::new("Id", ArrowType::Int64, false)], true).is_err());
    }
}
