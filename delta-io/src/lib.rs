//! Parquet data files of Delta tables.
//!
//! Being built (issue 3): reading data files with projection, partition values
//! as columns, deletion vectors and column mapping, as Arrow record batches.

pub mod dv;
