//! Integration tests of delta-schema.

mod json;
mod roundtrip;
