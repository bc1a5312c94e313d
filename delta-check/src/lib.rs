//! Consistency checks for Delta tables.
//!
//! This crate is a placeholder: it will check that the log, checkpoints, data
//! files and their statistics agree, report what it finds and offer a safe
//! repair. It is read-only unless a repair is asked for.
