//! Changes to a table's metadata that rewrite no data: properties, NOT NULL,
//! type widening, column mapping and with it renaming and dropping columns.
//! Each is one commit of a new `metaData` (and protocol, when the change
//! needs a feature the protocol lacks).

use std::collections::HashMap;

use delta_log::TableProperties;
use delta_log::properties::CONSTRAINTS_PREFIX;
use delta_schema::{
    COLUMN_MAPPING_PHYSICAL_NAME, DataType, PrimitiveType, StructField, StructType,
    record_type_change, type_widening_allowed,
};

use crate::column_mapping;
use crate::constraints::{self, Constraints};
use crate::progress::{NoProgress, Progress};
use crate::protocol::{required_features, upgrade};
use crate::transaction::{CommitOutcome, Transaction};
use crate::{Snapshot, Table, TxnError};

fn invalid(reason: impl Into<String>) -> TxnError {
    TxnError::InvalidArgument {
        reason: reason.into(),
    }
}

/// The field at a dotted path (`a.b.c`, through structs) of a schema.
fn field_mut<'s>(schema: &'s mut StructType, path: &str) -> Result<&'s mut StructField, TxnError> {
    let mut parts = path.split('.').peekable();
    let mut current = schema;
    loop {
        let name = parts.next().ok_or_else(|| invalid("empty column name"))?;
        let available = current.field_names().collect::<Vec<_>>().join(", ");
        let field = current
            .fields
            .iter_mut()
            .find(|f| f.name == name)
            .ok_or_else(|| {
                invalid(format!(
                    "no column '{path}' (at '{name}'; columns: {available})"
                ))
            })?;
        if parts.peek().is_none() {
            return Ok(field);
        }
        current = match &mut field.data_type {
            DataType::Struct(s) => s,
            other => {
                return Err(invalid(format!(
                    "'{name}' in '{path}' is a {other}, not a struct"
                )));
            }
        };
    }
}

impl Table {
    /// Commits new metadata made by `change` from the latest snapshot's,
    /// upgrading the protocol when the new schema or properties need it.
    async fn alter(
        &self,
        operation: &str,
        parameters: &[(&str, String)],
        change: impl FnOnce(
            &Snapshot,
            &mut StructType,
            &mut HashMap<String, String>,
        ) -> Result<(), TxnError>,
    ) -> Result<CommitOutcome, TxnError> {
        let snapshot = self.snapshot().await?;
        self.alter_from(snapshot, operation, parameters, change)?
            .commit()
            .await
    }

    /// The transaction of [`Table::alter`] from a snapshot the caller read,
    /// to commit (a concurrent change of the metadata or protocol then
    /// conflicts, see [`crate::conflict`]). The table's CHECK constraints and
    /// invariants must still bind to the new schema (a column they read
    /// cannot be dropped or renamed away).
    fn alter_from(
        &self,
        snapshot: Snapshot,
        operation: &str,
        parameters: &[(&str, String)],
        change: impl FnOnce(
            &Snapshot,
            &mut StructType,
            &mut HashMap<String, String>,
        ) -> Result<(), TxnError>,
    ) -> Result<Transaction, TxnError> {
        let mut schema = snapshot.schema().clone();
        let mut metadata = snapshot.metadata().clone();
        change(&snapshot, &mut schema, &mut metadata.configuration)?;
        metadata.schema_string = schema.to_json();
        let properties = TableProperties::parse(&metadata.configuration)?;
        constraints::validate(&schema, &properties).map_err(|reason| {
            invalid(format!(
                "{operation} would break a rule of the table: {reason}"
            ))
        })?;
        let protocol = upgrade(
            snapshot.protocol(),
            &required_features(&schema, &properties),
        );
        let mut txn = Transaction::new(self, Some(snapshot), operation);
        for (k, v) in parameters {
            txn = txn.parameter(k, v.clone());
        }
        if let Some(protocol) = protocol {
            txn.set_protocol(protocol);
        }
        txn.set_metadata(metadata);
        Ok(txn)
    }

    /// Sets table properties. Turning on a feature (column mapping, type
    /// widening, deletion vectors...) upgrades the protocol in the same commit;
    /// turning on column mapping gives existing columns ids and physical names
    /// equal to their current names, so existing files still match.
    pub async fn set_properties(
        &self,
        properties: HashMap<String, String>,
    ) -> Result<CommitOutcome, TxnError> {
        if let Some(key) = properties
            .keys()
            .find(|k| k.starts_with(CONSTRAINTS_PREFIX))
        {
            return Err(invalid(format!(
                "'{key}' is a CHECK constraint: add it with add_constraint (delta constraint add), which checks the existing rows"
            )));
        }
        let shown = serde_json::to_string(&properties).unwrap_or_default();
        self.alter("SET TBLPROPERTIES", &[("properties", shown)], |_, schema, config| {
            let old_mode = config.get(column_mapping::MODE).cloned();
            if let Some(new_mode) = properties.get(column_mapping::MODE) {
                match (old_mode.as_deref().unwrap_or("none"), new_mode.as_str()) {
                    (old, new) if old == new => {}
                    ("none", "name") => {
                        keep_physical_names(schema);
                    }
                    (old, new) => {
                        return Err(invalid(format!(
                            "column mapping mode cannot change from {old} to {new} (only none to name)"
                        )));
                    }
                }
            }
            config.extend(properties);
            column_mapping::apply(schema, config).map_err(invalid)
        })
        .await
    }

