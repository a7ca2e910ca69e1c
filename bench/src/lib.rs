//! Shared helpers for the benchmark programs in `src/bin/`: locating the shared data and
//! summarising timings.

pub mod proc;
pub mod servers;
pub mod wrk;

use std::path::PathBuf;
use std::time::Duration;

/// `../shared` beside the project, or `$NAFTIKO_SHARED`.
pub fn shared_dir() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::var_os("NAFTIKO_SHARED").map(PathBuf::from).unwrap_or_else(|| root.join("..").join("shared"));
    dir.join("corpus").is_dir().then_some(dir)
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Min, median and max of a set of durations.
pub fn summary(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    let n = samples.len();
    if n == 0 {
        return Default::default();
    }
    (samples[0], samples[n / 2], samples[n - 1])
}

/// A duration in milliseconds with three decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Prints the head of a per-body table comparing `serde_json` with naftiko's own code.
pub fn print_versus_serde_head() {
    println!("{:<22} {:>9} {:>14} {:>14} {:>8}", "body", "bytes", "serde_json", "naftiko", "speed-up");
}

/// Prints one body's row: its size, each side's nanoseconds per call and per byte, the ratio.
pub fn print_versus_serde_row(name: &str, bytes: usize, serde_ns: f64, naftiko_ns: f64) {
    println!(
        "{name:<22} {bytes:>9} {serde_ns:>8.0} ns {:>4.2}/B {naftiko_ns:>8.0} ns {:>4.2}/B {:>7.2}x",
        serde_ns / bytes as f64,
        naftiko_ns / bytes as f64,
        serde_ns / naftiko_ns
    );
}
