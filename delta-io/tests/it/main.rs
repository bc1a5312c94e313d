//! Integration tests of delta-io.

// Test helpers outside `#[test]` functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod dv;
mod dv_errors;
mod pages;
mod writer;