    /// Removes table properties (absent keys are ignored). Properties that
    /// hold a feature in force (column mapping) cannot be removed.
    pub async fn unset_properties(&self, keys: &[String]) -> Result<CommitOutcome, TxnError> {
        let shown = serde_json::to_string(keys).unwrap_or_default();
        self.alter(
            "UNSET TBLPROPERTIES",
            &[("propertyKeys", shown)],
            |_, _, config| {
                for key in keys {
                    if key.starts_with(CONSTRAINTS_PREFIX) {
                        return Err(invalid(format!(
                            "'{key}' is a CHECK constraint: drop it with drop_constraint (delta constraint drop)"
                        )));
                    }
                    if key == column_mapping::MODE || key == column_mapping::MAX_COLUMN_ID {
                        return Err(invalid(format!(
                            "'{key}' cannot be unset once column mapping is on"
                        )));
                    }
                    config.remove(key);
                }
                Ok(())
            },
        )
        .await
    }

    /// Adds a CHECK constraint (`ALTER TABLE ADD CONSTRAINT name CHECK
    /// (expression)`): the expression is typed against the schema, every
    /// existing row is checked (true passes; false and null fail, as for
    /// written rows), then the constraint is committed on the version that
    /// was checked, so a commit made meanwhile makes this one fail rather
    /// than slip a violating row in. Names are case-insensitive.
    pub async fn add_constraint(
        &self,
        name: &str,
        expression: &str,
    ) -> Result<CommitOutcome, TxnError> {
        self.add_constraint_with(name, expression, &NoProgress)
            .await
    }

    /// [`Table::add_constraint`], telling `progress` how many of the
    /// table's rows are checked.
    pub async fn add_constraint_with(
        &self,
        name: &str,
        expression: &str,
        progress: &dyn Progress,
    ) -> Result<CommitOutcome, TxnError> {
        let name = constraint_name(name)?;
        let key = format!("{CONSTRAINTS_PREFIX}{name}");
        let snapshot = self.snapshot().await?;
        if let Some(existing) = snapshot.properties().get(&key) {
            return Err(invalid(format!(
                "the table already has a constraint '{name}' ({existing})"
            )));
        }
        let mut properties = TableProperties::parse(snapshot.properties())?;
        properties.constraints.clear();
        properties
            .constraints
            .insert(name.clone(), expression.to_string());
        let schema = StructType::clone(snapshot.schema());
        let rule = Constraints::only_checks(&schema, &properties, snapshot.version())?;
        rule.check_existing(&snapshot, progress).await?;
        let mut txn = self.alter_from(
            snapshot,
            "ADD CONSTRAINT",
            &[("name", name.clone()), ("expr", expression.to_string())],
            |_, _, config| {
                config.insert(key, expression.to_string());
                Ok(())
            },
        )?;
        // every row was checked: a row added or removed concurrently conflicts
        txn.read_whole_table();
        txn.commit().await
    }

    /// Drops a CHECK constraint (`ALTER TABLE DROP CONSTRAINT name`).
    pub async fn drop_constraint(&self, name: &str) -> Result<CommitOutcome, TxnError> {
        let name = constraint_name(name)?;
        let key = format!("{CONSTRAINTS_PREFIX}{name}");
        self.alter(
            "DROP CONSTRAINT",
            &[("name", name.clone())],
            |_, _, config| match config.remove(&key) {
                Some(_) => Ok(()),
                None => Err(invalid(format!("the table has no constraint '{name}'"))),
            },
        )
        .await
    }

    /// Makes a column nullable (`ALTER COLUMN c DROP NOT NULL`).
    pub async fn drop_not_null(&self, column: &str) -> Result<CommitOutcome, TxnError> {
        self.alter(
            "CHANGE COLUMN",
            &[("column", column.to_string())],
            |_, schema, _| {
                field_mut(schema, column)?.nullable = true;
                Ok(())
            },
        )
        .await
    }

    /// Widens a column's type (table feature `typeWidening`, which the table
    /// must have enabled with `delta.enableTypeWidening=true`); old files are
    /// read upcast, nothing is rewritten.
    pub async fn widen_column(
        &self,
        column: &str,
        to: PrimitiveType,
    ) -> Result<CommitOutcome, TxnError> {
        self.alter(
            "CHANGE COLUMN",
            &[("column", column.to_string()), ("newType", to.to_string())],
            |snapshot, schema, _| {
                if !TableProperties::parse(snapshot.properties())?.enable_type_widening {
                    return Err(invalid(
                        "type widening is not enabled: set delta.enableTypeWidening=true first",
                    ));
                }
                if snapshot.partition_columns().iter().any(|p| p == column) {
                    return Err(invalid(format!(
                        "'{column}' is a partition column; its type cannot change"
                    )));
                }
                let field = field_mut(schema, column)?;
                let DataType::Primitive(from) = field.data_type else {
                    return Err(invalid(format!(
                        "'{column}' is a {}, not a primitive",
                        field.data_type
                    )));
                };
                if !type_widening_allowed(from, to) {
                    return Err(invalid(format!(
                        "'{column}' cannot change from {from} to {to}: not a widening Delta allows"
                    )));
                }
                record_type_change(field, from, to);
                field.data_type = DataType::Primitive(to);
                Ok(())
            },
        )
        .await
    }

