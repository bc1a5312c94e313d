//! Conflict checking: may a transaction that lost the race for a version be
//! committed after the winners, or does one of them change what it read?
//!
//! Pure and sync: [`check`] decides from the transaction's [`ReadSet`], a
//! summary of what it commits ([`Staged`]) and one winning commit's actions.
//! The rules and their order are Delta's (Spark's `ConflictChecker`, see
//! DELTA-RULES.md §1.3):
//!
//! 1. the winner changed the protocol → [`ConflictKind::ProtocolChanged`];
//! 2. the winner changed the metadata → [`ConflictKind::MetadataChanged`];
//! 3. both touch the same metadata domain → [`ConflictKind::ConcurrentDomain`];
//! 4. the winner committed for an application id this transaction read →
//!    [`ConflictKind::ConcurrentTransaction`];
//! 5. the winner added files this transaction should have read →
//!    [`ConflictKind::ConcurrentAppend`]. Which added files count depends on
//!    the isolation level: under WriteSerializable (Delta's default) the
//!    files of a blind append do not, unless this transaction changes the
//!    metadata; under Serializable they do. A blind append of ours, and a
//!    commit of ours that changes no data (compaction), skip this rule. An
//!    added file counts when it may hold a row matching a read predicate
//!    (by its partition values and statistics), or always when the whole
//!    table was read;
//! 6. the winner removed a file this transaction read, or removed anything
//!    after it read the whole table → [`ConflictKind::ConcurrentDeleteRead`];
//! 7. both remove the same file → [`ConflictKind::ConcurrentDeleteDelete`].
//!
//! Otherwise the transaction is rebased onto the winner and tried again.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use delta_expr::{Expr, SkippingPredicate, bind_predicate};
use delta_log::properties::ISOLATION_LEVEL;
use delta_log::{Action, ActiveFiles, Add};
use delta_schema::StructType;

use crate::TxnError;
use crate::skipping::{self, StatsCache};

/// How much of the order of concurrent transactions a reader may observe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationLevel {
    /// Every transaction, reads included, appears to run one after the other.
    Serializable,
    /// Writes are serializable; a transaction may commit past a concurrent
    /// blind append it did not see (Delta's default).
    #[default]
    WriteSerializable,
}

impl IsolationLevel {
    /// The level set by `delta.isolationLevel` (default WriteSerializable).
    pub fn of_table(configuration: &HashMap<String, String>) -> Result<Self, TxnError> {
        match configuration.get(ISOLATION_LEVEL).map(String::as_str) {
            None => Ok(IsolationLevel::default()),
            Some(v) if v.eq_ignore_ascii_case("Serializable") => Ok(IsolationLevel::Serializable),
            Some(v) if v.eq_ignore_ascii_case("WriteSerializable") => {
                Ok(IsolationLevel::WriteSerializable)
            }
            Some(other) => Err(TxnError::InvalidArgument {
                reason: format!(
                    "{ISOLATION_LEVEL} = '{other}': the isolation level must be Serializable or WriteSerializable"
                ),
            }),
        }
    }

    /// The name Delta writes to `commitInfo.isolationLevel`.
    pub fn name(self) -> &'static str {
        match self {
            IsolationLevel::Serializable => "Serializable",
            IsolationLevel::WriteSerializable => "WriteSerializable",
        }
    }
}

/// What a transaction read, recorded as it reads (Spark's read predicates,
/// files read, `readWholeTable`, application ids and domains).
#[derive(Debug, Clone, Default)]
pub struct ReadSet {
    /// Predicates of the rows it read (in the table's logical names).
    pub predicates: Vec<Expr>,
    /// Whether it read every row (an overwrite, a new constraint's check).
    pub whole_table: bool,
    /// Paths of the data files it read.
    pub files: BTreeSet<String>,
    /// Application ids whose transaction version it looked up.
    pub app_ids: BTreeSet<String>,
    /// Metadata domains it read or writes.
    pub domains: BTreeSet<String>,
}

impl ReadSet {
    /// Whether it read no data.
    pub fn is_empty_of_data(&self) -> bool {
        self.predicates.is_empty() && !self.whole_table && self.files.is_empty()
    }
}

