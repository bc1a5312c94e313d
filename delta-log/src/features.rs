//! The protocol's table features (PROTOCOL.md §"Table Features"): their
//! names, whether readers must know them too, and the legacy protocol
//! versions that imply them. The one place that spells feature names.

use std::fmt;

/// A table feature as named in `readerFeatures` / `writerFeatures`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TableFeature {
    /// `appendOnly`: no data may be removed or rewritten.
    AppendOnly,
    /// `invariants`: `delta.invariants` column metadata hold on every row.
    Invariants,
    /// `checkConstraints`: `delta.constraints.*` hold on every row.
    CheckConstraints,
    /// `changeDataFeed`: change data files when enabled.
    ChangeDataFeed,
    /// `generatedColumns`: columns computed from others.
    GeneratedColumns,
    /// `columnMapping`: physical names and ids for columns.
    ColumnMapping,
    /// `identityColumns`: columns with generated unique values.
    IdentityColumns,
    /// `deletionVectors`: rows deleted without rewriting files.
    DeletionVectors,
    /// `rowTracking`: stable row ids and commit versions.
    RowTracking,
    /// `timestampNtz`: timestamps without time zone.
    TimestampNtz,
    /// `domainMetadata`: named configuration domains.
    DomainMetadata,
    /// `v2Checkpoint`: V2 checkpoints with sidecars.
    V2Checkpoint,
    /// `icebergCompatV1`.
    IcebergCompatV1,
    /// `icebergCompatV2`.
    IcebergCompatV2,
    /// `icebergCompatV3`.
    IcebergCompatV3,
    /// `icebergWriterCompatV1`.
    IcebergWriterCompatV1,
    /// `clustering`: liquid clustering columns tracked in a domain.
    Clustering,
    /// `vacuumProtocolCheck`: VACUUM checks the write protocol first.
    VacuumProtocolCheck,
    /// `typeWidening`: column types widened in place.
    TypeWidening,
    /// `typeWidening-preview`.
    TypeWideningPreview,
    /// `inCommitTimestamp`: commit times stored in `commitInfo`.
    InCommitTimestamp,
    /// `variantType`: the variant type.
    VariantType,
    /// `variantType-preview`.
    VariantTypePreview,
    /// `variantShredding-preview`.
    VariantShreddingPreview,
    /// `catalogManaged`: commits go through a catalog.
    CatalogManaged,
    /// `catalogOwned-preview`.
    CatalogOwnedPreview,
    /// `allowColumnDefaults`: column default values.
    AllowColumnDefaults,
    /// A name this implementation does not know.
    Unknown(String),
}

/// Every known feature, in the order of the protocol's feature table.
pub const KNOWN_FEATURES: [TableFeature; 27] = [
    TableFeature::AppendOnly,
    TableFeature::Invariants,
    TableFeature::CheckConstraints,
    TableFeature::ChangeDataFeed,
    TableFeature::GeneratedColumns,
    TableFeature::ColumnMapping,
    TableFeature::IdentityColumns,
    TableFeature::DeletionVectors,
    TableFeature::RowTracking,
    TableFeature::TimestampNtz,
    TableFeature::DomainMetadata,
    TableFeature::V2Checkpoint,
    TableFeature::IcebergCompatV1,
    TableFeature::IcebergCompatV2,
    TableFeature::IcebergCompatV3,
    TableFeature::IcebergWriterCompatV1,
    TableFeature::Clustering,
    TableFeature::VacuumProtocolCheck,
    TableFeature::TypeWidening,
    TableFeature::TypeWideningPreview,
    TableFeature::InCommitTimestamp,
    TableFeature::VariantType,
    TableFeature::VariantTypePreview,
    TableFeature::VariantShreddingPreview,
    TableFeature::CatalogManaged,
    TableFeature::CatalogOwnedPreview,
    TableFeature::AllowColumnDefaults,
];

/// What a feature is: its name, whether readers need it, and the legacy
/// (reader, writer) versions that imply it.
struct FeatureInfo {
    name: &'static str,
    reader_writer: bool,
    legacy_reader: Option<i32>,
    legacy_writer: Option<i32>,
}

const fn writer(name: &'static str, legacy_writer: Option<i32>) -> FeatureInfo {
    FeatureInfo {
        name,
        reader_writer: false,
        legacy_reader: None,
        legacy_writer,
    }
}

const fn reader_writer(name: &'static str) -> FeatureInfo {
    FeatureInfo {
        name,
        reader_writer: true,
        legacy_reader: None,
        legacy_writer: None,
    }
}

impl TableFeature {
    /// The feature of this name (`Unknown` for names we do not know).
    pub fn from_name(name: &str) -> TableFeature {
        KNOWN_FEATURES
            .iter()
            .find(|f| f.name() == name)
            .cloned()
            .unwrap_or_else(|| TableFeature::Unknown(name.to_string()))
    }

