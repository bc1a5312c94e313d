//! Lossless conversion between Delta schemas and Arrow schemas.
//!
//! Delta to Arrow picks one canonical Arrow type per Delta type; Arrow to Delta
//! also accepts the other encodings of the same values (large/view strings,
//! dictionaries, any timestamp unit) and safe unsigned widenings.
//!
//! Field metadata travels in the Arrow field's metadata: string values as they
//! are, other JSON values as JSON text, with their keys listed under
//! [`JSON_METADATA_KEYS`] so that the way back restores the exact values.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType as ArrowType, Field, Fields, Schema, TimeUnit};
use serde_json::Value;

use crate::{ArrayType, DataType, MapType, PrimitiveType, SchemaError, StructField, StructType};

/// Arrow metadata key listing (as a JSON array) the metadata keys whose values
/// are JSON text rather than plain strings.
pub const JSON_METADATA_KEYS: &str = "delta.schema.jsonMetadataKeys";
/// Arrow extension-name key, used to mark variant columns.
pub const ARROW_EXTENSION_NAME: &str = "ARROW:extension:name";
/// Extension name of unshredded variant columns.
pub const VARIANT_EXTENSION: &str = "arrow.parquet.variant";
/// Time zone of Arrow timestamps for Delta `timestamp`.
pub const UTC: &str = "UTC";

impl StructType {
    /// The Arrow schema of this Delta schema.
    pub fn to_arrow(&self) -> Schema {
        Schema::new(self.fields.iter().map(field_to_arrow).collect::<Vec<_>>())
    }

    /// The Delta schema of an Arrow schema.
    pub fn from_arrow(schema: &Schema) -> Result<Self, SchemaError> {
        fields_from_arrow(schema.fields(), "")
    }
}

impl DataType {
    /// The canonical Arrow type of this Delta type.
    pub fn to_arrow(&self) -> ArrowType {
        type_to_arrow(self)
    }
}

impl StructField {
    /// The Arrow field of this Delta field (same name, type, nullability and metadata).
    pub fn to_arrow(&self) -> Field {
        field_to_arrow(self)
    }
}

fn field_to_arrow(f: &StructField) -> Field {
    let mut metadata = HashMap::new();
    let mut json_keys = Vec::new();
    for (k, v) in &f.metadata {
        match v {
            Value::String(s) => {
                metadata.insert(k.clone(), s.clone());
            }
            other => {
                metadata.insert(k.clone(), other.to_string());
                json_keys.push(Value::String(k.clone()));
            }
        }
    }
    if !json_keys.is_empty() {
        metadata.insert(
            JSON_METADATA_KEYS.to_string(),
            Value::Array(json_keys).to_string(),
        );
    }
    if f.data_type == DataType::Primitive(PrimitiveType::Variant) {
        metadata.insert(
            ARROW_EXTENSION_NAME.to_string(),
            VARIANT_EXTENSION.to_string(),
        );
    }
    Field::new(&f.name, type_to_arrow(&f.data_type), f.nullable).with_metadata(metadata)
}

fn variant_arrow_type() -> ArrowType {
    ArrowType::Struct(Fields::from(vec![
        Field::new("metadata", ArrowType::Binary, false),
        Field::new("value", ArrowType::Binary, false),
    ]))
}

fn type_to_arrow(t: &DataType) -> ArrowType {
    match t {
        DataType::Primitive(p) => match p {
            PrimitiveType::String => ArrowType::Utf8,
            PrimitiveType::Long => ArrowType::Int64,
            PrimitiveType::Integer => ArrowType::Int32,
            PrimitiveType::Short => ArrowType::Int16,
            PrimitiveType::Byte => ArrowType::Int8,
            PrimitiveType::Float => ArrowType::Float32,
            PrimitiveType::Double => ArrowType::Float64,
            PrimitiveType::Boolean => ArrowType::Boolean,
            PrimitiveType::Binary => ArrowType::Binary,
            PrimitiveType::Date => ArrowType::Date32,
            PrimitiveType::Timestamp => {
                ArrowType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()))
            }
            PrimitiveType::TimestampNtz => ArrowType::Timestamp(TimeUnit::Microsecond, None),
            PrimitiveType::Decimal { precision, scale } => {
                // scale <= precision <= 38 always fits i8.
                ArrowType::Decimal128(*precision, *scale as i8)
            }
            PrimitiveType::Variant => variant_arrow_type(),
            PrimitiveType::Void => ArrowType::Null,
        },
        DataType::Struct(s) => ArrowType::Struct(s.fields.iter().map(field_to_arrow).collect()),
        DataType::Array(a) => ArrowType::List(Arc::new(element_field(
            "element",
            &a.element_type,
            a.contains_null,
        ))),
        DataType::Map(m) => {
            let entries = Fields::from(vec![
                element_field("key", &m.key_type, false),
                element_field("value", &m.value_type, m.value_contains_null),
            ]);
            ArrowType::Map(
                Arc::new(Field::new("key_value", ArrowType::Struct(entries), false)),
                false,
            )
        }
    }
}

