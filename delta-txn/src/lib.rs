//! Delta tables, snapshots and transactions.
//!
//! Being built (issues 3 and 4): `Table::open`, snapshots at any version, and
//! transactions that commit atomically through `delta-log`.
