//! Our plans as JSON: what a plan codec writes and reads back. A table is
//! named by a location every process can open (an absolute path or a
//! URL); a scan carries the protocol, metadata and `add` actions of the
//! files it reads, so the process that runs it reads the same files of
//! the same version without replaying the log; expressions travel as the
//! SQL text delta-expr prints and parses.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::Schema;
use delta_datafusion::{DeltaScanParts, DeltaTableProvider, Statement};
use delta_log::segment::LogSegment;
use delta_log::{ActiveFiles, Add, Metadata, Protocol, TableState};
use delta_merge::Clause;
use delta_schema::StructType;
use delta_txn::{SaveMode, SkipReport, Table};
use serde::{Deserialize, Serialize};

use crate::DeltaBallistaError;

/// Bytes before every node this crate writes, to tell ours from those of
/// the codec it wraps (and the format's version).
pub(crate) const TAG: &[u8] = b"delta-plan/1\n";

/// A table provider.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProviderNode {
    location: String,
    /// Pinned to this version; the latest when `None`.
    version: Option<u64>,
    schema: Schema,
    table_schema: String,
    partition_columns: Vec<String>,
}

/// A physical plan of ours.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "node")]
pub(crate) enum PlanNode {
    /// A `DeltaScanExec`.
    Scan(Box<ScanNode>),
    /// A `DataSinkExec` writing through a `DeltaSink` (its input is the
    /// plan's child).
    Write {
        location: String,
        overwrite: bool,
        schema: Schema,
    },
    /// A `DeltaDmlExec` (a MERGE's source is the plan's child).
    Dml {
        location: String,
        statement: StatementNode,
    },
}

/// A scan: the snapshot's parts and the files of each group its
/// partitions read (a group no partition reads is sent empty).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ScanNode {
    location: String,
    version: u64,
    timestamp_ms: i64,
    protocol: Protocol,
    metadata: Metadata,
    /// The files read, partition after partition.
    files: Vec<Add>,
    /// How many of `files` each partition reads.
    group_sizes: Vec<usize>,
    columns: Vec<String>,
    output: usize,
    predicate: Option<String>,
    limit: Option<usize>,
    /// considered, pruned by partition, skipped by statistics, read.
    skipped: [usize; 4],
}

/// A DELETE, UPDATE or MERGE.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "statement")]
pub(crate) enum StatementNode {
    Delete {
        predicate: Option<String>,
    },
    Update {
        predicate: Option<String>,
        assignments: Vec<(String, String)>,
    },
    Merge {
        on: String,
        clauses: Vec<ClauseNode>,
        target_alias: String,
        source_alias: String,
    },
}

/// A MERGE clause.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "clause")]
pub(crate) enum ClauseNode {
    MatchedUpdate {
        condition: Option<String>,
        set: Vec<(String, String)>,
    },
    MatchedUpdateAll {
        condition: Option<String>,
    },
    MatchedDelete {
        condition: Option<String>,
    },
    NotMatchedInsert {
        condition: Option<String>,
        values: Vec<(String, String)>,
    },
    NotMatchedInsertAll {
        condition: Option<String>,
    },
    NotMatchedBySourceUpdate {
        condition: Option<String>,
        set: Vec<(String, String)>,
    },
    NotMatchedBySourceDelete {
        condition: Option<String>,
    },
}

/// A table location (as the user gave it) as any process on any machine
/// that can reach its store opens it: a URL, or an absolute local path.
pub(crate) fn portable_location(display: &str) -> Result<String, DeltaBallistaError> {
    if display.starts_with("memory:") {
        return Err(DeltaBallistaError::NotPortable {
            what: format!("the in-memory table '{display}' (each process has its own memory)"),
        });
    }
    if display.contains("://") || display.starts_with("file:") {
        return Ok(display.to_string());
    }
    std::path::absolute(display)
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|e| DeltaBallistaError::NotPortable {
            what: format!("the table path '{display}': {e}"),
        })
}

fn text(expr: &delta_expr::Expr) -> String {
    expr.to_string()
}

fn texts(pairs: &[(String, delta_expr::Expr)]) -> Vec<(String, String)> {
    pairs.iter().map(|(c, e)| (c.clone(), text(e))).collect()
}

fn expr(text: &str) -> Result<delta_expr::Expr, DeltaBallistaError> {
    Ok(delta_expr::parse(text)?)
}

