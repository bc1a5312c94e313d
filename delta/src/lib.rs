//! One dependency for the whole Delta Lake API: a table handle,
//! [`DeltaTable`], with a method or builder per feature, and the `delta-*`
//! crates re-exported for everything else. Users who want less depend on
//! the single crates (see each crate's README).
//!
//! Every example below runs as a test (`cargo test -p delta --doc`) on a
//! fresh local table.
//!
//! # Create, write, read: every write is one atomic commit
//!
//! ```
//! # use std::sync::Arc;
//! # use arrow::array::{Int64Array, RecordBatch, StringArray};
//! # use arrow::datatypes::{DataType, Field, Schema};
//! use delta::DeltaTable;
//! use delta::schema::{DataType as DeltaType, StructField, StructType};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! # let dir = std::env::temp_dir().join(format!("delta-doc-create-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! # let location = dir.to_str().unwrap();
//! let schema = StructType::new([
//!     StructField::new("id", DeltaType::LONG, false),
//!     StructField::new("city", DeltaType::STRING, true),
//! ]);
//! let table = DeltaTable::create(location, schema).partition_by(["city"]).await?;
//!
//! let arrow_schema = Arc::new(Schema::new(vec![
//!     Field::new("id", DataType::Int64, false),
//!     Field::new("city", DataType::Utf8, true),
//! ]));
//! let batch = RecordBatch::try_new(arrow_schema, vec![
//!     Arc::new(Int64Array::from(vec![1, 2, 3])),
//!     Arc::new(StringArray::from(vec!["Oslo", "Lima", "Oslo"])),
//! ])?;
//! let commit = table.write([batch]).await?;
//! assert_eq!(commit.version, 1);
//!
//! let rows = table.scan().filter("city = 'Oslo'").await?;
//! assert_eq!(rows.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Schema enforcement and evolution
//!
//! A write whose columns do not fit the table is refused and commits
//! nothing; with [`WriteBuilder::merge_schema`] new columns are added.
//!
//! ```
//! # use std::sync::Arc;
//! # use arrow::array::{Int64Array, RecordBatch, StringArray};
//! # use arrow::datatypes::{DataType, Field, Schema};
//! # use delta::DeltaTable;
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! # let dir = std::env::temp_dir().join(format!("delta-doc-evolution-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! # let table = DeltaTable::at(dir.to_str().unwrap())?;
//! # let ids = |ids: Vec<i64>| {
//! #     let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
//! #     RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(ids))]).unwrap()
//! # };
//! table.write([ids(vec![1, 2])]).await?; // creates the table: version 0
//!
//! let schema = Arc::new(Schema::new(vec![
//!     Field::new("id", DataType::Int64, false),
//!     Field::new("note", DataType::Utf8, true),
//! ]));
//! let wider = RecordBatch::try_new(schema, vec![
//!     Arc::new(Int64Array::from(vec![3])),
//!     Arc::new(StringArray::from(vec!["new column"])),
//! ])?;
//! let refused = table.write([wider.clone()]).await;
//! assert!(matches!(
//!     refused,
//!     Err(delta::Error::Txn(delta::txn::TxnError::SchemaMismatch { .. }))
//! ));
//! assert_eq!(table.version().await?, 0); // nothing committed
//!
//! table.write([wider]).merge_schema().await?;
//! let columns = table.snapshot().await?.schema().fields.len();
//! assert_eq!(columns, 2);
//!
//! // replaceWhere: overwrite only the rows the predicate selects
//! table.write([ids(vec![10])]).replace_where("id >= 3").await?;
//! let rows = table.scan().columns(["id"]).await?;
//! let ids: Vec<i64> = rows
//!     .iter()
//!     .flat_map(|b| b.column(0).as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec())
//!     .collect();
//! assert_eq!(ids.iter().copied().collect::<std::collections::BTreeSet<_>>(), [1, 2, 10].into());
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Time travel, history and restore
//!
//! ```
//! # use std::sync::Arc;
//! # use arrow::array::{Int64Array, RecordBatch};
//! # use arrow::datatypes::{DataType, Field, Schema};
//! # use delta::DeltaTable;
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! # let dir = std::env::temp_dir().join(format!("delta-doc-travel-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! # let table = DeltaTable::at(dir.to_str().unwrap())?;
//! # let ids = |ids: Vec<i64>| {
//! #     let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
//! #     RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(ids))]).unwrap()
//! # };
//! # let count = |batches: Vec<RecordBatch>| batches.iter().map(|b| b.num_rows()).sum::<usize>();
//! table.write([ids(vec![1, 2])]).await?; // version 0
//! table.write([ids(vec![3])]).await?; // version 1
//! table.delete().await?; // version 2: every row deleted
//!
//! assert_eq!(count(table.scan().await?), 0);
//! assert_eq!(count(table.scan().at_version(1).await?), 3);
//! let history = table.history(None).await?;
//! assert_eq!(history[0].version, 2); // newest first
//!
//! // by time: the latest version committed at or before it
//! let when = history.iter().find(|c| c.version == 1).unwrap().timestamp_ms;
//! assert_eq!(count(table.scan().at_timestamp(when).await?), 3);
//!
//! let restored = table.restore().to_version(1).await?;
//! assert_eq!(restored.version, 3);
//! assert_eq!(count(table.scan().await?), 3);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # MERGE, UPDATE and DELETE
//!
//! ```
//! # use std::sync::Arc;
//! # use arrow::array::{Int64Array, RecordBatch};
//! # use arrow::datatypes::{DataType, Field, Schema};
//! # use delta::DeltaTable;
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! # let dir = std::env::temp_dir().join(format!("delta-doc-dml-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! # let table = DeltaTable::at(dir.to_str().unwrap())?;
//! # let rows = |ids: Vec<i64>, values: Vec<i64>| {
//! #     let schema = Arc::new(Schema::new(vec![
//! #         Field::new("id", DataType::Int64, false),
//! #         Field::new("value", DataType::Int64, true),
//! #     ]));
//! #     RecordBatch::try_new(schema, vec![
//! #         Arc::new(Int64Array::from(ids)),
//! #         Arc::new(Int64Array::from(values)),
//! #     ]).unwrap()
//! # };
//! table.write([rows(vec![1, 2, 3], vec![10, 20, 30])]).await?;
//!
//! // upsert: id 3 is updated, id 4 inserted
//! let merged = table
//!     .merge([rows(vec![3, 4], vec![33, 40])], "target.id = source.id")
//!     .when_matched_update_all()
//!     .when_not_matched_insert_all()
//!     .await?;
//! assert_eq!(merged.metrics["numTargetRowsUpdated"], 1);
//! assert_eq!(merged.metrics["numTargetRowsInserted"], 1);
//!
//! let updated = table.update().set("value", "value * 2").filter("id <= 2").await?;
//! // only the values the clause sets; others keep theirs
//! table
//!     .merge([rows(vec![1], vec![0])], "target.id = source.id")
//!     .when_matched_update([("value", "target.value + 1")])
//!     .await?;
//! assert_eq!(updated.metrics["numUpdatedRows"], 2);
//! // values are now 20, 40, 33, 40
//! let deleted = table.delete().filter("value > 35").await?;
//! assert_eq!(deleted.metrics["numDeletedRows"], 2);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Compaction, Z-order, data skipping and vacuum
//!
//! ```
//! # use std::sync::Arc;
//! # use arrow::array::{Int64Array, RecordBatch};
//! # use arrow::datatypes::{DataType, Field, Schema};
//! # use delta::DeltaTable;
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! # let dir = std::env::temp_dir().join(format!("delta-doc-files-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! # let table = DeltaTable::at(dir.to_str().unwrap())?;
//! # let ids = |ids: Vec<i64>| {
//! #     let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
//! #     RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(ids))]).unwrap()
//! # };
//! for start in [0, 100, 200, 300] {
//!     table.write([ids((start..start + 100).collect())]).await?; // one file each
//! }
//! // statistics rule out three of the four files
//! let skipping = table.scan().filter("id >= 250 AND id < 260").skip_report().await?;
//! assert_eq!((skipping.considered, skipping.read), (4, 1));
//!
//! let optimized = table.optimize().await?;
//! assert_eq!(optimized.metrics.num_files_removed, 4);
//! assert_eq!(table.snapshot().await?.files().len(), 1);
//!
//! // Z-order: rewrite the files with rows ordered over these columns
//! let zordered = table.optimize().zorder_by(["id"]).await?;
//! assert_eq!(zordered.metrics.num_files_added, 1);
//!
//! // the replaced files were removed just now: the default retention
//! // (7 days) keeps them for readers of older versions
//! let vacuumed = table.vacuum().dry_run().await?;
//! assert_eq!(vacuumed.files, 0);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Constraints
//!
//! ```
//! # use std::sync::Arc;
//! # use arrow::array::{Int64Array, RecordBatch};
//! # use arrow::datatypes::{DataType, Field, Schema};
//! # use delta::DeltaTable;
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! # let dir = std::env::temp_dir().join(format!("delta-doc-constraints-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! # let table = DeltaTable::at(dir.to_str().unwrap())?;
//! # let ids = |ids: Vec<i64>| {
//! #     let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
//! #     RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(ids))]).unwrap()
//! # };
//! table.write([ids(vec![1, 2])]).await?;
//! table.add_constraint("positive_id", "id > 0").await?;
//! let refused = table.write([ids(vec![5, -1])]).await;
//! assert!(refused.unwrap_err().to_string().contains("positive_id"));
//! assert_eq!(table.version().await?, 1); // the constraint's commit; no rows added
//! table.drop_constraint("positive_id").await?;
//! table.write([ids(vec![-1])]).await?; // allowed again
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Consistency check and repair
//!
//! ```
//! # use std::sync::Arc;
//! # use arrow::array::{Int64Array, RecordBatch};
//! # use arrow::datatypes::{DataType, Field, Schema};
//! # use delta::DeltaTable;
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! # let dir = std::env::temp_dir().join(format!("delta-doc-check-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! # let table = DeltaTable::at(dir.to_str().unwrap())?;
//! # let ids = |ids: Vec<i64>| {
//! #     let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
//! #     RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(ids))]).unwrap()
//! # };
//! table.write([ids(vec![1, 2])]).await?;
//! table.write([ids(vec![3])]).await?;
//! assert!(table.check().deep().await.is_clean());
//!
//! // a data file disappears behind the table's back
//! let snapshot = table.snapshot().await?;
//! let lost = snapshot.files().iter().next().unwrap().path().to_string();
//! std::fs::remove_file(dir.join(&lost))?;
//! let report = table.check().await;
//! assert!(!report.is_clean());
//!
//! // the repair commits the file's removal: the table reads again
//! table.repair(&report).await?;
//! assert!(table.check().await.is_clean());
//! let rows: usize = table.scan().await?.iter().map(|b| b.num_rows()).sum();
//! assert!(rows < 3); // the lost file's rows are gone with it
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # SQL through DataFusion
//!
//! ```
//! # use std::sync::Arc;
//! # use arrow::array::{Int64Array, RecordBatch};
//! # use arrow::datatypes::{DataType, Field, Schema};
//! # use delta::DeltaTable;
//! use delta::datafusion::datafusion::prelude::SessionContext;
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! # let dir = std::env::temp_dir().join(format!("delta-doc-sql-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! # let table = DeltaTable::at(dir.to_str().unwrap())?;
//! # let ids = |ids: Vec<i64>| {
//! #     let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
//! #     RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(ids))]).unwrap()
//! # };
//! table.write([ids(vec![1, 2, 3])]).await?;
//! let ctx = SessionContext::new();
//! ctx.register_table("t", Arc::new(table.table_provider().await?))?;
//! ctx.sql("INSERT INTO t VALUES (4)").await?.collect().await?;
//! let sum = ctx.sql("SELECT sum(id) AS s FROM t").await?.collect().await?;
//! let sum = sum[0].column(0).as_any().downcast_ref::<Int64Array>().unwrap().value(0);
//! assert_eq!(sum, 10);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod builders;
mod error;
mod table;

pub use builders::{
    DeleteBuilder, MergeBuilder, OptimizeBuilder, RestoreBuilder, UpdateBuilder, VacuumBuilder,
    WriteBuilder,
};
pub use error::Error;
pub use table::{CheckBuilder, CreateBuilder, DeltaTable, ScanBuilder};

pub use delta_check as check;
pub use delta_datafusion as datafusion;
pub use delta_expr as expr;
pub use delta_io as io;
pub use delta_log as log;
pub use delta_merge as merge;
pub use delta_optimize as optimize;
pub use delta_schema as schema;
pub use delta_txn as txn;

/// What the most used types are called, in one import.
pub use delta_txn::{CommitOutcome, SaveMode, Snapshot};