/// A list element or map key/value field: no Delta metadata, but variants keep their mark.
fn element_field(name: &str, t: &DataType, nullable: bool) -> Field {
    let field = Field::new(name, type_to_arrow(t), nullable);
    if *t == DataType::Primitive(PrimitiveType::Variant) {
        field.with_metadata(HashMap::from([(
            ARROW_EXTENSION_NAME.to_string(),
            VARIANT_EXTENSION.to_string(),
        )]))
    } else {
        field
    }
}

fn child_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

fn fields_from_arrow(fields: &Fields, parent: &str) -> Result<StructType, SchemaError> {
    let fields = fields
        .iter()
        .map(|f| field_from_arrow(f, &child_path(parent, f.name())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(StructType { fields })
}

fn field_from_arrow(f: &Field, path: &str) -> Result<StructField, SchemaError> {
    let arrow_meta = f.metadata();
    let json_keys: Vec<String> = match arrow_meta.get(JSON_METADATA_KEYS) {
        None => Vec::new(),
        Some(text) => serde_json::from_str(text).map_err(|e| SchemaError::BadArrowMetadata {
            column: path.to_string(),
            key: JSON_METADATA_KEYS.to_string(),
            reason: e.to_string(),
        })?,
    };
    let mut metadata = serde_json::Map::new();
    for (k, v) in arrow_meta {
        if k == JSON_METADATA_KEYS || k == ARROW_EXTENSION_NAME {
            continue;
        }
        let value = if json_keys.iter().any(|j| j == k) {
            serde_json::from_str(v).map_err(|e| SchemaError::BadArrowMetadata {
                column: path.to_string(),
                key: k.clone(),
                reason: e.to_string(),
            })?
        } else {
            Value::String(v.clone())
        };
        metadata.insert(k.clone(), value);
    }
    Ok(StructField {
        name: f.name().clone(),
        data_type: type_from_arrow(f, path)?,
        nullable: f.is_nullable(),
        metadata,
    })
}

fn is_variant(f: &Field) -> bool {
    f.metadata().get(ARROW_EXTENSION_NAME).map(String::as_str) == Some(VARIANT_EXTENSION)
}

fn type_from_arrow(f: &Field, path: &str) -> Result<DataType, SchemaError> {
    if is_variant(f) {
        return Ok(PrimitiveType::Variant.into());
    }
    arrow_type_to_delta(f.data_type(), path)
}

fn arrow_type_to_delta(t: &ArrowType, path: &str) -> Result<DataType, SchemaError> {
    use PrimitiveType as P;
    let unsupported = || SchemaError::UnsupportedArrowType {
        column: path.to_string(),
        arrow_type: t.to_string(),
    };
    let p = match t {
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View => P::String,
        ArrowType::Int64 | ArrowType::UInt32 => P::Long,
        ArrowType::Int32 | ArrowType::UInt16 => P::Integer,
        ArrowType::Int16 | ArrowType::UInt8 => P::Short,
        ArrowType::Int8 => P::Byte,
        ArrowType::Float32 | ArrowType::Float16 => P::Float,
        ArrowType::Float64 => P::Double,
        ArrowType::Boolean => P::Boolean,
        ArrowType::Binary
        | ArrowType::LargeBinary
        | ArrowType::BinaryView
        | ArrowType::FixedSizeBinary(_) => P::Binary,
        ArrowType::Date32 | ArrowType::Date64 => P::Date,
        ArrowType::Timestamp(_, Some(_)) => P::Timestamp,
        ArrowType::Timestamp(_, None) => P::TimestampNtz,
        ArrowType::Decimal32(p, s)
        | ArrowType::Decimal64(p, s)
        | ArrowType::Decimal128(p, s)
        | ArrowType::Decimal256(p, s) => {
            let scale = u8::try_from(*s).map_err(|_| unsupported())?;
            P::decimal(*p, scale).map_err(|_| unsupported())?
        }
        ArrowType::Null => P::Void,
        ArrowType::Dictionary(_, value) => return arrow_type_to_delta(value, path),
        ArrowType::Struct(fields) => return Ok(fields_from_arrow(fields, path)?.into()),
        ArrowType::List(e)
        | ArrowType::LargeList(e)
        | ArrowType::ListView(e)
        | ArrowType::LargeListView(e)
        | ArrowType::FixedSizeList(e, _) => {
            let element = type_from_arrow(e, &format!("{path}[]"))?;
            return Ok(ArrayType::new(element, e.is_nullable()).into());
        }
        ArrowType::Map(entries, _) => {
            let ArrowType::Struct(kv) = entries.data_type() else {
                return Err(unsupported());
            };
            let [k, v] = kv.iter().collect::<Vec<_>>()[..] else {
                return Err(unsupported());
            };
            let key = type_from_arrow(k, &format!("{path}.key"))?;
            let value = type_from_arrow(v, &format!("{path}.value"))?;
            return Ok(MapType::new(key, value, v.is_nullable()).into());
        }
        _ => return Err(unsupported()),
    };
    Ok(p.into())
}
