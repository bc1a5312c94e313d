//! The Delta schema model: the types of PROTOCOL.md §"Schema Serialization Format".

use std::fmt;

use serde_json::{Map, Value};

use crate::SchemaError;

/// Field metadata: arbitrary JSON values keyed by name, as the protocol stores
/// them (column mapping ids and physical names, `delta.typeChanges`, comments...).
pub type FieldMetadata = Map<String, Value>;

/// Metadata key holding a column's physical name under column mapping.
pub const COLUMN_MAPPING_PHYSICAL_NAME: &str = "delta.columnMapping.physicalName";
/// Metadata key holding a column's id under column mapping.
pub const COLUMN_MAPPING_ID: &str = "delta.columnMapping.id";
/// Metadata key holding the type-change history written by type widening.
pub const TYPE_CHANGES: &str = "delta.typeChanges";

/// Largest precision a Delta decimal may have.
pub const MAX_DECIMAL_PRECISION: u8 = 38;

/// A primitive (non-nested) Delta type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrimitiveType {
    /// `string`: UTF-8 text.
    String,
    /// `long`: 8-byte signed integer.
    Long,
    /// `integer`: 4-byte signed integer.
    Integer,
    /// `short`: 2-byte signed integer.
    Short,
    /// `byte`: 1-byte signed integer.
    Byte,
    /// `float`: 4-byte IEEE 754 floating point.
    Float,
    /// `double`: 8-byte IEEE 754 floating point.
    Double,
    /// `boolean`.
    Boolean,
    /// `binary`: a byte string.
    Binary,
    /// `date`: a calendar day without time zone.
    Date,
    /// `timestamp`: microseconds since the epoch, an instant in UTC.
    Timestamp,
    /// `timestamp_ntz`: microseconds since the epoch, without time zone.
    TimestampNtz,
    /// `decimal(precision, scale)`: a fixed-point number.
    Decimal {
        /// Total number of digits, 1..=38.
        precision: u8,
        /// Digits after the point, 0..=precision.
        scale: u8,
    },
    /// `variant`: semi-structured data (reader feature `variantType`).
    Variant,
    /// `void`: a column that is always null (Spark's NullType).
    Void,
}

impl PrimitiveType {
    /// Builds a decimal type, checking precision and scale.
    pub fn decimal(precision: u8, scale: u8) -> Result<Self, SchemaError> {
        if precision == 0 || precision > MAX_DECIMAL_PRECISION || scale > precision {
            return Err(SchemaError::InvalidDecimal { precision, scale });
        }
        Ok(PrimitiveType::Decimal { precision, scale })
    }

    /// Parses the protocol's name of a primitive type (`"long"`, `"decimal(10,2)"`).
    pub fn parse(name: &str) -> Result<Self, SchemaError> {
        let unknown = || SchemaError::UnknownType {
            name: name.to_string(),
        };
        Ok(match name {
            "string" => PrimitiveType::String,
            "long" => PrimitiveType::Long,
            "integer" => PrimitiveType::Integer,
            "short" => PrimitiveType::Short,
            "byte" => PrimitiveType::Byte,
            "float" => PrimitiveType::Float,
            "double" => PrimitiveType::Double,
            "boolean" => PrimitiveType::Boolean,
            "binary" => PrimitiveType::Binary,
            "date" => PrimitiveType::Date,
            "timestamp" => PrimitiveType::Timestamp,
            "timestamp_ntz" => PrimitiveType::TimestampNtz,
            "variant" => PrimitiveType::Variant,
            "void" => PrimitiveType::Void,
            "decimal" => PrimitiveType::Decimal {
                precision: 10,
                scale: 0,
            },
            other => {
                let inner = other
                    .strip_prefix("decimal(")
                    .and_then(|s| s.strip_suffix(')'))
                    .ok_or_else(unknown)?;
                let (p, s) = inner.split_once(',').ok_or_else(unknown)?;
                let p: u8 = p.trim().parse().map_err(|_| unknown())?;
                let s: u8 = s.trim().parse().map_err(|_| unknown())?;
                PrimitiveType::decimal(p, s)?
            }
        })
    }
}

impl fmt::Display for PrimitiveType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            PrimitiveType::String => "string",
            PrimitiveType::Long => "long",
            PrimitiveType::Integer => "integer",
            PrimitiveType::Short => "short",
            PrimitiveType::Byte => "byte",
            PrimitiveType::Float => "float",
            PrimitiveType::Double => "double",
            PrimitiveType::Boolean => "boolean",
            PrimitiveType::Binary => "binary",
            PrimitiveType::Date => "date",
            PrimitiveType::Timestamp => "timestamp",
            PrimitiveType::TimestampNtz => "timestamp_ntz",
            PrimitiveType::Variant => "variant",
            PrimitiveType::Void => "void",
            PrimitiveType::Decimal { precision, scale } => {
                return write!(f, "decimal({precision},{scale})");
            }
        };
        f.write_str(name)
    }
}

/// Any Delta type.
#[derive(Debug, Clone, PartialEq)]
pub enum DataType {
    /// A primitive type.
    Primitive(PrimitiveType),
    /// `array`: a list of elements of one type.
    Array(Box<ArrayType>),
    /// `struct`: named fields.
    Struct(Box<StructType>),
    /// `map`: key/value pairs.
    Map(Box<MapType>),
}

impl DataType {
    /// Shorthand for a primitive type.
    pub const fn primitive(p: PrimitiveType) -> Self {
        DataType::Primitive(p)
    }

