//! The `naftiko` binary: argument parsing and wiring only; the work is in the library crates.

use std::process::ExitCode;

use clap::Parser;

mod control;
mod mcp;
mod serve;
mod validate;
mod workers;

/// Naftiko capability runtime.
#[derive(Debug, Parser)]
#[command(name = "naftiko", version, about = "Validate and serve Naftiko capabilities")]
enum Cli {
    /// Check capability files against the specification and report what to fix.
    Validate(validate::Args),
    /// Serve a capability: its REST and MCP adapters, in front of the APIs it consumes.
    Serve(serve::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match cli {
        Cli::Validate(args) => validate::run(&args),
        Cli::Serve(args) => serve::run(&args),
    }
}

/// Logs go to stderr (stdout is the MCP stdio channel); `NAFTIKO_LOG` sets the filter
/// (default `warn`), `NAFTIKO_LOG_FORMAT=json` switches to JSON lines.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("NAFTIKO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    if std::env::var("NAFTIKO_LOG_FORMAT").is_ok_and(|v| v == "json") {
        let _ = builder.json().try_init();
    } else {
        let _ = builder.try_init();
    }
}
