//! `pss-fix`: parse the command line, dispatch, map the outcome to an exit code (0/1/2).
//!
//! Everything else lives in the `app` module (I/O) and the library (engine and output
//! formats). A usage error is clap's message on stderr and exit 2; `--help` and `--version`
//! exit 0.

mod app;
mod cli;

use clap::FromArgMatches;
use std::process::ExitCode;

/// mimalloc rather than the system allocator: the engine allocates many small maps and
/// strings per workload, and glibc's malloc took a quarter of the webhook's CPU under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let parsed = cli::command()
        .try_get_matches()
        .and_then(|matches| cli::Cli::from_arg_matches(&matches));
    match parsed {
        Ok(cli) => app::run(cli),
        Err(error) => {
            // Help and version go to stdout; a closed pipe there is not worth reporting.
            let _ = error.print();
            if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
