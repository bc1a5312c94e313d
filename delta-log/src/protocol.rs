//! Protocol checks: is the `protocol` action well formed, and can a reader
//! that implements a given set of reader features read the table?

use crate::LogError;
use crate::actions::Protocol;

/// Highest reader version the protocol defines.
pub const MAX_READER_VERSION: i32 = 3;
/// Highest writer version the protocol defines.
pub const MAX_WRITER_VERSION: i32 = 7;
/// Reader version from which features are listed by name.
pub const READER_FEATURES_VERSION: i32 = 3;
/// Writer version from which features are listed by name.
pub const WRITER_FEATURES_VERSION: i32 = 7;

/// The features each legacy writer version implies.
const LEGACY_WRITER_FEATURES: &[(i32, &str)] = &[
    (2, "appendOnly"),
    (2, "invariants"),
    (3, "checkConstraints"),
    (4, "changeDataFeed"),
    (4, "generatedColumns"),
    (5, "columnMapping"),
    (6, "identityColumns"),
];

impl Protocol {
    /// Reader features in force: the listed ones at reader version 3, and the
    /// features legacy reader versions imply (2: column mapping).
    pub fn reader_features_in_force(&self) -> Vec<&str> {
        match self.min_reader_version {
            v if v >= READER_FEATURES_VERSION => self
                .reader_features
                .iter()
                .flatten()
                .map(String::as_str)
                .collect(),
            2 => vec!["columnMapping"],
            _ => Vec::new(),
        }
    }

    /// Writer features in force: the listed ones at writer version 7, and the
    /// features legacy writer versions imply (PROTOCOL.md §"Table Features").
    pub fn writer_features_in_force(&self) -> Vec<&str> {
        if self.min_writer_version >= WRITER_FEATURES_VERSION {
            return self
                .writer_features
                .iter()
                .flatten()
                .map(String::as_str)
                .collect();
        }
        LEGACY_WRITER_FEATURES
            .iter()
            .filter(|(v, _)| self.min_writer_version >= *v)
            .map(|(_, f)| *f)
            .collect()
    }

    /// Every feature in force (reader and writer), sorted, without duplicates.
    pub fn features_in_force(&self) -> Vec<&str> {
        let mut all = self.reader_features_in_force();
        all.extend(self.writer_features_in_force());
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Whether a reader feature is in force.
    pub fn has_reader_feature(&self, feature: &str) -> bool {
        self.reader_features_in_force().contains(&feature)
    }

    /// Whether a writer feature is listed (writer version 7).
    pub fn has_writer_feature(&self, feature: &str) -> bool {
        self.writer_features.iter().flatten().any(|f| f == feature)
    }

    /// Checks the action is well formed and that every reader feature it
    /// requires is in `supported`; `version` is the table version, for messages.
    pub fn check_readable(&self, supported: &[&str], version: u64) -> Result<(), LogError> {
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
        if self.min_reader_version > MAX_READER_VERSION {
            return Err(LogError::UnsupportedFeature {
                feature: format!("minReaderVersion {}", self.min_reader_version),
                version,
                reason: format!("readers implement versions up to {MAX_READER_VERSION}"),
            });
        }
        if self.min_reader_version == READER_FEATURES_VERSION && self.reader_features.is_none() {
            return Err(invalid(
                "minReaderVersion 3 requires a readerFeatures list".to_string(),
            ));
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

    #[test]
    fn refuses_unsupported_and_malformed_protocols() {
        let ok = protocol(3, 7, Some(&["deletionVectors"]));
        assert!(ok.check_readable(&["deletionVectors"], 1).is_ok());
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
            protocol(1, 2, None).features_in_force(),
            ["appendOnly", "invariants"]
        );
        assert_eq!(
            protocol(2, 5, None).features_in_force(),
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
        assert_eq!(named.features_in_force(), ["appendOnly", "deletionVectors"]);
    }
}
