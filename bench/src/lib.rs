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
