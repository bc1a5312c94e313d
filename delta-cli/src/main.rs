//! The `delta` command line (`delta --help`; delta-cli/README.md describes
//! each command): read, write, change, maintain and check Delta tables, and
//! run SQL over them.
//!
//! Exit status: 0 success; 1 an error, reported on standard error as
//! `delta: <message>`; 2 bad command-line usage (clap); 3 a concurrent
//! commit conflict that was not retried away.

/// The allocator of our binaries: it keeps freed memory for reuse, where the
/// system allocator returns large blocks and takes page faults on the next
/// ones (a full scan of 5 M rows: 0.5 s instead of 0.85 s, BENCHMARKS.md W4).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cat;
mod check;
mod cli;
mod demo;
mod describe;
mod dml;
mod history;
mod input;
mod optimize;
mod output;
mod progress;
mod sql;
mod story;
mod write;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::output::{CliResult, error_text, is_broken_pipe, is_conflict, stdout_broken};

fn main() -> ExitCode {
    // clap prints usage errors and exits with status 2 (0 for --help / --version)
    let cli = Cli::parse();
    init_logging();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| output::Context::new("cannot start the async runtime", e).into())
        .and_then(|runtime| runtime.block_on(run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // the reader of our output went away (`delta cat t | head`): not an error
        Err(e) if stdout_broken() || is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(e) => {
            // a closed standard error must not panic either
            let _ = writeln!(std::io::stderr(), "delta: {}", error_text(e.as_ref()));
            if is_conflict(e.as_ref()) {
                ExitCode::from(3)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// Warnings (and whatever `RUST_LOG` asks for) go to standard error as
/// `delta: warning: ...` lines; a bad `RUST_LOG` falls back to warnings.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

async fn run(cli: Cli) -> CliResult<()> {
    match &cli.command {
        Command::Cat(args) => cat::run(args).await,
        Command::Describe(args) => describe::run(args).await,
        Command::History(args) => history::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Create(args) => write::create(args).await,
        Command::Write(args) => write::write(args).await,
        Command::Checkpoint(args) => write::checkpoint(args).await,
        Command::Constraint(args) => write::constraint(args).await,
        Command::Delete(args) => dml::delete(args).await,
        Command::Update(args) => dml::update(args).await,
        Command::Merge(args) => dml::merge(args).await,
        Command::Optimize(args) => optimize::run(args).await,
        Command::Vacuum(args) => optimize::vacuum(args).await,
        Command::Restore(args) => optimize::restore(args).await,
        Command::Check(args) => check::run(args).await,
        Command::Sql(args) => sql::run(args).await,
    }
}
