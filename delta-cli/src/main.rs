//! The `delta` command line (see ../shared/CLI.md for the contract).

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("delta: no commands are implemented yet (the read path lands with issue 3)");
    ExitCode::from(1)
}
