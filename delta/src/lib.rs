//! One dependency for the whole Delta Lake API: re-exports of the `delta-*` crates.

pub use delta_check as check;
pub use delta_datafusion as datafusion;
pub use delta_expr as expr;
pub use delta_io as io;
pub use delta_log as log;
pub use delta_merge as merge;
pub use delta_optimize as optimize;
pub use delta_schema as schema;
pub use delta_txn as txn;
