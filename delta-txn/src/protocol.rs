//! The smallest protocol a table needs: reader 1 / writer 2 for a plain
//! table, legacy versions where a legacy feature suffices, and table features
//! (reader 3 / writer 7) when a feature requires them.

use delta_log::properties::{CheckpointPolicy, ColumnMapping};
use delta_log::{
    Protocol, READER_FEATURES_VERSION, TableFeature, TableProperties, WRITER_FEATURES_VERSION,
};
use delta_schema::{DataType, PrimitiveType, StructType};

/// The features a table with this schema and these properties uses.
pub fn required_features(schema: &StructType, properties: &TableProperties) -> Vec<TableFeature> {
    let mut features = Vec::new();
    let mut need = |on: bool, feature: TableFeature| {
        if on {
            features.push(feature);
        }
    };
    need(properties.append_only, TableFeature::AppendOnly);
    need(
        !properties.constraints.is_empty(),
        TableFeature::CheckConstraints,
    );
    need(
        properties.enable_change_data_feed,
        TableFeature::ChangeDataFeed,
    );
    need(
        properties.column_mapping != ColumnMapping::None,
        TableFeature::ColumnMapping,
    );
    need(
        properties.enable_deletion_vectors,
        TableFeature::DeletionVectors,
    );
    need(
        properties.enable_in_commit_timestamps,
        TableFeature::InCommitTimestamp,
    );
    need(properties.enable_type_widening, TableFeature::TypeWidening);
    need(properties.enable_row_tracking, TableFeature::RowTracking);
    need(
        properties.checkpoint_policy == CheckpointPolicy::V2,
        TableFeature::V2Checkpoint,
    );
    let mut ntz = false;
    let mut variant = false;
    for field in &schema.fields {
        field.data_type.visit(&mut |t| match t {
            DataType::Primitive(PrimitiveType::TimestampNtz) => ntz = true,
            DataType::Primitive(PrimitiveType::Variant) => variant = true,
            _ => {}
        });
    }
    need(ntz, TableFeature::TimestampNtz);
    need(variant, TableFeature::VariantType);
    features
}

/// The smallest protocol that supports `features`.
pub fn protocol_for(features: &[TableFeature]) -> Protocol {
    let needs_names = features.iter().any(TableFeature::needs_feature_lists);
    if !needs_names {
        let writer = features
            .iter()
            .filter_map(TableFeature::legacy_writer_version)
            .max()
            .unwrap_or(2)
            .max(2);
        let reader = features
            .iter()
            .filter_map(TableFeature::legacy_reader_version)
            .max()
            .unwrap_or(1);
        return Protocol {
            min_reader_version: reader,
            min_writer_version: writer,
            reader_features: None,
            writer_features: None,
        };
    }
    let mut all: Vec<&TableFeature> = features.iter().collect();
    all.sort_by(|a, b| a.name().cmp(b.name()));
    all.dedup();
    let writer: Vec<String> = all.iter().map(|f| f.name().to_string()).collect();
    let reader: Vec<String> = all
        .iter()
        .filter(|f| f.is_reader_writer() == Some(true))
        .map(|f| f.name().to_string())
        .collect();
    if reader.is_empty() {
        // writer-only features: readers stay at version 1
        Protocol {
            min_reader_version: 1,
            min_writer_version: WRITER_FEATURES_VERSION,
            reader_features: None,
            writer_features: Some(writer),
        }
    } else {
        Protocol {
            min_reader_version: READER_FEATURES_VERSION,
            min_writer_version: WRITER_FEATURES_VERSION,
            reader_features: Some(reader),
            writer_features: Some(writer),
        }
    }
}

/// The protocol `current` upgraded so it also supports `features`; `None`
/// when it already does. Upgrading to table features keeps every feature the
/// old versions implied.
pub fn upgrade(current: &Protocol, features: &[TableFeature]) -> Option<Protocol> {
    let mut all = current.features_in_force();
    let missing: Vec<TableFeature> = features
        .iter()
        .filter(|f| !all.contains(f))
        .cloned()
        .collect();
    if missing.is_empty() {
        return None;
    }
    all.extend(missing);
    let mut next = protocol_for(&all);
    // never downgrade a version
    if next.reader_features.is_none() && next.writer_features.is_none() {
        next.min_reader_version = next.min_reader_version.max(current.min_reader_version);
        next.min_writer_version = next.min_writer_version.max(current.min_writer_version);
    }
    Some(next)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use delta_schema::StructField;

    fn props(pairs: &[(&str, &str)]) -> TableProperties {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TableProperties::parse(&map).unwrap()
    }

    fn plain() -> StructType {
        StructType::new([StructField::new("id", DataType::LONG, true)])
    }

    #[test]
    fn plain_tables_get_reader_1_writer_2() {
        let p = protocol_for(&required_features(&plain(), &props(&[])));
        assert_eq!((p.min_reader_version, p.min_writer_version), (1, 2));
        assert!(p.reader_features.is_none() && p.writer_features.is_none());
    }

    #[test]
    fn legacy_features_use_legacy_versions() {
        let p = protocol_for(&required_features(
            &plain(),
            &props(&[("delta.enableChangeDataFeed", "true")]),
        ));
        assert_eq!((p.min_reader_version, p.min_writer_version), (1, 4));
        let p = protocol_for(&required_features(
            &plain(),
            &props(&[("delta.columnMapping.mode", "name")]),
        ));
        assert_eq!((p.min_reader_version, p.min_writer_version), (2, 5));
    }

    #[test]
    fn named_features_use_reader_3_writer_7() {
        let schema = StructType::new([StructField::new("t", DataType::TIMESTAMP_NTZ, true)]);
        let p = protocol_for(&required_features(
            &schema,
            &props(&[("delta.appendOnly", "true")]),
        ));
        assert_eq!((p.min_reader_version, p.min_writer_version), (3, 7));
        assert_eq!(p.reader_features.unwrap(), ["timestampNtz"]);
        assert_eq!(p.writer_features.unwrap(), ["appendOnly", "timestampNtz"]);
        let p = protocol_for(&[TableFeature::InCommitTimestamp]);
        assert_eq!((p.min_reader_version, p.min_writer_version), (1, 7));
    }

    #[test]
    fn upgrades_keep_implied_features() {
        let current = protocol_for(&[]);
        assert!(upgrade(&current, &[TableFeature::AppendOnly]).is_none());
        let next = upgrade(&current, &[TableFeature::DeletionVectors]).unwrap();
        assert_eq!(
            next.writer_features.unwrap(),
            ["appendOnly", "deletionVectors", "invariants"]
        );
        let next = upgrade(&current, &[TableFeature::CheckConstraints]).unwrap();
        assert_eq!((next.min_reader_version, next.min_writer_version), (1, 3));
    }
}
