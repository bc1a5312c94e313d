//! Test support shared by the workspace's tests (not published): the
//! canonical content hash, and scratch copies of tables ([`scratch_copy`]).
//!
//! The main piece is the *canonical content hash* of testdata/README.md
//! (section "The canonical content hash"): every row becomes one line of compact JSON with
//! normalised values, the lines are sorted and the hash is the SHA-256 of their text.
//! Two readers that return the same rows give the same hash, whatever Arrow encoding
//! they chose (large or view strings, dictionaries, any timestamp unit), so a test can
//! compare what our reader returns with the `hash` (and `rows`) of a table's
//! `expected.json`. The Python twin is xtask/peer/canonical.py (the peer checks use it); the
//! fixtures in `tests/data/canonical/` pin the two together.
//!
//! ```
//! use std::sync::Arc;
//! use arrow::array::{Float64Array, Int32Array, RecordBatch};
//!
//! let batch = RecordBatch::try_from_iter([
//!     ("id", Arc::new(Int32Array::from(vec![2, 1])) as _),
//!     ("x", Arc::new(Float64Array::from(vec![-0.0, f64::NAN])) as _),
//! ])
//! .unwrap();
//! let lines = delta_test::canonical_lines(std::slice::from_ref(&batch)).unwrap();
//! assert_eq!(
//!     lines,
//!     [r#"{"id":1,"x":"NaN"}"#, r#"{"id":2,"x":"f64:8000000000000000"}"#]
//! );
//! let hash = delta_test::canonical_hash(&[batch]).unwrap();
//! assert_eq!(hash.len(), 64);
//! ```

mod canonical;
mod failing;
mod fs;
mod interop;
mod interpose;
mod proxy;

pub use canonical::{CanonicalError, canonical_hash, canonical_lines, canonical_rows};
pub use failing::{FailingStore, copy_store};
pub use fs::{copy_tree, scratch_copy, scratch_dir, testdata_dir};
pub use interop::{interop_dir, write_interop_report, write_interop_report_of};
pub use interpose::InterposingStore;
pub use proxy::FaultProxy;