fn maybe_expr(text: Option<&String>) -> Result<Option<delta_expr::Expr>, DeltaBallistaError> {
    text.map(|t| expr(t)).transpose()
}

fn exprs(
    pairs: &[(String, String)],
) -> Result<Vec<(String, delta_expr::Expr)>, DeltaBallistaError> {
    pairs
        .iter()
        .map(|(c, t)| Ok((c.clone(), expr(t)?)))
        .collect()
}

impl ProviderNode {
    pub(crate) fn of(provider: &DeltaTableProvider) -> Result<Self, DeltaBallistaError> {
        use datafusion::datasource::TableProvider;
        Ok(ProviderNode {
            location: portable_location(&provider.table().location().display)?,
            version: provider.pinned_version(),
            schema: provider.schema().as_ref().clone(),
            table_schema: provider.table_schema().to_json(),
            partition_columns: provider.partition_columns().to_vec(),
        })
    }

    pub(crate) fn provider(self) -> Result<DeltaTableProvider, DeltaBallistaError> {
        let table = Table::at(&self.location)?;
        let table_schema = StructType::from_json(&self.table_schema)
            .map_err(|e| DeltaBallistaError::Decode(format!("the table schema: {e}")))?;
        Ok(DeltaTableProvider::from_parts(
            table,
            self.version,
            Arc::new(self.schema),
            table_schema,
            self.partition_columns,
        ))
    }
}

impl ScanNode {
    /// The node of a scan whose partitions read the groups `read` (the
    /// files of the other groups stay behind).
    pub(crate) fn of(parts: DeltaScanParts, read: &[usize]) -> Result<Self, DeltaBallistaError> {
        let snapshot = &parts.snapshot;
        let active = snapshot.files();
        let mut files = Vec::new();
        let mut group_sizes = Vec::with_capacity(parts.groups.len());
        for (g, group) in parts.groups.iter().enumerate() {
            if !read.contains(&g) {
                group_sizes.push(0);
                continue;
            }
            group_sizes.push(group.len());
            for &i in group {
                let file = active.get(i).ok_or_else(|| {
                    DeltaBallistaError::Decode(format!("the scan names file {i}, which it lacks"))
                })?;
                files.push(file.to_add());
            }
        }
        let s = parts.skipped;
        Ok(ScanNode {
            location: portable_location(&snapshot.state().table)?,
            version: snapshot.version(),
            timestamp_ms: snapshot.timestamp_ms(),
            protocol: snapshot.protocol().clone(),
            metadata: snapshot.metadata().clone(),
            files,
            group_sizes,
            columns: parts.columns,
            output: parts.output,
            predicate: parts.predicate.as_ref().map(text),
            limit: parts.limit,
            skipped: [
                s.considered,
                s.pruned_by_partition,
                s.skipped_by_stats,
                s.read,
            ],
        })
    }

    pub(crate) fn parts(self) -> Result<DeltaScanParts, DeltaBallistaError> {
        let table = Table::at(&self.location)?;
        let mut files = ActiveFiles::new();
        for add in &self.files {
            files.push(add);
        }
        let state = TableState {
            table: table.location().display.clone(),
            root: table.location().root.clone(),
            version: self.version,
            timestamp_ms: self.timestamp_ms,
            protocol: self.protocol,
            metadata: self.metadata,
            files,
            tombstones: Vec::new(),
            txns: HashMap::new(),
            domains: HashMap::new(),
            segment: LogSegment {
                version: self.version,
                checkpoint: None,
                commits: Vec::new(),
                covered_commit: None,
            },
            metadata_file: None,
            protocol_file: None,
        };
        let snapshot = table.snapshot_of(state)?;
        let mut groups = Vec::with_capacity(self.group_sizes.len());
        let mut next = 0;
        for size in self.group_sizes {
            groups.push((next..next + size).collect());
            next += size;
        }
        if next != self.files.len() {
            return Err(DeltaBallistaError::Decode(format!(
                "the scan's partitions hold {next} files, not the {} it carries",
                self.files.len()
            )));
        }
        let [considered, pruned_by_partition, skipped_by_stats, read] = self.skipped;
        Ok(DeltaScanParts {
            snapshot,
            columns: self.columns,
            output: self.output,
            predicate: maybe_expr(self.predicate.as_ref())?,
            groups,
            limit: self.limit,
            skipped: SkipReport {
                considered,
                pruned_by_partition,
                skipped_by_stats,
                read,
            },
        })
    }
}

