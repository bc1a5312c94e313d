//! Protocol checks: is the `protocol` action well formed, which table
//! features are in force, and can an implementation that supports a given
//! set of features read or write the table?

use crate::LogError;
use crate::actions::Protocol;
use crate::features::{KNOWN_FEATURES, TableFeature};

/// Highest reader version the protocol defines.
pub const MAX_READER_VERSION: i32 = 3;
/// Highest writer version the protocol defines.
pub const MAX_WRITER_VERSION: i32 = 7;
/// Reader version from which features are listed by name.
pub const READER_FEATURES_VERSION: i32 = 3;
/// Writer version from which features are listed by name.
pub const WRITER_FEATURES_VERSION: i32 = 7;

impl Protocol {
    /// Reader features in force: the listed ones at reader version 3, and the
    /// features legacy reader versions imply (2: column mapping).
    pub fn reader_features_in_force(&self) -> Vec<TableFeature> {
        if self.min_reader_version >= READER_FEATURES_VERSION {
            return self
                .reader_features
                .iter()
                .flatten()
                .map(|f| TableFeature::from_name(f))
                .collect();
        }
        KNOWN_FEATURES
            .iter()
            .filter(|f| {
                f.legacy_reader_version()
                    .is_some_and(|v| self.min_reader_version >= v)
            })
            .cloned()
            .collect()
    }

    /// Writer features in force: the listed ones at writer version 7, and the
    /// features legacy writer versions imply (PROTOCOL.md §"Table Features").
    pub fn writer_features_in_force(&self) -> Vec<TableFeature> {
        if self.min_writer_version >= WRITER_FEATURES_VERSION {
            return self
                .writer_features
                .iter()
                .flatten()
                .map(|f| TableFeature::from_name(f))
                .collect();
        }
        KNOWN_FEATURES
            .iter()
            .filter(|f| {
                f.legacy_writer_version()
                    .is_some_and(|v| self.min_writer_version >= v)
            })
            .cloned()
            .collect()
    }

    /// Every feature in force (reader and writer), sorted by name, without
    /// duplicates.
    pub fn features_in_force(&self) -> Vec<TableFeature> {
        let mut all = self.reader_features_in_force();
        all.extend(self.writer_features_in_force());
        all.sort_by(|a, b| a.name().cmp(b.name()));
        all.dedup();
        all
    }

    /// Whether a feature is in force for readers.
    pub fn has_reader_feature(&self, feature: &TableFeature) -> bool {
        self.reader_features_in_force().contains(feature)
    }

    /// Whether a feature is in force for writers (listed, or implied by a
    /// legacy writer version).
    pub fn has_writer_feature(&self, feature: &TableFeature) -> bool {
        self.writer_features_in_force().contains(feature)
    }

    fn check_well_formed(&self, version: u64) -> Result<(), LogError> {
        let invalid = |reason: String| LogError::InvalidProtocol { version, reason };
        if self.min_reader_version < 1 || self.min_writer_version < 1 {
            return Err(invalid(format!(
                "reader version {} and writer version {} must be at least 1",
                self.min_reader_version, self.min_writer_version
            )));
        }
        if self.reader_features.is_some() && self.min_reader_version != READER_FEATURES_VERSION {
            return Err(invalid(format!(
                "readerFeatures are only allowed with minReaderVersion 3, found minReaderVersion {}",
                self.min_reader_version
            )));
        }
        Ok(())
    }

    /// Checks the action is well formed and that every reader feature it
    /// requires is in `supported`; `version` is the table version, for messages.
    pub fn check_readable(&self, supported: &[TableFeature], version: u64) -> Result<(), LogError> {
        self.check_well_formed(version)?;
        if self.min_reader_version > MAX_READER_VERSION {
            return Err(LogError::UnsupportedFeature {
                feature: format!("minReaderVersion {}", self.min_reader_version),
                version,
                reason: format!("readers implement versions up to {MAX_READER_VERSION}"),
            });
        }
        if self.min_reader_version == READER_FEATURES_VERSION && self.reader_features.is_none() {
            return Err(LogError::InvalidProtocol {
                version,
                reason: "minReaderVersion 3 requires a readerFeatures list".to_string(),
            });
        }
        for feature in self.reader_features_in_force() {
            if !supported.contains(&feature) {
                return Err(LogError::UnsupportedFeature {
                    feature: feature.to_string(),
                    version,
                    reason: "this reader does not implement it".to_string(),
                });
            }
        }
        Ok(())
    }