/// What the losing transaction commits, as far as the rules care.
#[derive(Debug, Clone, Copy)]
pub struct Staged<'a> {
    /// It sets metadata.
    pub metadata: bool,
    /// It only adds files and read no data.
    pub blind_append: bool,
    /// Some of its file actions change data (false for a compaction).
    pub data_change: bool,
    /// Paths of the files it removes.
    pub removes: &'a BTreeSet<String>,
}

/// The classes of conflict, one per rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConflictKind {
    /// Another writer created the table first.
    TableCreated,
    /// The winner changed the protocol.
    ProtocolChanged,
    /// The winner changed the metadata (schema, partitioning, properties).
    MetadataChanged,
    /// Both commits change the same metadata domain.
    ConcurrentDomain,
    /// The winner committed for an application id this transaction read.
    ConcurrentTransaction,
    /// The winner added files this transaction should have read.
    ConcurrentAppend,
    /// The winner removed a file this transaction read.
    ConcurrentDeleteRead,
    /// Both commits remove the same file.
    ConcurrentDeleteDelete,
    /// Other writers kept committing first, past the retry limit.
    TooManyAttempts,
}

impl fmt::Display for ConflictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConflictKind::TableCreated => "the table was created concurrently",
            ConflictKind::ProtocolChanged => "the protocol changed concurrently",
            ConflictKind::MetadataChanged => "the metadata changed concurrently",
            ConflictKind::ConcurrentDomain => "a metadata domain changed concurrently",
            ConflictKind::ConcurrentTransaction => "concurrent transaction of the same application",
            ConflictKind::ConcurrentAppend => {
                "files were added concurrently that this transaction should have read"
            }
            ConflictKind::ConcurrentDeleteRead => {
                "a file this transaction read was removed concurrently"
            }
            ConflictKind::ConcurrentDeleteDelete => {
                "a file this transaction removes was removed concurrently"
            }
            ConflictKind::TooManyAttempts => "other writers kept committing first",
        })
    }
}

/// A conflict found by [`check`]: its class and what names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The class.
    pub kind: ConflictKind,
    /// A file path, application id or domain, where one is involved.
    pub detail: String,
}

/// The table a transaction read, as the rules need it.
#[derive(Debug, Clone, Copy)]
pub struct ReadTable<'a> {
    /// Its logical schema.
    pub schema: &'a StructType,
    /// Its partition columns.
    pub partition_columns: &'a [String],
}

/// Decides whether a transaction that read `read` and commits `ours` may
/// follow the winning commit `winner` (its actions) under `level`.
pub fn check(
    read: &ReadSet,
    ours: &Staged<'_>,
    table: ReadTable<'_>,
    level: IsolationLevel,
    winner: &[Action],
) -> Result<(), Found> {
    let found = |kind, detail: &str| {
        Err(Found {
            kind,
            detail: detail.to_string(),
        })
    };
    let mut blind_append = false;
    let mut added: Vec<&Add> = Vec::new();
    let mut removed: Vec<&str> = Vec::new();
    for action in winner {
        match action {
            Action::Protocol(_) => return found(ConflictKind::ProtocolChanged, ""),
            Action::Metadata(_) => return found(ConflictKind::MetadataChanged, ""),
            Action::DomainMetadata(d) if read.domains.contains(&d.domain) => {
                return found(ConflictKind::ConcurrentDomain, &d.domain);
            }
            Action::Txn(t) if read.app_ids.contains(&t.app_id) => {
                return found(ConflictKind::ConcurrentTransaction, &t.app_id);
            }
            Action::CommitInfo(ci) => {
                blind_append = ci.0.get("isBlindAppend") == Some(&serde_json::Value::Bool(true));
            }
            Action::Add(a) => added.push(a),
            Action::Remove(r) => removed.push(&r.path),
            _ => {}
        }
    }
    // 5. concurrent append
    let appends_count = match level {
        IsolationLevel::Serializable => true,
        IsolationLevel::WriteSerializable => !blind_append || ours.metadata,
    };
    if appends_count && !ours.blind_append && ours.data_change && !added.is_empty() {
        if read.whole_table {
            return found(ConflictKind::ConcurrentAppend, &added[0].path);
        }
        if let Some(path) = first_match(&read.predicates, &added, table) {
            return found(ConflictKind::ConcurrentAppend, &path);
        }
    }
    // 6. delete-read
    if let Some(path) = removed.iter().find(|p| read.files.contains(**p)) {
        return found(ConflictKind::ConcurrentDeleteRead, path);
    }
    if read.whole_table
        && let Some(path) = removed.first()
    {
        return found(ConflictKind::ConcurrentDeleteRead, path);
    }
    // 7. delete-delete
    if let Some(path) = removed.iter().find(|p| ours.removes.contains(**p)) {
        return found(ConflictKind::ConcurrentDeleteDelete, path);
    }
    Ok(())
}

