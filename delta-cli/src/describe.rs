//! `delta describe`: what a table version is made of.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use delta::log::properties::CONSTRAINTS_PREFIX;
use delta::schema::{DataType, StructField, StructType};
use delta::txn::Snapshot;
use delta::txn::writable::writer_support;
use serde_json::{Value, json};

use crate::cat::open_snapshot;
use crate::cli::DescribeArgs;
use crate::output::{CliResult, Output, rfc3339};

/// Runs `delta describe`.
pub async fn run(args: &DescribeArgs) -> CliResult<()> {
    let snapshot = open_snapshot(&args.table, args.version, None).await?;
    let description = Description::of(&args.table, &snapshot);
    let mut out = Output::stdout();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&description.to_json())?)?;
    } else {
        out.write_all(description.to_text().as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// The facts `describe` prints about one snapshot.
#[derive(Debug, Clone)]
pub struct Description {
    /// The table location as given.
    pub table: String,
    /// The version.
    pub version: u64,
    /// Commit time of the version, ms since the epoch.
    pub timestamp_ms: i64,
    /// Table id from the metadata.
    pub id: String,
    /// User-given name.
    pub name: Option<String>,
    /// User-given description.
    pub description: Option<String>,
    /// minReaderVersion.
    pub min_reader_version: i32,
    /// minWriterVersion.
    pub min_writer_version: i32,
    /// The listed reader features (reader version 3), else `None`.
    pub reader_features: Option<Vec<String>>,
    /// The listed writer features (writer version 7), else `None`.
    pub writer_features: Option<Vec<String>>,
    /// Every feature in force: listed or implied by legacy protocol versions, sorted.
    pub table_features: Vec<String>,
    /// Each writer feature in force, with `None` when this implementation
    /// respects it and the reason when it refuses to write because of it.
    pub writer_support: Vec<(String, Option<String>)>,
    /// `none`, `name` or `id`.
    pub column_mapping_mode: String,
    /// The table schema.
    pub schema: StructType,
    /// Partition columns, in order.
    pub partition_columns: Vec<String>,
    /// Table properties, sorted by key.
    pub properties: BTreeMap<String, String>,
    /// CHECK constraints by name.
    pub constraints: BTreeMap<String, String>,
    /// Number of active data files.
    pub num_files: usize,
    /// Number of rows, when every file has `numRecords` stats.
    pub num_rows: Option<u64>,
    /// Total size of the active data files.
    pub num_bytes: i64,
}

impl Description {
    /// Describes `snapshot` of the table at `table`.
    pub fn of(table: &str, snapshot: &Snapshot) -> Self {
        let protocol = snapshot.protocol();
        let metadata = snapshot.metadata();
        let properties: BTreeMap<String, String> = snapshot
            .properties()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let constraints = properties
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(CONSTRAINTS_PREFIX)
                    .map(|name| (name.to_string(), v.clone()))
            })
            .collect();
        // live rows, unknown if any file lacks stats
        let num_rows = snapshot.files().iter().try_fold(0u64, |sum, add| {
            Some(sum.saturating_add(add.live_records()?))
        });
        Description {
            table: table.to_string(),
            version: snapshot.version(),
            timestamp_ms: snapshot.timestamp_ms(),
            id: metadata.id.clone(),
            name: metadata.name.clone(),
            description: metadata.description.clone(),
            min_reader_version: protocol.min_reader_version,
            min_writer_version: protocol.min_writer_version,
            reader_features: protocol.reader_features.clone(),
            writer_features: protocol.writer_features.clone(),
            table_features: protocol
                .features_in_force()
                .iter()
                .map(ToString::to_string)
                .collect(),
            writer_support: writer_support(protocol, metadata)
                .into_iter()
                .map(|(feature, support)| (feature.to_string(), support.err()))
                .collect(),
            column_mapping_mode: snapshot.column_mapping().name().to_string(),
            schema: snapshot.schema().clone(),
            partition_columns: snapshot.partition_columns().to_vec(),
            constraints,
            properties,
            num_files: snapshot.files().len(),
            num_rows,
            num_bytes: snapshot.files().iter().map(|f| f.size()).sum(),
        }
    }

    /// The JSON object of `describe --json`.
    pub fn to_json(&self) -> Value {
        json!({
            "table": self.table,
            "version": self.version,
            "timestamp": rfc3339(self.timestamp_ms),
            "timestamp_ms": self.timestamp_ms,
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "protocol": {
                "min_reader_version": self.min_reader_version,
                "min_writer_version": self.min_writer_version,
                "reader_features": self.reader_features,
                "writer_features": self.writer_features,
            },
            "table_features": self.table_features,
            "writable": self.writer_support.iter().all(|(_, refused)| refused.is_none()),
            "writer_support": self.writer_support.iter().map(|(feature, refused)| json!({
                "feature": feature,
                "supported": refused.is_none(),
                "reason": refused,
            })).collect::<Vec<_>>(),
            "column_mapping_mode": self.column_mapping_mode,
            "schema": self.schema.to_json_value(),
            "partition_columns": self.partition_columns,
            "properties": self.properties,
            "constraints": self.constraints,
            "num_files": self.num_files,
            "num_rows": self.num_rows,
            "num_bytes": self.num_bytes,
        })
    }

    /// The text of `describe`: a summary, the properties, constraints and the schema tree.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let mut line = |key: &str, value: &str| {
            let _ = writeln!(s, "{:<19}{value}", format!("{key}:"));
        };
        line("Table", &self.table);
        line("Version", &self.version.to_string());
        line("Timestamp", &rfc3339(self.timestamp_ms));
        line("Id", &self.id);
        if let Some(name) = &self.name {
            line("Name", name);
        }
        if let Some(description) = &self.description {
            line("Description", description);
        }
        line(
            "Protocol",
            &format!(
                "minReaderVersion {}, minWriterVersion {}",
                self.min_reader_version, self.min_writer_version
            ),
        );
        line("Reader features", &list(self.reader_features.as_deref()));
        line("Writer features", &list(self.writer_features.as_deref()));
        line("Table features", &list(Some(&self.table_features)));
        let refused: Vec<String> = self
            .writer_support
            .iter()
            .filter_map(|(feature, reason)| reason.as_ref().map(|r| format!("{feature} ({r})")))
            .collect();
        let supported: Vec<String> = self
            .writer_support
            .iter()
            .filter(|(_, reason)| reason.is_none())
            .map(|(feature, _)| feature.clone())
            .collect();
        line(
            "Writes",
            if refused.is_empty() {
                "supported"
            } else {
                "refused"
            },
        );
        line("Writer support", &list(Some(&supported)));
        if !refused.is_empty() {
            line("Writes refused by", &refused.join("; "));
        }
        line("Column mapping", &self.column_mapping_mode);
        line("Partition columns", &list(Some(&self.partition_columns)));
        line("Files", &self.num_files.to_string());
        line(
            "Rows",
            &self
                .num_rows
                .map_or_else(|| "unknown".to_string(), |n| n.to_string()),
        );
        line("Bytes", &self.num_bytes.to_string());
        section(&mut s, "Properties", &self.properties, " = ");
        section(&mut s, "Constraints", &self.constraints, ": ");
        s.push_str("Schema:\n");
        s.push_str(&schema_tree(&self.schema));
        s
    }
}

