//! May this implementation commit to a table? Every writer feature in force
//! (listed, or implied by a legacy writer version) must be one we respect
//! (PROTOCOL.md §"Table Features"); a feature we cannot respect refuses the
//! commit by name, before any data is written. Features whose rules only
//! bite when the table uses them (generated and identity columns) refuse
//! only tables that use them; CHECK constraints and invariants are checked
//! on written rows, and refuse only where an expression cannot be evaluated.
//!
//! Pure code over the protocol, metadata and schema of the commit.

use delta_log::{Metadata, Protocol, Remove, TableFeature, TableProperties};
use delta_schema::{DataType, StructField, StructType};

use crate::TxnError;

/// Field metadata key of a generated column's expression.
const GENERATION_EXPRESSION_KEY: &str = "delta.generationExpression";
/// Prefix of the field metadata keys of an identity column.
const IDENTITY_PREFIX: &str = "delta.identity.";

/// Whether this implementation respects `feature` on a table with this
/// schema and these properties; the error says why not.
pub fn writer_feature_support(
    feature: &TableFeature,
    schema: &StructType,
    properties: &TableProperties,
) -> Result<(), String> {
    use TableFeature as F;
    match feature {
        // enforced on every commit (see `check_append_only`)
        F::AppendOnly
        // written as the protocol asks, or nothing to do for appends and
        // overwrites of whole files (readers derive change data from removes)
        | F::ChangeDataFeed
        | F::ColumnMapping
        | F::DeletionVectors
        | F::DomainMetadata
        | F::InCommitTimestamp
        | F::TimestampNtz
        | F::TypeWidening
        | F::TypeWideningPreview
        | F::V2Checkpoint
        | F::VacuumProtocolCheck
        | F::VariantType
        | F::VariantTypePreview => Ok(()),
        // checked on every row `Table::write` adds, when this implementation
        // can evaluate them (`crate::constraints`)
        F::CheckConstraints => crate::constraints::check_constraints_checkable(schema, properties),
        F::Invariants => crate::constraints::invariants_checkable(schema),
        F::GeneratedColumns => {
            match fields_with(schema, |f| f.metadata.contains_key(GENERATION_EXPRESSION_KEY)) {
                None => Ok(()),
                Some(column) => Err(format!(
                    "column '{column}' is a generated column, and computing generated columns is not implemented yet"
                )),
            }
        }
        F::IdentityColumns => {
            match fields_with(schema, |f| f.metadata.keys().any(|k| k.starts_with(IDENTITY_PREFIX))) {
                None => Ok(()),
                Some(column) => Err(format!(
                    "column '{column}' is an identity column, and generating identity values is not implemented yet"
                )),
            }
        }
        F::RowTracking => Err("assigning row ids is not implemented yet".to_string()),
        F::Clustering => Err("maintaining clustering columns is not implemented yet".to_string()),
        F::IcebergCompatV1 | F::IcebergCompatV2 | F::IcebergCompatV3 | F::IcebergWriterCompatV1 => {
            Err("the Iceberg compatibility rules are not implemented".to_string())
        }
        F::CatalogManaged | F::CatalogOwnedPreview => {
            Err("commits must go through the table's catalog, which this writer does not do".to_string())
        }
        F::AllowColumnDefaults => Err("column defaults are not implemented yet".to_string()),
        F::VariantShreddingPreview => {
            Err("shredded variants are not implemented".to_string())
        }
        F::Unknown(_) => Err("this writer does not know the feature".to_string()),
        _ => Err("this writer does not implement it".to_string()),
    }
}

/// Refuses a commit of this protocol and metadata (at `version`, for
/// messages) unless every writer feature in force is respected.
pub fn check_writable(
    protocol: &Protocol,
    metadata: &Metadata,
    version: u64,
) -> Result<(), TxnError> {
    let schema =
        StructType::from_json(&metadata.schema_string).map_err(|source| TxnError::Schema {
            version,
            file: None,
            source,
        })?;
    let properties = TableProperties::parse(&metadata.configuration)?;
    protocol.check_writable(version, |feature| {
        writer_feature_support(feature, &schema, &properties)
    })?;
    Ok(())
}

/// Refuses removing data from an append-only table (`delta.appendOnly`):
/// any `remove` with `dataChange = true`.
pub fn check_append_only(
    protocol: &Protocol,
    metadata: &Metadata,
    removes: &[Remove],
    operation: &str,
    table: &str,
) -> Result<(), TxnError> {
    let removed = removes.iter().filter(|r| r.data_change).count();
    if removed == 0 || !protocol.has_writer_feature(&TableFeature::AppendOnly) {
        return Ok(());
    }
    if TableProperties::parse(&metadata.configuration)?.append_only {
        return Err(TxnError::AppendOnly {
            table: table.to_string(),
            operation: operation.to_string(),
            files: removed,
        });
    }
    Ok(())
}

/// The dotted name of the first field (depth first, through structs, arrays
/// and maps) that satisfies `test`.
fn fields_with(schema: &StructType, test: impl Fn(&StructField) -> bool) -> Option<String> {
    fn walk(
        fields: &[StructField],
        prefix: &str,
        test: &dyn Fn(&StructField) -> bool,
    ) -> Option<String> {
        for field in fields {
            let name = if prefix.is_empty() {
                field.name.clone()
            } else {
                format!("{prefix}.{}", field.name)
            };
            if test(field) {
                return Some(name);
            }
            if let Some(found) = walk_type(&field.data_type, &name, test) {
                return Some(found);
            }
        }
        None
    }
    fn walk_type(
        data_type: &DataType,
        name: &str,
        test: &dyn Fn(&StructField) -> bool,
    ) -> Option<String> {
        match data_type {
            DataType::Struct(s) => walk(&s.fields, name, test),
            DataType::Array(a) => walk_type(&a.element_type, &format!("{name}.element"), test),
            DataType::Map(m) => walk_type(&m.key_type, &format!("{name}.key"), test)
                .or_else(|| walk_type(&m.value_type, &format!("{name}.value"), test)),
            _ => None,
        }
    }
    walk(&schema.fields, "", &test)
}

/// Each writer feature in force on a table with this protocol and metadata,
/// with whether this implementation respects it (the error says why not).
pub fn writer_support(
    protocol: &Protocol,
    metadata: &Metadata,
) -> Vec<(TableFeature, Result<(), String>)> {
    let parsed = StructType::from_json(&metadata.schema_string)
        .map_err(|e| format!("the table schema does not parse: {e}"))
        .and_then(|schema| {
            TableProperties::parse(&metadata.configuration)
                .map(|properties| (schema, properties))
                .map_err(|e| e.to_string())
        });
    protocol
        .writer_features_in_force()
        .into_iter()
        .map(|feature| {
            let support = match &parsed {
                Ok((schema, properties)) => writer_feature_support(&feature, schema, properties),
                Err(reason) => Err(reason.clone()),
            };
            (feature, support)
        })
        .collect()
}