/// The first added file that may hold a row matching one of the predicates
/// (by partition values and statistics; a predicate that cannot be typed
/// or skipped with matches every file).
fn first_match(predicates: &[Expr], added: &[&Add], table: ReadTable<'_>) -> Option<String> {
    if predicates.is_empty() {
        return None;
    }
    let files: ActiveFiles = added.iter().map(|a| (*a).clone()).collect();
    let mut may_match = vec![false; files.len()];
    for predicate in predicates {
        let skip = bind_predicate(predicate, table.schema)
            .ok()
            .and_then(|bound| SkippingPredicate::new(&bound));
        let chosen = skip.and_then(|skip| {
            skipping::select(
                &skip,
                &files,
                table.schema,
                table.partition_columns,
                &StatsCache::default(),
            )
            .ok()
        });
        match chosen {
            Some(selection) => selection.files.iter().for_each(|&i| may_match[i] = true),
            None => may_match.iter_mut().for_each(|m| *m = true),
        }
    }
    may_match
        .iter()
        .position(|m| *m)
        .map(|i| added[i].path.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use delta_schema::{DataType, StructField};
    use serde_json::json;

    use ConflictKind::*;
    use IsolationLevel::{Serializable, WriteSerializable};

    fn schema() -> StructType {
        StructType::new([
            StructField::new("x", DataType::LONG, true),
            StructField::new("p", DataType::STRING, true),
        ])
    }

    /// One action from its JSON form.
    fn action(value: serde_json::Value) -> Action {
        serde_json::from_value(value).unwrap_or_else(|e| panic!("bad test action: {e}"))
    }

    /// A winning commit: `blind` says whether it declares a blind append.
    fn winner(blind: bool, actions: Vec<Action>) -> Vec<Action> {
        let info = json!({"commitInfo": {"operation": "WRITE", "isBlindAppend": blind}});
        std::iter::once(action(info)).chain(actions).collect()
    }

    /// An added file in partition `p` whose `x` lies in `min..=max`.
    fn add(path: &str, p: &str, min: i64, max: i64) -> Action {
        let stats = json!({"numRecords": 10, "minValues": {"x": min}, "maxValues": {"x": max}, "nullCount": {"x": 0}});
        action(json!({"add": {
            "path": path, "partitionValues": {"p": p}, "size": 1, "modificationTime": 0,
            "dataChange": true, "stats": stats.to_string()
        }}))
    }

    fn remove(path: &str) -> Action {
        action(json!({"remove": {"path": path, "deletionTimestamp": 0, "dataChange": true}}))
    }

    fn reads(predicate: Option<&str>, whole: bool, files: &[&str]) -> ReadSet {
        ReadSet {
            predicates: predicate
                .map(|p| delta_expr::parse(p).unwrap_or_else(|e| panic!("{e}")))
                .into_iter()
                .collect(),
            whole_table: whole,
            files: files.iter().map(|f| f.to_string()).collect(),
            ..ReadSet::default()
        }
    }

    /// What we commit.
    #[derive(Clone, Copy)]
    enum Ours {
        /// Adds files, read nothing.
        BlindAppend,
        /// Adds and removes files after reading.
        Rewrite,
        /// Changes the metadata after reading every row (ADD CONSTRAINT).
        MetadataChange,
        /// Rewrites files without changing data (compaction).
        Compaction,
    }

    #[test]
    fn the_conflict_rules_as_a_table() {
        let none = || reads(None, false, &[]);
        let protocol = action(
            json!({"protocol": {"minReaderVersion": 1, "minWriterVersion": 7, "writerFeatures": ["checkConstraints"]}}),
        );
        let metadata = action(json!({"metaData": {
            "id": "t", "format": {"provider": "parquet", "options": {}},
            "schemaString": schema().to_json(), "partitionColumns": ["p"], "configuration": {}
        }}));
        let txn = |app: &str| action(json!({"txn": {"appId": app, "version": 3}}));
        let domain = |d: &str| {
            action(
                json!({"domainMetadata": {"domain": d, "configuration": "{}", "removed": false}}),
            )
        };
        let reads_app = |app: &str| ReadSet {
            app_ids: [app.to_string()].into(),
            ..ReadSet::default()
        };
        let reads_domain = |d: &str| ReadSet {
            domains: [d.to_string()].into(),
            ..ReadSet::default()
        };
        let ok: Option<ConflictKind> = None;
        // (what we read, what we commit, the winning commit,
        //  outcome under Serializable, outcome under WriteSerializable)
        type Row = (
            &'static str,
            ReadSet,
            Ours,
            Vec<Action>,
            Option<ConflictKind>,
            Option<ConflictKind>,
        );
        let table: Vec<Row> = vec![
            (
                "two blind appends",
                none(),
                Ours::BlindAppend,
                winner(true, vec![add("a", "a", 0, 9)]),
                ok,
                ok,
            ),
            (
                "blind append into the partition we read",
                reads(Some("p = 'a'"), false, &[]),
                Ours::Rewrite,
                winner(true, vec![add("a", "a", 0, 9)]),
                Some(ConcurrentAppend),
                ok,
            ),
            (
                "blind append into another partition",
                reads(Some("p = 'a'"), false, &[]),
                Ours::Rewrite,
                winner(true, vec![add("b", "b", 0, 9)]),
                ok,
                ok,
            ),
            (
                "a rewrite adding into the partition we read",
                reads(Some("p = 'a'"), false, &[]),
                Ours::Rewrite,
                winner(false, vec![remove("old"), add("a", "a", 0, 9)]),
                Some(ConcurrentAppend),
                Some(ConcurrentAppend),
            ),
            (
                "an added file whose statistics rule out our predicate",
                reads(Some("x > 10"), false, &[]),
                Ours::Rewrite,
                winner(false, vec![add("low", "a", 0, 5)]),
                ok,
                ok,
            ),
            (
                "an added file whose statistics may match our predicate",
                reads(Some("x > 10"), false, &[]),
                Ours::Rewrite,
                winner(true, vec![add("high", "a", 0, 50)]),
                Some(ConcurrentAppend),
                ok,
            ),
            (
                "blind append after we read the whole table",
                reads(None, true, &[]),
                Ours::Rewrite,
                winner(true, vec![add("a", "a", 0, 9)]),
                Some(ConcurrentAppend),
                ok,
            ),
            (
                "blind append while we change metadata after reading all",
                reads(None, true, &[]),
                Ours::MetadataChange,
                winner(true, vec![add("a", "a", 0, 9)]),
                Some(ConcurrentAppend),
                Some(ConcurrentAppend),
            ),
            (
                "a file we read was removed",
                reads(Some("x > 10"), false, &["f1"]),
                Ours::Rewrite,
                winner(false, vec![remove("f1")]),
                Some(ConcurrentDeleteRead),
                Some(ConcurrentDeleteRead),
            ),
            (
                "a file we did not read was removed",
                reads(Some("x > 10"), false, &["f1"]),
                Ours::Rewrite,
                winner(false, vec![remove("f9")]),
                ok,
                ok,
            ),
            (
                "anything removed after we read the whole table",
                reads(None, true, &[]),
                Ours::Rewrite,
                winner(false, vec![remove("f9")]),
                Some(ConcurrentDeleteRead),
                Some(ConcurrentDeleteRead),
            ),
            (
                "both remove the same file",
                none(),
                Ours::Rewrite,
                winner(false, vec![remove("f2")]),
                Some(ConcurrentDeleteDelete),
                Some(ConcurrentDeleteDelete),
            ),
            (
                "the protocol changed",
                none(),
                Ours::BlindAppend,
                winner(false, vec![protocol.clone()]),
                Some(ProtocolChanged),
                Some(ProtocolChanged),
            ),
            (
                "the metadata changed",
                none(),
                Ours::BlindAppend,
                winner(false, vec![metadata.clone()]),
                Some(MetadataChanged),
                Some(MetadataChanged),
            ),
            (
                "the same application committed",
                reads_app("loader"),
                Ours::BlindAppend,
                winner(true, vec![txn("loader")]),
                Some(ConcurrentTransaction),
                Some(ConcurrentTransaction),
            ),
            (
                "another application committed",
                reads_app("loader"),
                Ours::BlindAppend,
                winner(true, vec![txn("other")]),
                ok,
                ok,
            ),
            (
                "the same domain changed",
                reads_domain("d"),
                Ours::BlindAppend,
                winner(false, vec![domain("d")]),
                Some(ConcurrentDomain),
                Some(ConcurrentDomain),
            ),
            (
                "another domain changed",
                reads_domain("d"),
                Ours::BlindAppend,
                winner(false, vec![domain("e")]),
                ok,
                ok,
            ),
            (
                "a compaction past an append",
                reads(None, false, &["f1", "f2"]),
                Ours::Compaction,
                winner(true, vec![add("a", "a", 0, 9)]),
                ok,
                ok,
            ),
            (
                "a compaction past a rewrite adding files",
                reads(None, false, &["f1", "f2"]),
                Ours::Compaction,
                winner(false, vec![add("a", "a", 0, 9)]),
                ok,
                ok,
            ),
            (
                "a compaction whose file was deleted",
                reads(None, false, &["f1", "f2"]),
                Ours::Compaction,
                winner(false, vec![remove("f1")]),
                Some(ConcurrentDeleteRead),
                Some(ConcurrentDeleteRead),
            ),
        ];
        let schema = schema();
        let partitions = ["p".to_string()];
        let removes: BTreeSet<String> = ["f2".to_string()].into();
        let no_removes = BTreeSet::new();
        for (name, read, ours, winning, serializable, write_serializable) in table {
            let staged = match ours {
                Ours::BlindAppend => Staged {
                    metadata: false,
                    blind_append: true,
                    data_change: true,
                    removes: &no_removes,
                },
                Ours::Rewrite => Staged {
                    metadata: false,
                    blind_append: false,
                    data_change: true,
                    removes: &removes,
                },
                Ours::MetadataChange => Staged {
                    metadata: true,
                    blind_append: false,
                    data_change: true,
                    removes: &no_removes,
                },
                Ours::Compaction => Staged {
                    metadata: false,
                    blind_append: false,
                    data_change: false,
                    removes: &no_removes,
                },
            };
            let read_table = ReadTable {
                schema: &schema,
                partition_columns: &partitions,
            };
            for (level, expected) in [
                (Serializable, serializable),
                (WriteSerializable, write_serializable),
            ] {
                let got = check(&read, &staged, read_table, level, &winning)
                    .err()
                    .map(|f| f.kind);
                assert_eq!(got, expected, "{name} under {}", level.name());
            }
        }
    }

    #[test]
    fn the_isolation_level_comes_from_the_table() {
        let of = |v: &str| {
            IsolationLevel::of_table(&[(ISOLATION_LEVEL.to_string(), v.to_string())].into())
        };
        assert_eq!(
            IsolationLevel::of_table(&HashMap::new()).ok(),
            Some(WriteSerializable)
        );
        assert_eq!(of("Serializable").ok(), Some(Serializable));
        assert_eq!(of("writeserializable").ok(), Some(WriteSerializable));
        let err = of("SnapshotIsolation")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("must be Serializable or WriteSerializable"),
            "{err}"
        );
    }
}