/// The write mode as a flag.
pub(crate) fn is_overwrite(mode: SaveMode) -> bool {
    matches!(mode, SaveMode::Overwrite)
}

/// The write mode of a flag.
pub(crate) fn mode(overwrite: bool) -> SaveMode {
    if overwrite {
        SaveMode::Overwrite
    } else {
        SaveMode::Append
    }
}

impl StatementNode {
    pub(crate) fn of(statement: &Statement) -> Self {
        match statement {
            Statement::Delete { predicate } => StatementNode::Delete {
                predicate: predicate.as_ref().map(text),
            },
            Statement::Update {
                predicate,
                assignments,
            } => StatementNode::Update {
                predicate: predicate.as_ref().map(text),
                assignments: texts(assignments),
            },
            Statement::Merge {
                on,
                clauses,
                target_alias,
                source_alias,
            } => StatementNode::Merge {
                on: text(on),
                clauses: clauses.iter().map(ClauseNode::of).collect(),
                target_alias: target_alias.clone(),
                source_alias: source_alias.clone(),
            },
        }
    }

    pub(crate) fn statement(self) -> Result<Statement, DeltaBallistaError> {
        Ok(match self {
            StatementNode::Delete { predicate } => Statement::Delete {
                predicate: maybe_expr(predicate.as_ref())?,
            },
            StatementNode::Update {
                predicate,
                assignments,
            } => Statement::Update {
                predicate: maybe_expr(predicate.as_ref())?,
                assignments: exprs(&assignments)?,
            },
            StatementNode::Merge {
                on,
                clauses,
                target_alias,
                source_alias,
            } => Statement::Merge {
                on: expr(&on)?,
                clauses: clauses
                    .into_iter()
                    .map(ClauseNode::clause)
                    .collect::<Result<_, _>>()?,
                target_alias,
                source_alias,
            },
        })
    }
}

impl ClauseNode {
    fn of(clause: &Clause) -> Self {
        let cond = |c: &Option<delta_expr::Expr>| c.as_ref().map(text);
        match clause {
            Clause::MatchedUpdate { condition, set } => ClauseNode::MatchedUpdate {
                condition: cond(condition),
                set: texts(set),
            },
            Clause::MatchedUpdateAll { condition } => ClauseNode::MatchedUpdateAll {
                condition: cond(condition),
            },
            Clause::MatchedDelete { condition } => ClauseNode::MatchedDelete {
                condition: cond(condition),
            },
            Clause::NotMatchedInsert { condition, values } => ClauseNode::NotMatchedInsert {
                condition: cond(condition),
                values: texts(values),
            },
            Clause::NotMatchedInsertAll { condition } => ClauseNode::NotMatchedInsertAll {
                condition: cond(condition),
            },
            Clause::NotMatchedBySourceUpdate { condition, set } => {
                ClauseNode::NotMatchedBySourceUpdate {
                    condition: cond(condition),
                    set: texts(set),
                }
            }
            Clause::NotMatchedBySourceDelete { condition } => {
                ClauseNode::NotMatchedBySourceDelete {
                    condition: cond(condition),
                }
            }
        }
    }

    fn clause(self) -> Result<Clause, DeltaBallistaError> {
        let cond = |c: Option<String>| maybe_expr(c.as_ref());
        Ok(match self {
            ClauseNode::MatchedUpdate { condition, set } => Clause::MatchedUpdate {
                condition: cond(condition)?,
                set: exprs(&set)?,
            },
            ClauseNode::MatchedUpdateAll { condition } => Clause::MatchedUpdateAll {
                condition: cond(condition)?,
            },
            ClauseNode::MatchedDelete { condition } => Clause::MatchedDelete {
                condition: cond(condition)?,
            },
            ClauseNode::NotMatchedInsert { condition, values } => Clause::NotMatchedInsert {
                condition: cond(condition)?,
                values: exprs(&values)?,
            },
            ClauseNode::NotMatchedInsertAll { condition } => Clause::NotMatchedInsertAll {
                condition: cond(condition)?,
            },
            ClauseNode::NotMatchedBySourceUpdate { condition, set } => {
                Clause::NotMatchedBySourceUpdate {
                    condition: cond(condition)?,
                    set: exprs(&set)?,
                }
            }
            ClauseNode::NotMatchedBySourceDelete { condition } => {
                Clause::NotMatchedBySourceDelete {
                    condition: cond(condition)?,
                }
            }
        })
    }
}