    fn info(&self) -> Option<FeatureInfo> {
        use TableFeature as F;
        Some(match self {
            F::AppendOnly => writer("appendOnly", Some(2)),
            F::Invariants => writer("invariants", Some(2)),
            F::CheckConstraints => writer("checkConstraints", Some(3)),
            F::ChangeDataFeed => writer("changeDataFeed", Some(4)),
            F::GeneratedColumns => writer("generatedColumns", Some(4)),
            F::ColumnMapping => FeatureInfo {
                name: "columnMapping",
                reader_writer: true,
                legacy_reader: Some(2),
                legacy_writer: Some(5),
            },
            F::IdentityColumns => writer("identityColumns", Some(6)),
            F::DeletionVectors => reader_writer("deletionVectors"),
            F::RowTracking => writer("rowTracking", None),
            F::TimestampNtz => reader_writer("timestampNtz"),
            F::DomainMetadata => writer("domainMetadata", None),
            F::V2Checkpoint => reader_writer("v2Checkpoint"),
            F::IcebergCompatV1 => writer("icebergCompatV1", None),
            F::IcebergCompatV2 => writer("icebergCompatV2", None),
            F::IcebergCompatV3 => writer("icebergCompatV3", None),
            F::IcebergWriterCompatV1 => writer("icebergWriterCompatV1", None),
            F::Clustering => writer("clustering", None),
            F::VacuumProtocolCheck => reader_writer("vacuumProtocolCheck"),
            F::TypeWidening => reader_writer("typeWidening"),
            F::TypeWideningPreview => reader_writer("typeWidening-preview"),
            F::InCommitTimestamp => writer("inCommitTimestamp", None),
            F::VariantType => reader_writer("variantType"),
            F::VariantTypePreview => reader_writer("variantType-preview"),
            F::VariantShreddingPreview => reader_writer("variantShredding-preview"),
            F::CatalogManaged => reader_writer("catalogManaged"),
            F::CatalogOwnedPreview => reader_writer("catalogOwned-preview"),
            F::AllowColumnDefaults => writer("allowColumnDefaults", None),
            F::Unknown(_) => return None,
        })
    }

    /// The name as the protocol writes it.
    pub fn name(&self) -> &str {
        match self {
            TableFeature::Unknown(name) => name,
            known => known.info().map_or("", |i| i.name),
        }
    }

    /// Whether readers must implement it too (listed in `readerFeatures`).
    /// `None` for an unknown feature.
    pub fn is_reader_writer(&self) -> Option<bool> {
        self.info().map(|i| i.reader_writer)
    }

    /// The legacy writer version (2 to 6) that implies it, if any.
    pub fn legacy_writer_version(&self) -> Option<i32> {
        self.info().and_then(|i| i.legacy_writer)
    }

    /// The legacy reader version (2) that implies it, if any.
    pub fn legacy_reader_version(&self) -> Option<i32> {
        self.info().and_then(|i| i.legacy_reader)
    }

    /// Whether it can only be named in a feature list (no legacy version
    /// implies it), so a table using it needs writer version 7.
    pub fn needs_feature_lists(&self) -> bool {
        self.legacy_writer_version().is_none()
    }
}

impl fmt::Display for TableFeature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<&str> for TableFeature {
    fn from(name: &str) -> Self {
        TableFeature::from_name(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for feature in &KNOWN_FEATURES {
            assert!(!feature.name().is_empty());
            assert_eq!(&TableFeature::from_name(feature.name()), feature);
        }
        assert_eq!(
            TableFeature::from_name("fancyNewThing"),
            TableFeature::Unknown("fancyNewThing".into())
        );
        assert_eq!(
            TableFeature::from_name("fancyNewThing").name(),
            "fancyNewThing"
        );
        assert_eq!(
            TableFeature::TypeWideningPreview.to_string(),
            "typeWidening-preview"
        );
    }

    #[test]
    fn kinds_and_legacy_versions() {
        assert_eq!(TableFeature::DeletionVectors.is_reader_writer(), Some(true));
        assert_eq!(TableFeature::AppendOnly.is_reader_writer(), Some(false));
        assert_eq!(TableFeature::Unknown("x".into()).is_reader_writer(), None);
        assert_eq!(TableFeature::ColumnMapping.legacy_reader_version(), Some(2));
        assert_eq!(TableFeature::ColumnMapping.legacy_writer_version(), Some(5));
        assert_eq!(
            TableFeature::IdentityColumns.legacy_writer_version(),
            Some(6)
        );
        assert!(TableFeature::InCommitTimestamp.needs_feature_lists());
        assert!(!TableFeature::CheckConstraints.needs_feature_lists());
    }
}
