//! The table's metadata and protocol at the latest version: the schema
//! parses, partition columns are sound, properties and constraints are
//! valid, column-mapping ids and names are unique, and the protocol lists
//! every feature the metadata uses.

use std::collections::HashSet;

use delta_log::properties::ColumnMapping;
use delta_log::{
    Protocol, READER_FEATURES_VERSION, TableFeature, TableProperties, TableState,
    WRITER_FEATURES_VERSION,
};
use delta_schema::{
    COLUMN_MAPPING_ID, COLUMN_MAPPING_PHYSICAL_NAME, DataType, StructField, StructType,
};

use crate::{Finding, Report, Severity};

/// Checks the latest metadata and protocol; `false` when the schema does
/// not parse (nothing that reads data can go on).
pub(crate) fn check_metadata(state: &TableState, report: &mut Report) -> bool {
    let version = state.version;
    let mut push = |finding: Finding| report.push(finding.at_version(version));
    check_feature_lists(&state.protocol, &mut push);
    let schema = match StructType::from_json(&state.metadata.schema_string) {
        Ok(schema) => schema,
        Err(e) => {
            push(Finding::error(
                "metadata.schema-invalid",
                format!("the schema does not parse: {e}"),
            ));
            return false;
        }
    };
    for problem in partition_problems(&schema, &state.metadata.partition_columns) {
        push(Finding::error("metadata.partition-columns", problem));
    }
    let properties = match TableProperties::parse(&state.metadata.configuration) {
        Ok(p) => p,
        Err(e) => {
            push(Finding::error("metadata.property-invalid", e.to_string()));
            return true;
        }
    };
    // a rule our expressions cannot check (an unknown column, or a form
    // Spark has and we lack) cannot be verified: worth a warning
    if let Err(reason) = delta_txn::constraints::validate(&schema, &properties) {
        push(Finding::new(
            Severity::Warning,
            "metadata.constraint-invalid",
            format!("{reason}; rows cannot be checked against it"),
        ));
    }
    if properties.column_mapping != ColumnMapping::None {
        let max_id = state
            .metadata
            .configuration
            .get(delta_txn::column_mapping::MAX_COLUMN_ID)
            .and_then(|v| v.trim().parse::<i64>().ok());
        for problem in column_mapping_problems(&schema, max_id) {
            push(problem);
        }
    }
    let in_force = state.protocol.features_in_force();
    for feature in delta_txn::protocol::required_features(&schema, &properties) {
        if !in_force.iter().any(|f| satisfies(f, &feature)) {
            push(Finding::error(
                "protocol.feature-missing",
                format!(
                    "the table uses {feature} (its schema or properties) but the protocol (reader {}, writer {}) does not support it",
                    state.protocol.min_reader_version, state.protocol.min_writer_version
                ),
            ));
        }
    }
    true
}

/// Partition columns that are not in the schema, not primitive, or listed
/// twice (the protocol allows partitioning by every column).
fn partition_problems(schema: &StructType, columns: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, name) in columns.iter().enumerate() {
        match schema.field(name) {
            None => problems.push(format!("partition column '{name}' is not in the schema")),
            Some(f) if !matches!(f.data_type, DataType::Primitive(_)) => problems.push(format!(
                "partition column '{name}' has type {}; only primitive types partition a table",
                f.data_type
            )),
            Some(_) => {}
        }
        if columns[..i].contains(name) {
            problems.push(format!("partition column '{name}' is listed twice"));
        }
    }
    problems
}

/// Whether a feature in force gives `needed`: itself, or its preview.
fn satisfies(in_force: &TableFeature, needed: &TableFeature) -> bool {
    in_force == needed
        || matches!(
            (in_force, needed),
            (
                TableFeature::TypeWideningPreview,
                TableFeature::TypeWidening
            ) | (TableFeature::VariantTypePreview, TableFeature::VariantType)
        )
}

