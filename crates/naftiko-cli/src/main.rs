//! The `naftiko` binary: argument parsing and wiring only; the work is in the library crates.

use std::process::ExitCode;

use clap::Parser;

mod validate;

/// Naftiko capability runtime.
#[derive(Debug, Parser)]
#[command(name = "naftiko", version, about = "Validate and serve Naftiko capabilities")]
enum Cli {
    /// Check capability files against the specification and report what to fix.
    Validate(validate::Args),
}

fn main() -> ExitCode {
    match Cli::parse() {
        Cli::Validate(args) => validate::run(&args),
    }
}