    /// `string`.
    pub const STRING: DataType = DataType::Primitive(PrimitiveType::String);
    /// `long`.
    pub const LONG: DataType = DataType::Primitive(PrimitiveType::Long);
    /// `integer`.
    pub const INTEGER: DataType = DataType::Primitive(PrimitiveType::Integer);
    /// `short`.
    pub const SHORT: DataType = DataType::Primitive(PrimitiveType::Short);
    /// `byte`.
    pub const BYTE: DataType = DataType::Primitive(PrimitiveType::Byte);
    /// `float`.
    pub const FLOAT: DataType = DataType::Primitive(PrimitiveType::Float);
    /// `double`.
    pub const DOUBLE: DataType = DataType::Primitive(PrimitiveType::Double);
    /// `boolean`.
    pub const BOOLEAN: DataType = DataType::Primitive(PrimitiveType::Boolean);
    /// `binary`.
    pub const BINARY: DataType = DataType::Primitive(PrimitiveType::Binary);
    /// `date`.
    pub const DATE: DataType = DataType::Primitive(PrimitiveType::Date);
    /// `timestamp`.
    pub const TIMESTAMP: DataType = DataType::Primitive(PrimitiveType::Timestamp);
    /// `timestamp_ntz`.
    pub const TIMESTAMP_NTZ: DataType = DataType::Primitive(PrimitiveType::TimestampNtz);

    /// The struct inside, if this is a struct.
    pub fn as_struct(&self) -> Option<&StructType> {
        match self {
            DataType::Struct(s) => Some(s),
            _ => None,
        }
    }

    /// Calls `f` on this type and every type nested in it, parents first.
    pub fn visit(&self, f: &mut dyn FnMut(&DataType)) {
        f(self);
        match self {
            DataType::Primitive(_) => {}
            DataType::Array(a) => a.element_type.visit(f),
            DataType::Struct(s) => s.fields.iter().for_each(|fl| fl.data_type.visit(f)),
            DataType::Map(m) => {
                m.key_type.visit(f);
                m.value_type.visit(f);
            }
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Primitive(p) => p.fmt(f),
            DataType::Array(a) => write!(f, "array<{}>", a.element_type),
            DataType::Map(m) => write!(f, "map<{},{}>", m.key_type, m.value_type),
            DataType::Struct(s) => {
                f.write_str("struct<")?;
                for (i, field) in s.fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}:{}", field.name, field.data_type)?;
                }
                f.write_str(">")
            }
        }
    }
}

impl From<PrimitiveType> for DataType {
    fn from(p: PrimitiveType) -> Self {
        DataType::Primitive(p)
    }
}

impl From<StructType> for DataType {
    fn from(s: StructType) -> Self {
        DataType::Struct(Box::new(s))
    }
}

impl From<ArrayType> for DataType {
    fn from(a: ArrayType) -> Self {
        DataType::Array(Box::new(a))
    }
}

impl From<MapType> for DataType {
    fn from(m: MapType) -> Self {
        DataType::Map(Box::new(m))
    }
}

/// An `array` type.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayType {
    /// Type of the elements.
    pub element_type: DataType,
    /// Whether elements may be null.
    pub contains_null: bool,
}

impl ArrayType {
    /// A new array type.
    pub fn new(element_type: impl Into<DataType>, contains_null: bool) -> Self {
        ArrayType {
            element_type: element_type.into(),
            contains_null,
        }
    }
}

/// A `map` type.
#[derive(Debug, Clone, PartialEq)]
pub struct MapType {
    /// Type of the keys (never null).
    pub key_type: DataType,
    /// Type of the values.
    pub value_type: DataType,
    /// Whether values may be null.
    pub value_contains_null: bool,
}

impl MapType {
    /// A new map type.
    pub fn new(
        key_type: impl Into<DataType>,
        value_type: impl Into<DataType>,
        value_contains_null: bool,
    ) -> Self {
        MapType {
            key_type: key_type.into(),
            value_type: value_type.into(),
            value_contains_null,
        }
    }
}

/// One named field of a struct.
#[derive(Debug, Clone, PartialEq)]
pub struct StructField {
    /// The (logical) name of the field.
    pub name: String,
    /// Its type.
    pub data_type: DataType,
    /// Whether it may be null.
    pub nullable: bool,
    /// Field metadata (column mapping, comments, type changes...).
    pub metadata: FieldMetadata,
}

impl StructField {
    /// A new field without metadata.
    pub fn new(name: impl Into<String>, data_type: impl Into<DataType>, nullable: bool) -> Self {
        StructField {
            name: name.into(),
            data_type: data_type.into(),
            nullable,
            metadata: FieldMetadata::new(),
        }
    }

    /// The same field with one more metadata entry.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// The name of the column in data files: the column-mapping physical name
    /// when there is one, else the logical name.
    pub fn physical_name(&self) -> &str {
        self.metadata
            .get(COLUMN_MAPPING_PHYSICAL_NAME)
            .and_then(Value::as_str)
            .unwrap_or(&self.name)
    }

    /// The column-mapping id, when there is one.
    pub fn column_mapping_id(&self) -> Option<i64> {
        self.metadata.get(COLUMN_MAPPING_ID).and_then(Value::as_i64)
    }
}

/// A `struct` type; a table schema is one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StructType {
    /// The fields, in order.
    pub fields: Vec<StructField>,
}

impl StructType {
    /// A struct of these fields.
    pub fn new(fields: impl IntoIterator<Item = StructField>) -> Self {
        StructType {
            fields: fields.into_iter().collect(),
        }
    }

    /// The field of this exact name.
    pub fn field(&self, name: &str) -> Option<&StructField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The position of the field of this exact name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// Field names, in order.
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_str())
    }
}
