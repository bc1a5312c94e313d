//! How a long operation (checking every row for a new constraint, later
//! OPTIMIZE, VACUUM and checks) tells its caller how far it is.
//!
//! The library only counts; a command-line tool draws the bar.

/// Told how much of a long operation is done.
pub trait Progress: Send + Sync {
    /// The whole amount of work in units (rows, files), once it is known.
    fn total(&self, _units: u64) {}

    /// `units` more are done.
    fn advance(&self, units: u64);
}

/// Progress nobody watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn advance(&self, _units: u64) {}
}
