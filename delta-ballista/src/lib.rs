//! Delta tables on a Ballista cluster.
//!
//! A Ballista client plans SQL over [`delta_datafusion::DeltaTableProvider`]s
//! as a local session does, then sends the logical plan to the scheduler,
//! which plans it into stages and sends those to its executors. Our nodes
//! travel through the codecs of this crate: [`DeltaLogicalCodec`] carries a
//! provider (its table's location, pinned version and schema), and
//! [`DeltaPhysicalCodec`] carries a scan (the protocol, metadata and files
//! of each partition, so executors read exactly the files the scheduler
//! chose, without replaying the log), an INSERT (a `DataSinkExec` over a
//! `DeltaSink`: one commit, made by the executor that runs it), and a
//! DELETE, UPDATE or MERGE. Both wrap another codec (Ballista's, for its
//! own nodes) and pass it everything else; they work as well with any
//! engine that sends DataFusion plans through `datafusion-proto`.
//!
//! Tables must be at locations every process can open: a URL of an object
//! store (credentials from each process's environment) or a local path on
//! a file system all machines share; an in-memory table is refused.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use ballista::prelude::SessionContextExt;
//! use datafusion::execution::SessionStateBuilder;
//! use datafusion::prelude::SessionContext;
//! use delta_datafusion::DeltaTableProvider;
//!
//! // the scheduler and executors are started with `delta_ballista::codec()`
//! let state = SessionStateBuilder::new()
//!     .with_default_features()
//!     .with_config(delta_ballista::session_config())
//!     .build();
//! let ctx = SessionContext::remote_with_state("df://scheduler:50050", state).await?;
//! let table = delta_txn::Table::open("s3://bucket/events").await?;
//! ctx.register_table("events", Arc::new(DeltaTableProvider::latest(table).await?))?;
//! ctx.sql("SELECT city, count(*) FROM events GROUP BY city").await?.show().await?;
//! # Ok(())
//! # }
//! ```

mod codec;
mod nodes;

use std::sync::Arc;

use ballista_core::extension::SessionConfigExt;
use ballista_core::serde::{
    BallistaCodec, BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec,
};
use datafusion::prelude::SessionConfig;

pub use codec::{DeltaLogicalCodec, DeltaPhysicalCodec};

/// Our codecs in front of Ballista's: what a scheduler and its executors
/// are started with.
pub fn codec() -> BallistaCodec {
    BallistaCodec::new(logical_codec(), physical_codec())
}

/// [`DeltaLogicalCodec`] in front of Ballista's logical codec.
pub fn logical_codec() -> Arc<DeltaLogicalCodec> {
    Arc::new(DeltaLogicalCodec::new(Arc::new(
        BallistaLogicalExtensionCodec::default(),
    )))
}

/// [`DeltaPhysicalCodec`] in front of Ballista's physical codec.
pub fn physical_codec() -> Arc<DeltaPhysicalCodec> {
    Arc::new(DeltaPhysicalCodec::new(Arc::new(
        BallistaPhysicalExtensionCodec::default(),
    )))
}

/// A Ballista session configuration whose client sends plans through our
/// codecs.
pub fn session_config() -> SessionConfig {
    SessionConfig::new_with_ballista()
        .with_ballista_logical_extension_codec(logical_codec())
        .with_ballista_physical_extension_codec(physical_codec())
}

/// What can go wrong sending our plans between processes.
#[derive(Debug, thiserror::Error)]
pub enum DeltaBallistaError {
    /// A plan names something another process cannot open.
    #[error("cannot send {what} to another process")]
    NotPortable {
        /// What.
        what: String,
    },
    /// A plan could not be written.
    #[error("encoding a Delta plan: {0}")]
    Encode(String),
    /// A plan could not be read back.
    #[error("decoding a Delta plan: {0}")]
    Decode(String),
    /// Opening the table or rebuilding its snapshot failed.
    #[error(transparent)]
    Txn(#[from] delta_txn::TxnError),
    /// An expression of the plan does not parse.
    #[error(transparent)]
    Expr(#[from] delta_expr::ExprError),
    /// A plan of ours is inconsistent (a scan's partitions name groups it
    /// lacks...).
    #[error(transparent)]
    Plan(#[from] datafusion::error::DataFusionError),
}

impl From<DeltaBallistaError> for datafusion::error::DataFusionError {
    fn from(e: DeltaBallistaError) -> Self {
        datafusion::error::DataFusionError::External(Box::new(e))
    }
}
