//! File management for Delta tables.
//!
//! This crate is a placeholder: it will hold bin-packing compaction, Z-order
//! clustering, VACUUM with retention safety and log cleanup, each committed
//! through `delta-txn`. It knows no MERGE and no consistency checks.
