//! `naftiko validate FILE... [--strict] [--format human|json]`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use naftiko_spec::diag::{Code, count, render_human_grouped, render_json};

/// Arguments of `naftiko validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Capability files to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Treat warnings as errors (for CI of capability authors).
    #[arg(long)]
    strict: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Human,
    Json,
}

/// Validates every file; exit 0 without errors, 1 with errors, 2 when a file cannot be read.
pub fn run(args: &Args) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut any_error = false;
    let mut any_io = false;
    for file in &args.files {
        let mut v = naftiko_spec::validate(file);
        if args.strict {
            v.make_strict();
        }
        any_io |= v.diagnostics.iter().any(|d| d.code == Code::Io);
        let (errors, warnings) = count(&v.diagnostics);
        any_error |= errors > 0;
        let written = match args.format {
            Format::Human => {
                let mut text = render_human_grouped(&v.diagnostics, &v.sources);
                text.push_str(&summary(&file.display().to_string(), errors, warnings));
                writeln!(out, "{text}")
            }
            Format::Json => {
                let mut text = String::new();
                for d in &v.diagnostics {
                    text.push_str(&render_json(d, &v.sources).to_string());
                    text.push('\n');
                }
                let s = serde_json::json!({"file": file.display().to_string(), "ok": errors == 0, "errors": errors, "warnings": warnings});
                text.push_str(&serde_json::json!({ "summary": s }).to_string());
                writeln!(out, "{text}")
            }
        };
        if written.is_err() {
            return ExitCode::from(2);
        }
    }
    if any_io {
        ExitCode::from(2)
    } else if any_error {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn summary(file: &str, errors: usize, warnings: usize) -> String {
    let plural = |n: usize, w: &str| if n == 1 { format!("{n} {w}") } else { format!("{n} {w}s") };
    match (errors, warnings) {
        (0, 0) => format!("{file}: ok"),
        (0, w) => format!("{file}: ok ({})", plural(w, "warning")),
        (e, 0) => format!("{file}: {}", plural(e, "error")),
        (e, w) => format!("{file}: {}, {}", plural(e, "error"), plural(w, "warning")),
    }
}
