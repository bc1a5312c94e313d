//! MERGE, UPDATE and DELETE for Delta tables.
//!
//! This crate is a placeholder: it will hold MERGE (matched / not matched /
//! not matched by source clauses), UPDATE and DELETE, each producing actions
//! that `delta-txn` commits. It knows no other operation.
