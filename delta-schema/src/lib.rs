//! Delta Lake schemas: the protocol's types, their JSON form and a lossless
//! conversion to and from Arrow.
//!
//! This crate depends on nothing else of the workspace and does no I/O.
//!
//! ```
//! use delta_schema::{DataType, StructType};
//!
//! let schema = StructType::from_json(
//!     r#"{"type":"struct","fields":[{"name":"id","type":"long","nullable":false,"metadata":{}}]}"#,
//! )?;
//! assert_eq!(schema.fields[0].data_type, DataType::LONG);
//! let arrow = schema.to_arrow();
//! assert_eq!(StructType::from_arrow(&arrow)?, schema);
//! # Ok::<(), delta_schema::SchemaError>(())
//! ```

mod arrow;
pub mod enforce;
mod error;
mod json;
mod types;

pub use arrow::{ARROW_EXTENSION_NAME, JSON_METADATA_KEYS, UTC, VARIANT_EXTENSION};
pub use enforce::{
    WriteSchema, WriteSchemaOptions, add_source_columns, automatic_type_widening,
    check_write_schema, implicit_widening, record_type_change, type_widening_allowed,
};
pub use error::SchemaError;
pub use types::{
    ArrayType, COLUMN_MAPPING_ID, COLUMN_MAPPING_PHYSICAL_NAME, DataType, FieldMetadata,
    MAX_DECIMAL_PRECISION, MapType, PrimitiveType, StructField, StructType, TYPE_CHANGES,
};

/// Re-export of the Arrow schema crate this crate converts to and from.
pub use arrow_schema;