    /// Checks that a writer may commit to a table with this protocol: it is
    /// well formed, its writer version is one the protocol defines, and
    /// `support` accepts every writer feature in force (listed, or implied
    /// by a legacy writer version). `support` returns why a feature cannot
    /// be respected; the error names the feature and carries that reason.
    pub fn check_writable(
        &self,
        version: u64,
        support: impl Fn(&TableFeature) -> Result<(), String>,
    ) -> Result<(), LogError> {
        self.check_well_formed(version)?;
        if self.min_writer_version > MAX_WRITER_VERSION {
            return Err(LogError::UnsupportedFeature {
                feature: format!("minWriterVersion {}", self.min_writer_version),
                version,
                reason: format!("writers implement versions up to {MAX_WRITER_VERSION}"),
            });
        }
        if self.writer_features.is_some() && self.min_writer_version != WRITER_FEATURES_VERSION {
            return Err(LogError::InvalidProtocol {
                version,
                reason: format!(
                    "writerFeatures are only allowed with minWriterVersion 7, found minWriterVersion {}",
                    self.min_writer_version
                ),
            });
        }
        if self.min_writer_version == WRITER_FEATURES_VERSION && self.writer_features.is_none() {
            return Err(LogError::InvalidProtocol {
                version,
                reason: "minWriterVersion 7 requires a writerFeatures list".to_string(),
            });
        }
        for feature in self.writer_features_in_force() {
            support(&feature).map_err(|reason| LogError::UnsupportedFeature {
                feature: feature.to_string(),
                version,
                reason,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protocol(r: i32, w: i32, rf: Option<&[&str]>) -> Protocol {
        Protocol {
            min_reader_version: r,
            min_writer_version: w,
            reader_features: rf.map(|f| f.iter().map(|s| s.to_string()).collect()),
            writer_features: None,
        }
    }

    fn names(features: Vec<TableFeature>) -> Vec<String> {
        features.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn refuses_unsupported_and_malformed_protocols() {
        let ok = protocol(3, 7, Some(&["deletionVectors"]));
        assert!(
            ok.check_readable(&[TableFeature::DeletionVectors], 1)
                .is_ok()
        );
        let err = ok.check_readable(&[], 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported table feature 'deletionVectors' (version 1): this reader does not implement it"
        );
        let err = protocol(5, 7, Some(&["blahabl"]))
            .check_readable(&[], 0)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("readerFeatures are only allowed with minReaderVersion 3")
        );
        let err = protocol(4, 7, None).check_readable(&[], 0).unwrap_err();
        assert!(matches!(err, LogError::UnsupportedFeature { .. }));
        let err = protocol(2, 5, None).check_readable(&[], 0).unwrap_err();
        assert!(err.to_string().contains("'columnMapping'"));
        assert!(protocol(1, 2, None).check_readable(&[], 0).is_ok());
    }

    #[test]
    fn legacy_versions_imply_features() {
        assert_eq!(
            names(protocol(1, 2, None).features_in_force()),
            ["appendOnly", "invariants"]
        );
        assert_eq!(
            names(protocol(2, 5, None).features_in_force()),
            [
                "appendOnly",
                "changeDataFeed",
                "checkConstraints",
                "columnMapping",
                "generatedColumns",
                "invariants"
            ]
        );
        let mut named = protocol(3, 7, Some(&["deletionVectors"]));
        named.writer_features = Some(vec!["deletionVectors".into(), "appendOnly".into()]);
        assert_eq!(
            names(named.features_in_force()),
            ["appendOnly", "deletionVectors"]
        );
        assert!(named.has_writer_feature(&TableFeature::AppendOnly));
        assert!(!named.has_writer_feature(&TableFeature::Invariants));
    }

    #[test]
    fn writable_needs_every_writer_feature_supported() {
        let only_append = |f: &TableFeature| match f {
            TableFeature::AppendOnly | TableFeature::Invariants => Ok(()),
            other => Err(format!("no support for {other}")),
        };
        assert!(protocol(1, 2, None).check_writable(3, only_append).is_ok());
        let err = protocol(1, 3, None)
            .check_writable(3, only_append)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported table feature 'checkConstraints' (version 3): no support for checkConstraints"
        );
        let mut unknown = protocol(1, 7, None);
        unknown.writer_features = Some(vec!["appendOnly".into(), "futureThing".into()]);
        let err = unknown.check_writable(0, only_append).unwrap_err();
        assert!(
            matches!(&err, LogError::UnsupportedFeature { feature, .. } if feature == "futureThing")
        );
        let err = protocol(1, 8, None)
            .check_writable(0, only_append)
            .unwrap_err();
        assert!(err.to_string().contains("minWriterVersion 8"), "{err}");
        let err = protocol(1, 7, None)
            .check_writable(0, only_append)
            .unwrap_err();
        assert!(
            err.to_string().contains("requires a writerFeatures list"),
            "{err}"
        );
        let mut listed_early = protocol(1, 4, None);
        listed_early.writer_features = Some(vec!["appendOnly".into()]);
        let err = listed_early.check_writable(0, only_append).unwrap_err();
        assert!(matches!(err, LogError::InvalidProtocol { .. }));
    }
}