/// Feature lists where the versions call for them, and only there; every
/// reader feature also a writer feature.
fn check_feature_lists(protocol: &Protocol, push: &mut impl FnMut(Finding)) {
    let mut problem = |reason: String| push(Finding::error("protocol.feature-lists", reason));
    let reader = protocol.min_reader_version;
    let writer = protocol.min_writer_version;
    if reader == READER_FEATURES_VERSION && protocol.reader_features.is_none() {
        problem("minReaderVersion 3 requires a readerFeatures list".to_string());
    }
    if reader != READER_FEATURES_VERSION && protocol.reader_features.is_some() {
        problem(format!(
            "readerFeatures are only allowed with minReaderVersion 3, not {reader}"
        ));
    }
    if writer == WRITER_FEATURES_VERSION && protocol.writer_features.is_none() {
        problem("minWriterVersion 7 requires a writerFeatures list".to_string());
    }
    if writer != WRITER_FEATURES_VERSION && protocol.writer_features.is_some() {
        problem(format!(
            "writerFeatures are only allowed with minWriterVersion 7, not {writer}"
        ));
    }
    if let (Some(readers), Some(writers)) = (&protocol.reader_features, &protocol.writer_features) {
        for feature in readers {
            if !writers.contains(feature) {
                problem(format!(
                    "reader feature {feature} is not also listed in writerFeatures"
                ));
            }
        }
    }
}

/// Column mapping: every field has an id and a physical name, ids are
/// unique in the schema and at most `delta.columnMapping.maxColumnId`,
/// physical names are unique among siblings.
fn column_mapping_problems(schema: &StructType, max_id: Option<i64>) -> Vec<Finding> {
    let mut problems = Vec::new();
    let mut ids = HashSet::new();
    let problem = |column: &str, reason: String| {
        Finding::error("metadata.column-mapping", reason).at_column(column)
    };
    let mut visit = |path: &str, field: &StructField, siblings: &mut HashSet<String>| {
        match field.column_mapping_id() {
            None => problems.push(problem(path, "the column has no column-mapping id".into())),
            Some(id) => {
                if !ids.insert(id) {
                    problems.push(problem(
                        path,
                        format!("column-mapping id {id} is used twice"),
                    ));
                }
                if let Some(max) = max_id
                    && id > max
                {
                    problems.push(problem(
                        path,
                        format!("column-mapping id {id} is above delta.columnMapping.maxColumnId ({max})"),
                    ));
                }
            }
        }
        match field.metadata.get(COLUMN_MAPPING_PHYSICAL_NAME) {
            None => problems.push(problem(path, "the column has no physical name".into())),
            Some(_) if !siblings.insert(field.physical_name().to_string()) => {
                problems.push(problem(
                    path,
                    format!(
                        "physical name '{}' is used twice in one struct",
                        field.physical_name()
                    ),
                ))
            }
            Some(_) => {}
        }
    };
    walk(&schema.fields, "", &mut visit);
    // an id key with a value that is no integer
    walk(&schema.fields, "", &mut |path, field, _| {
        if field.metadata.contains_key(COLUMN_MAPPING_ID) && field.column_mapping_id().is_none() {
            problems.push(problem(
                path,
                "the column-mapping id is not an integer".into(),
            ));
        }
    });
    problems
}

/// Calls `visit` for every field at any depth, with its dotted path and the
/// physical names seen so far among its siblings.
fn walk(
    fields: &[StructField],
    prefix: &str,
    visit: &mut dyn FnMut(&str, &StructField, &mut HashSet<String>),
) {
    let mut siblings = HashSet::new();
    for field in fields {
        let path = if prefix.is_empty() {
            field.name.clone()
        } else {
            format!("{prefix}.{}", field.name)
        };
        visit(&path, field, &mut siblings);
        walk_type(&field.data_type, &path, visit);
    }
}

fn walk_type(
    data_type: &DataType,
    path: &str,
    visit: &mut dyn FnMut(&str, &StructField, &mut HashSet<String>),
) {
    match data_type {
        DataType::Struct(s) => walk(&s.fields, path, visit),
        DataType::Array(a) => walk_type(&a.element_type, &format!("{path}.element"), visit),
        DataType::Map(m) => {
            walk_type(&m.key_type, &format!("{path}.key"), visit);
            walk_type(&m.value_type, &format!("{path}.value"), visit);
        }
        DataType::Primitive(_) => {}
    }
}
