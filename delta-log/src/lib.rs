//! The transaction log of Delta tables, on any `object_store::ObjectStore`.
//!
//! Being built (issue 3): a generic versioned-commit core, the Delta actions,
//! snapshot replay, checkpoints and time travel.
