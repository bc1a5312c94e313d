//! The smallest protocol a table needs: reader 1 / writer 2 for a plain
//! table, legacy versions where a legacy feature suffices, and table features
//! (reader 3 / writer 7) when a feature requires them.

use std::collections::HashMap;

use delta_log::{Protocol, READER_FEATURES_VERSION, WRITER_FEATURES_VERSION};
use delta_schema::{DataType, PrimitiveType, StructType};

/// Features that readers must understand too (reader-writer features).
const READER_WRITER_FEATURES: &[&str] = &[
    "columnMapping",
    "deletionVectors",
    "timestampNtz",
    "typeWidening",
    "v2Checkpoint",
    "vacuumProtocolCheck",
    "variantType",
];

/// Features that only exist as named table features (no legacy version).
const NAMED_ONLY_FEATURES: &[&str] = &[
    "deletionVectors",
    "timestampNtz",
    "typeWidening",
    "v2Checkpoint",
    "vacuumProtocolCheck",
    "variantType",
    "domainMetadata",
    "inCommitTimestamp",
    "rowTracking",
    "clustering",
];

/// The legacy writer version that implies a feature, if any.
fn legacy_writer_version(feature: &str) -> Option<i32> {
    Some(match feature {
        "appendOnly" | "invariants" => 2,
        "checkConstraints" => 3,
        "changeDataFeed" | "generatedColumns" => 4,
        "columnMapping" => 5,
        "identityColumns" => 6,
        _ => return None,
    })
}

fn is_true(properties: &HashMap<String, String>, key: &str) -> bool {
    properties
        .get(key)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The features a table with this schema and these properties uses.
pub fn required_features(
    schema: &StructType,
    properties: &HashMap<String, String>,
) -> Vec<&'static str> {
    let mut features = Vec::new();
    if is_true(properties, "delta.appendOnly") {
        features.push("appendOnly");
    }
    if properties
        .keys()
        .any(|k| k.starts_with("delta.constraints."))
    {
        features.push("checkConstraints");
    }
    if is_true(properties, "delta.enableChangeDataFeed") {
        features.push("changeDataFeed");
    }
    if properties
        .get("delta.columnMapping.mode")
        .is_some_and(|m| m != "none")
    {
        features.push("columnMapping");
    }
    if is_true(properties, "delta.enableDeletionVectors") {
        features.push("deletionVectors");
    }
    if is_true(properties, "delta.enableInCommitTimestamps") {
        features.push("inCommitTimestamp");
    }
    if is_true(properties, "delta.enableTypeWidening") {
        features.push("typeWidening");
    }
    if properties
        .get("delta.checkpointPolicy")
        .is_some_and(|p| p == "v2")
    {
        features.push("v2Checkpoint");
    }
    let mut ntz = false;
    let mut variant = false;
    for field in &schema.fields {
        field.data_type.visit(&mut |t| match t {
            DataType::Primitive(PrimitiveType::TimestampNtz) => ntz = true,
            DataType::Primitive(PrimitiveType::Variant) => variant = true,
            _ => {}
        });
    }
    if ntz {
        features.push("timestampNtz");
    }
    if variant {
        features.push("variantType");
    }
    features
}

/// The smallest protocol that supports `features`.
pub fn protocol_for(features: &[&str]) -> Protocol {
    let needs_names = features.iter().any(|f| NAMED_ONLY_FEATURES.contains(f));
    if !needs_names {
        let writer = features
            .iter()
            .filter_map(|f| legacy_writer_version(f))
            .max()
            .unwrap_or(2)
            .max(2);
        let reader = if features.contains(&"columnMapping") {
            2
        } else {
            1
        };
        return Protocol {
            min_reader_version: reader,
            min_writer_version: writer,
            reader_features: None,
            writer_features: None,
        };
    }
    let mut writer: Vec<String> = features.iter().map(|f| f.to_string()).collect();
    writer.sort();
    writer.dedup();
    let reader: Vec<String> = writer
        .iter()
        .filter(|f| READER_WRITER_FEATURES.contains(&f.as_str()))
        .cloned()
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
pub fn upgrade(current: &Protocol, features: &[&str]) -> Option<Protocol> {
    let in_force = current.features_in_force();
    let missing: Vec<&str> = features
        .iter()
        .copied()
        .filter(|f| !in_force.contains(f))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let mut all: Vec<&str> = in_force;
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
    use super::*;
    use delta_schema::StructField;

    fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn plain() -> StructType {
        StructType::new([StructField::new("id", DataType::LONG, true)])
    }

    #[test]
    fn plain_tables_get_reader_1_writer_2() {
        let p = protocol_for(&required_features(&plain(), &HashMap::new()));
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
        let p = protocol_for(&["inCommitTimestamp"]);
        assert_eq!((p.min_reader_version, p.min_writer_version), (1, 7));
    }

    #[test]
    fn upgrades_keep_implied_features() {
        let current = protocol_for(&[]);
        assert!(upgrade(&current, &["appendOnly"]).is_none());
        let next = upgrade(&current, &["deletionVectors"]).unwrap();
        assert_eq!(
            next.writer_features.unwrap(),
            ["appendOnly", "deletionVectors", "invariants"]
        );
        let next = upgrade(&current, &["checkConstraints"]).unwrap();
        assert_eq!((next.min_reader_version, next.min_writer_version), (1, 3));
    }
}
