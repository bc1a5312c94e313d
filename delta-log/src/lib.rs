//! The transaction log of Delta tables, on any `object_store::ObjectStore`.
//!
//! Two layers:
//! - [`core`]: a generic log of numbered commit files with put-if-absent
//!   commits, listing and pointer files. It knows nothing of Delta and can
//!   carry any format whose history is a sequence of numbered files.
//! - The Delta log on top: [`actions`] as PROTOCOL.md writes them, replay
//!   ([`replay`], [`segment`]), checkpoints, [`TableState`]s at any version,
//!   history and time travel by timestamp ([`DeltaLog`]).
//!
//! This crate keeps the table schema as a string; `delta-schema` parses it.
//!
//! ```
//! # async fn demo() -> Result<(), delta_log::LogError> {
//! use std::sync::Arc;
//! use delta_log::DeltaLog;
//! use object_store::{memory::InMemory, path::Path};
//!
//! let log = DeltaLog::new(Arc::new(InMemory::new()), Path::from("t"), "memory:///t");
//! // an empty store holds no table
//! assert!(log.state(None).await.is_err());
//! # Ok(())
//! # }
//! ```

pub mod actions;
mod active;
mod checkpoint;
mod checkpoint_decode;
pub mod checkpoint_write;
mod commit;
pub mod core;
mod error;
pub mod features;
pub mod files;
pub mod parquet_reader;
pub mod paths;
pub mod properties;
mod protocol;
pub mod replay;
pub mod segment;
mod state;
mod stats_json;

pub use actions::{
    Action, Add, Cdc, CheckpointMetadata, CommitInfo, DeletionVectorDescriptor, DomainMetadata,
    FileKey, Format, Metadata, PartitionValues, Protocol, Remove, Sidecar, Txn,
};
pub use active::{ActiveFile, ActiveFiles};
pub use checkpoint_write::{CheckpointInfo, ParsedColumns, checkpoint_schema};
pub use error::LogError;
pub use features::TableFeature;
pub use properties::{ColumnMapping, TableProperties};
pub use protocol::{
    MAX_READER_VERSION, MAX_WRITER_VERSION, READER_FEATURES_VERSION, WRITER_FEATURES_VERSION,
};
pub use state::{CommitEntry, DeltaLog, LAST_CHECKPOINT, LOG_DIR, SIDECAR_DIR, TableState};
