//! What a DELETE, UPDATE or MERGE did.

use std::collections::BTreeMap;

use delta_txn::Snapshot;

/// The commit of a statement and its `operationMetrics` (Delta's names).
#[derive(Debug, Clone)]
pub struct DmlOutcome {
    /// The version committed, or the version read when nothing changed (no
    /// commit is made then).
    pub version: u64,
    /// Whether a commit was made.
    pub committed: bool,
    /// Delta's metrics: `numDeletedRows`, `numUpdatedRows`, `numCopiedRows`,
    /// `numAddedFiles`, `numRemovedFiles`, `numDeletionVectorsAdded`, ...
    pub metrics: BTreeMap<String, u64>,
    /// The table after the statement.
    pub snapshot: Snapshot,
    /// How many times the statement read the target rows it joined: 1,
    /// more for a MERGE whose source was larger than its memory budget.
    pub passes: usize,
}
