//! Column mapping on write (PROTOCOL.md §"Column Mapping"): every field gets a
//! unique id and a physical name, so columns can later be renamed or dropped
//! without rewriting data.

use delta_schema::{
    COLUMN_MAPPING_ID, COLUMN_MAPPING_PHYSICAL_NAME, DataType, StructField, StructType,
};

/// Table property holding the largest column id handed out.
pub const MAX_COLUMN_ID: &str = delta_log::properties::COLUMN_MAPPING_MAX_ID;
/// Table property holding the column mapping mode.
pub const MODE: &str = delta_log::properties::COLUMN_MAPPING_MODE;

/// When `properties` turn column mapping on (`name` or `id`), gives the
/// schema's new fields ids and physical names and updates
/// `delta.columnMapping.maxColumnId`. An unknown mode is an error message.
pub fn apply(
    schema: &mut StructType,
    properties: &mut std::collections::HashMap<String, String>,
) -> Result<(), String> {
    match properties.get(MODE).map(String::as_str) {
        None | Some("none") => Ok(()),
        Some("name" | "id") => {
            let max_id = properties
                .get(MAX_COLUMN_ID)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let max_id = assign(schema, max_id);
            properties.insert(MAX_COLUMN_ID.to_string(), max_id.to_string());
            Ok(())
        }
        Some(other) => Err(format!(
            "delta.columnMapping.mode must be none, name or id, not '{other}'"
        )),
    }
}

/// Gives every field without a column-mapping id and physical name (at any
/// depth) new ones, counting ids up from `max_id`; returns the new maximum.
pub fn assign(schema: &mut StructType, mut max_id: i64) -> i64 {
    for field in &mut schema.fields {
        max_id = assign_field(field, max_id);
    }
    max_id
}

fn assign_field(field: &mut StructField, mut max_id: i64) -> i64 {
    if field.column_mapping_id().is_none() {
        max_id += 1;
        field
            .metadata
            .insert(COLUMN_MAPPING_ID.to_string(), max_id.into());
    }
    if !field.metadata.contains_key(COLUMN_MAPPING_PHYSICAL_NAME) {
        field.metadata.insert(
            COLUMN_MAPPING_PHYSICAL_NAME.to_string(),
            format!("col-{}", uuid::Uuid::new_v4()).into(),
        );
    }
    assign_nested(&mut field.data_type, max_id)
}

fn assign_nested(data_type: &mut DataType, max_id: i64) -> i64 {
    match data_type {
        DataType::Struct(s) => assign(s, max_id),
        DataType::Array(a) => assign_nested(&mut a.element_type, max_id),
        DataType::Map(m) => {
            let max_id = assign_nested(&mut m.key_type, max_id);
            assign_nested(&mut m.value_type, max_id)
        }
        DataType::Primitive(_) => max_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use delta_schema::ArrayType;

    #[test]
    fn assigns_unique_ids_and_physical_names_at_every_depth() {
        let mut schema = StructType::new([
            StructField::new("a", DataType::LONG, true),
            StructField::new(
                "s",
                ArrayType::new(
                    StructType::new([StructField::new("x", DataType::STRING, true)]),
                    true,
                ),
                true,
            ),
        ]);
        assert_eq!(assign(&mut schema, 0), 3);
        let ids: Vec<i64> = schema
            .fields
            .iter()
            .filter_map(StructField::column_mapping_id)
            .collect();
        assert_eq!(ids, [1, 2]);
        let DataType::Array(a) = &schema.fields[1].data_type else {
            unreachable!()
        };
        let inner = a.element_type.as_struct().unwrap();
        assert_eq!(inner.fields[0].column_mapping_id(), Some(3));
        assert!(inner.fields[0].physical_name().starts_with("col-"));
        // assigning again keeps what is there
        let before = schema.clone();
        assert_eq!(assign(&mut schema, 3), 3);
        assert_eq!(schema, before);
    }
}
