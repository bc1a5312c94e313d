//! Where output goes (standard output or a file), errors of the command line,
//! and small formatting helpers shared by the commands.

use std::error::Error;
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, SecondsFormat};

/// The error of a command: anything with a message, and maybe a source chain.
pub type CliError = Box<dyn Error + Send + Sync + 'static>;

/// The result of a command.
pub type CliResult<T> = Result<T, CliError>;

/// Set when a write to standard output failed because the reader went away
/// (`delta cat t | head`): the command then ends quietly with status 0.
static BROKEN_PIPE: AtomicBool = AtomicBool::new(false);

/// Whether standard output was closed by its reader.
pub fn stdout_broken() -> bool {
    BROKEN_PIPE.load(Ordering::Relaxed)
}

/// An error with a message saying what was being done, around its cause.
#[derive(Debug)]
pub struct Context {
    message: String,
    source: CliError,
}

impl Context {
    /// Wraps `source` with `message` (which should not repeat the source's text).
    pub fn new(message: impl Into<String>, source: impl Into<CliError>) -> Self {
        Context {
            message: message.into(),
            source: source.into(),
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for Context {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(self.source.as_ref())
    }
}

/// The text printed for an error: its message followed by the messages of its
/// sources, skipping those the text already contains (many of the library's
/// messages embed their source).
pub fn error_text(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !part.is_empty() && !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// Whether the error (or one of its sources) is a broken pipe.
pub fn is_broken_pipe(error: &(dyn Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>()
            && io.kind() == io::ErrorKind::BrokenPipe
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// Whether the error (or one of its sources) is a commit conflict (exit status 3).
pub fn is_conflict(error: &(dyn Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(delta::txn::TxnError::Conflict { .. }) =
            e.downcast_ref::<delta::txn::TxnError>()
        {
            return true;
        }
        if let Some(delta::merge::MergeError::Txn(delta::txn::TxnError::Conflict { .. })) =
            e.downcast_ref::<delta::merge::MergeError>()
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// Text output: standard output or a file, buffered. Remembers broken pipes
/// on standard output (see [`stdout_broken`]).
pub struct Output {
    inner: Box<dyn Write>,
    stdout: bool,
}

impl Output {
    /// Standard output.
    pub fn stdout() -> Self {
        Output {
            inner: Box::new(BufWriter::new(io::stdout().lock())),
            stdout: true,
        }
    }

    /// A file (created by [`create_file`]).
    pub fn file(file: File) -> Self {
        Output {
            inner: Box::new(BufWriter::new(file)),
            stdout: false,
        }
    }

    fn check<T>(&self, result: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &result
            && self.stdout
            && e.kind() == io::ErrorKind::BrokenPipe
        {
            BROKEN_PIPE.store(true, Ordering::Relaxed);
        }
        result
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = self.inner.write(buf);
        self.check(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = self.inner.flush();
        self.check(result)
    }
}

/// Creates (or truncates) the file at `path`, with a message naming it on failure.
pub fn create_file(path: &Path) -> CliResult<File> {
    File::create(path)
        .map_err(|e| Context::new(format!("cannot create '{}'", path.display()), e).into())
}

/// Removes a partly written output file after a failure (best effort: the
/// original error is what gets reported).
pub fn remove_partial(path: Option<&PathBuf>) {
    if let Some(path) = path {
        let _ignored = std::fs::remove_file(path);
    }
}

/// Milliseconds since the epoch as RFC 3339 in UTC (`2024-01-31T12:00:00.000Z`).
pub fn rfc3339(ms: i64) -> String {
    match DateTime::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => format!("{ms} ms since the epoch"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_timestamps_and_error_chains() {
        assert_eq!(rfc3339(1_600_000_000_000), "2020-09-13T12:26:40.000Z");
        let inner = io::Error::new(io::ErrorKind::NotFound, "gone");
        let e = Context::new("cannot read 'x'", inner);
        assert_eq!(error_text(&e), "cannot read 'x': gone");
        let pipe = Context::new("w", io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(is_broken_pipe(&pipe));
        assert!(!is_broken_pipe(&e));
    }
}