fn list(items: Option<&[String]>) -> String {
    match items {
        None => "-".to_string(),
        Some([]) => "(none)".to_string(),
        Some(items) => items.join(", "),
    }
}

fn section(s: &mut String, title: &str, entries: &BTreeMap<String, String>, sep: &str) {
    if entries.is_empty() {
        let _ = writeln!(s, "{:<19}(none)", format!("{title}:"));
    } else {
        let _ = writeln!(s, "{title}:");
        for (k, v) in entries {
            let _ = writeln!(s, "  {k}{sep}{v}");
        }
    }
}

/// The schema as a tree, one field per line, in the style of Spark's
/// `printSchema`, with column mapping physical names and ids where present.
pub fn schema_tree(schema: &StructType) -> String {
    let mut s = String::from("root\n");
    for field in &schema.fields {
        field_lines(&mut s, field, 1);
    }
    s
}

fn prefix(depth: usize) -> String {
    format!("{} |-- ", " |   ".repeat(depth.saturating_sub(1)))
}

fn field_lines(s: &mut String, field: &StructField, depth: usize) {
    let mut notes = vec![format!("nullable = {}", field.nullable)];
    if field.physical_name() != field.name {
        notes.push(format!("physical name = {}", field.physical_name()));
    }
    if let Some(id) = field.column_mapping_id() {
        notes.push(format!("id = {id}"));
    }
    if let Some(comment) = field.metadata.get("comment").and_then(Value::as_str) {
        notes.push(format!("comment = {comment}"));
    }
    let _ = writeln!(
        s,
        "{}{}: {} ({})",
        prefix(depth),
        field.name,
        type_name(&field.data_type),
        notes.join(", ")
    );
    type_children(s, &field.data_type, depth + 1);
}

/// The name of a type on its line: nested types are shown below it.
fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Primitive(p) => p.to_string(),
        DataType::Array(_) => "array".to_string(),
        DataType::Map(_) => "map".to_string(),
        DataType::Struct(_) => "struct".to_string(),
    }
}

fn type_children(s: &mut String, data_type: &DataType, depth: usize) {
    match data_type {
        DataType::Primitive(_) => {}
        DataType::Struct(st) => {
            for field in &st.fields {
                field_lines(s, field, depth);
            }
        }
        DataType::Array(a) => {
            let _ = writeln!(
                s,
                "{}element: {} (containsNull = {})",
                prefix(depth),
                type_name(&a.element_type),
                a.contains_null
            );
            type_children(s, &a.element_type, depth + 1);
        }
        DataType::Map(m) => {
            let _ = writeln!(s, "{}key: {}", prefix(depth), type_name(&m.key_type));
            type_children(s, &m.key_type, depth + 1);
            let _ = writeln!(
                s,
                "{}value: {} (valueContainsNull = {})",
                prefix(depth),
                type_name(&m.value_type),
                m.value_contains_null
            );
            type_children(s, &m.value_type, depth + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use delta::schema::{ArrayType, MapType};

    #[test]
    fn prints_a_schema_tree() {
        let schema = StructType::new([
            StructField::new("id", DataType::LONG, false),
            StructField::new(
                "s",
                StructType::new([StructField::new("a", DataType::INTEGER, true)
                    .with_metadata("delta.columnMapping.physicalName", "col-1")
                    .with_metadata("delta.columnMapping.id", 2)]),
                true,
            ),
            StructField::new("l", ArrayType::new(DataType::STRING, true), true),
            StructField::new(
                "m",
                MapType::new(DataType::STRING, DataType::LONG, false),
                true,
            ),
        ]);
        let expected = "root
 |-- id: long (nullable = false)
 |-- s: struct (nullable = true)
 |    |-- a: integer (nullable = true, physical name = col-1, id = 2)
 |-- l: array (nullable = true)
 |    |-- element: string (containsNull = true)
 |-- m: map (nullable = true)
 |    |-- key: string
 |    |-- value: long (valueContainsNull = false)
";
        assert_eq!(schema_tree(&schema), expected);
    }
}
