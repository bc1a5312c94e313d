//! The protocol's JSON form of a schema (PROTOCOL.md §"Schema Serialization Format").

use serde_json::{Map, Value, json};

use crate::{ArrayType, DataType, MapType, PrimitiveType, SchemaError, StructField, StructType};

impl StructType {
    /// Parses a schema string such as `Metadata.schemaString`.
    pub fn from_json(text: &str) -> Result<Self, SchemaError> {
        let value: Value =
            serde_json::from_str(text).map_err(|source| SchemaError::Json { source })?;
        match data_type_from_value(&value, "$")? {
            DataType::Struct(s) => Ok(*s),
            other => Err(malformed(
                "$",
                format!("top level must be a struct, found {other}"),
            )),
        }
    }

    /// The schema as the protocol's JSON text (compact).
    pub fn to_json(&self) -> String {
        struct_to_value(self).to_string()
    }

    /// The schema as a JSON value.
    pub fn to_json_value(&self) -> Value {
        struct_to_value(self)
    }
}

impl DataType {
    /// Parses one type from its JSON value (a string for primitives, an object otherwise).
    pub fn from_json_value(value: &Value) -> Result<Self, SchemaError> {
        data_type_from_value(value, "$")
    }

    /// The type as a JSON value (a string for primitives, an object otherwise).
    pub fn to_json_value(&self) -> Value {
        data_type_to_value(self)
    }
}

fn malformed(path: &str, reason: impl Into<String>) -> SchemaError {
    SchemaError::Malformed {
        path: path.to_string(),
        reason: reason.into(),
    }
}

fn get<'a>(obj: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a Value, SchemaError> {
    obj.get(key)
        .ok_or_else(|| malformed(path, format!("missing key '{key}'")))
}

fn get_bool(obj: &Map<String, Value>, key: &str, path: &str) -> Result<bool, SchemaError> {
    get(obj, key, path)?
        .as_bool()
        .ok_or_else(|| malformed(path, format!("'{key}' must be a boolean")))
}

fn data_type_from_value(value: &Value, path: &str) -> Result<DataType, SchemaError> {
    match value {
        Value::String(name) => Ok(DataType::Primitive(PrimitiveType::parse(name)?)),
        Value::Object(obj) => {
            let kind = get(obj, "type", path)?
                .as_str()
                .ok_or_else(|| malformed(path, "'type' must be a string"))?;
            match kind {
                "struct" => {
                    let fields = get(obj, "fields", path)?
                        .as_array()
                        .ok_or_else(|| malformed(path, "'fields' must be an array"))?;
                    let fields = fields
                        .iter()
                        .enumerate()
                        .map(|(i, f)| field_from_value(f, &format!("{path}.fields[{i}]")))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(StructType { fields }.into())
                }
                "array" => {
                    let element = data_type_from_value(
                        get(obj, "elementType", path)?,
                        &format!("{path}.elementType"),
                    )?;
                    Ok(ArrayType::new(element, get_bool(obj, "containsNull", path)?).into())
                }
                "map" => {
                    let key = data_type_from_value(
                        get(obj, "keyType", path)?,
                        &format!("{path}.keyType"),
                    )?;
                    let value = data_type_from_value(
                        get(obj, "valueType", path)?,
                        &format!("{path}.valueType"),
                    )?;
                    Ok(MapType::new(key, value, get_bool(obj, "valueContainsNull", path)?).into())
                }
                other => Err(SchemaError::UnknownType {
                    name: other.to_string(),
                }),
            }
        }
        _ => Err(malformed(path, "a type must be a string or an object")),
    }
}

fn field_from_value(value: &Value, path: &str) -> Result<StructField, SchemaError> {
    let obj = value
        .as_object()
        .ok_or_else(|| malformed(path, "a field must be an object"))?;
    let name = get(obj, "name", path)?
        .as_str()
        .ok_or_else(|| malformed(path, "'name' must be a string"))?;
    let data_type = data_type_from_value(get(obj, "type", path)?, &format!("{path}.type"))?;
    let nullable = get_bool(obj, "nullable", path)?;
    let metadata = match obj.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(malformed(path, "'metadata' must be an object")),
    };
    Ok(StructField {
        name: name.to_string(),
        data_type,
        nullable,
        metadata,
    })
}

fn struct_to_value(s: &StructType) -> Value {
    let fields: Vec<Value> = s
        .fields
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "type": data_type_to_value(&f.data_type),
                "nullable": f.nullable,
                "metadata": Value::Object(f.metadata.clone()),
            })
        })
        .collect();
    json!({"type": "struct", "fields": fields})
}

fn data_type_to_value(t: &DataType) -> Value {
    match t {
        DataType::Primitive(p) => Value::String(p.to_string()),
        DataType::Struct(s) => struct_to_value(s),
        DataType::Array(a) => json!({
            "type": "array",
            "elementType": data_type_to_value(&a.element_type),
            "containsNull": a.contains_null,
        }),
        DataType::Map(m) => json!({
            "type": "map",
            "keyType": data_type_to_value(&m.key_type),
            "valueType": data_type_to_value(&m.value_type),
            "valueContainsNull": m.value_contains_null,
        }),
    }
}