    /// Renames a column (needs column mapping: the physical name stays).
    pub async fn rename_column(
        &self,
        column: &str,
        new_name: &str,
    ) -> Result<CommitOutcome, TxnError> {
        self.alter(
            "RENAME COLUMN",
            &[
                ("oldColumnPath", column.to_string()),
                ("newColumnPath", new_name.to_string()),
            ],
            |snapshot, schema, _| {
                require_column_mapping(snapshot, "rename a column")?;
                if new_name.is_empty() || new_name.contains('.') {
                    return Err(invalid(format!("'{new_name}' is not a valid column name")));
                }
                let (parent, _) = column.rsplit_once('.').unwrap_or(("", column));
                let siblings: Vec<String> = if parent.is_empty() {
                    schema.field_names().map(String::from).collect()
                } else {
                    match &field_mut(schema, parent)?.data_type {
                        DataType::Struct(s) => s.field_names().map(String::from).collect(),
                        _ => Vec::new(),
                    }
                };
                if siblings.iter().any(|s| s.eq_ignore_ascii_case(new_name)) {
                    return Err(invalid(format!("a column '{new_name}' already exists")));
                }
                if snapshot.partition_columns().iter().any(|p| p == column) {
                    return Err(invalid(format!(
                        "'{column}' is a partition column and cannot be renamed"
                    )));
                }
                field_mut(schema, column)?.name = new_name.to_string();
                Ok(())
            },
        )
        .await
    }

    /// Drops a column (needs column mapping: its data stays in the files,
    /// unread).
    pub async fn drop_column(&self, column: &str) -> Result<CommitOutcome, TxnError> {
        self.alter(
            "DROP COLUMNS",
            &[("columns", format!("[\"{column}\"]"))],
            |snapshot, schema, _| {
                require_column_mapping(snapshot, "drop a column")?;
                if snapshot.partition_columns().iter().any(|p| p == column) {
                    return Err(invalid(format!(
                        "'{column}' is a partition column and cannot be dropped"
                    )));
                }
                let (parent, name) = column.rsplit_once('.').unwrap_or(("", column));
                let fields = if parent.is_empty() {
                    &mut schema.fields
                } else {
                    match &mut field_mut(schema, parent)?.data_type {
                        DataType::Struct(s) => &mut s.fields,
                        other => {
                            return Err(invalid(format!("'{parent}' is a {other}, not a struct")));
                        }
                    }
                };
                let before = fields.len();
                fields.retain(|f| f.name != name);
                if fields.len() == before {
                    return Err(invalid(format!("no column '{column}'")));
                }
                if fields.is_empty() {
                    return Err(invalid(format!(
                        "'{column}' is the last column of its struct"
                    )));
                }
                Ok(())
            },
        )
        .await
    }
}

/// A constraint name, lower-cased; empty names and names with characters
/// that do not belong in a property key are refused.
fn constraint_name(name: &str) -> Result<String, TxnError> {
    let name = name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(invalid(format!(
            "'{name}' is not a constraint name (letters, digits and '_')"
        )));
    }
    Ok(name.to_lowercase())
}

fn require_column_mapping(snapshot: &Snapshot, what: &str) -> Result<(), TxnError> {
    match snapshot
        .properties()
        .get(column_mapping::MODE)
        .map(String::as_str)
    {
        Some("name" | "id") => Ok(()),
        _ => Err(invalid(format!(
            "to {what} without rewriting data the table needs column mapping: set delta.columnMapping.mode=name first"
        ))),
    }
}

/// Existing columns keep their names as physical names when column mapping
/// is turned on, so the files written before still match.
fn keep_physical_names(schema: &mut StructType) {
    for field in &mut schema.fields {
        if !field.metadata.contains_key(COLUMN_MAPPING_PHYSICAL_NAME) {
            field.metadata.insert(
                COLUMN_MAPPING_PHYSICAL_NAME.to_string(),
                field.name.clone().into(),
            );
        }
        keep_nested(&mut field.data_type);
    }
}

fn keep_nested(data_type: &mut DataType) {
    match data_type {
        DataType::Struct(s) => keep_physical_names(s),
        DataType::Array(a) => keep_nested(&mut a.element_type),
        DataType::Map(m) => {
            keep_nested(&mut m.key_type);
            keep_nested(&mut m.value_type);
        }
        DataType::Primitive(_) => {}
    }
}
