//! Running wrk and reading its figures.

use std::path::Path;
use std::process::Command;

/// What one wrk run measured.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Requests per second.
    pub rps: f64,
    /// Median latency in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency in milliseconds.
    pub p99_ms: f64,
    /// Non-2xx/3xx responses and socket errors.
    pub errors: u64,
}

/// wrk settings shared by every target of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `-t`.
    pub threads: u32,
    /// `-c`.
    pub connections: u32,
    /// `-d`, seconds.
    pub seconds: u32,
}

impl Settings {
    /// From `WRK_THREADS`, `WRK_CONNECTIONS`, `WRK_SECONDS` (defaults 1, 50, 10).
    pub fn from_env() -> Settings {
        let get = |k: &str, d: u32| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
        Settings {
            threads: get("WRK_THREADS", 1),
            connections: get("WRK_CONNECTIONS", 50),
            seconds: get("WRK_SECONDS", 10),
        }
    }
}

/// Runs wrk against `url` (with a Lua `script` for POSTs) and parses its output.
pub fn run(url: &str, s: &Settings, seconds: u32, script: Option<&Path>) -> Figures {
    let mut cmd = Command::new("wrk");
    cmd.arg(format!("-t{}", s.threads))
        .arg(format!("-c{}", s.connections))
        .arg(format!("-d{seconds}s"))
        .arg("--latency");
    if let Some(sc) = script {
        cmd.arg("-s").arg(sc);
    }
    let out = cmd.arg(url).output().expect("run wrk");
    parse(&String::from_utf8_lossy(&out.stdout))
}

fn ms(v: &str) -> f64 {
    let v = v.trim();
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: f64 = num.parse().unwrap_or(0.0);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => n,
    }
}

/// Parses wrk's `--latency` report.
pub fn parse(out: &str) -> Figures {
    let mut f = Figures::default();
    for line in out.lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("Requests/sec:") {
            f.rps = v.trim().parse().unwrap_or(0.0);
        } else if let Some(v) = t.strip_prefix("50%") {
            f.p50_ms = ms(v);
        } else if let Some(v) = t.strip_prefix("99%") {
            f.p99_ms = ms(v);
        } else if let Some(v) = t.strip_prefix("Non-2xx or 3xx responses:") {
            f.errors += v.trim().parse::<u64>().unwrap_or(0);
        } else if let Some(v) = t.strip_prefix("Socket errors:") {
            f.errors += v
                .split(',')
                .filter_map(|p| p.split_whitespace().last())
                .filter_map(|n| n.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    f
}

#[cfg(test)]
mod tests {
    #[test]
    fn wrk_output_parses() {
        let out = "  Latency Distribution\n     50%  412.00us\n     75%    1.02ms\n     90%    2.10ms\n     99%    5.50ms\n  12345 requests in 10.00s\nRequests/sec:  24012.31\nTransfer/sec:      3.10MB\n";
        let f = super::parse(out);
        assert_eq!(f.rps, 24012.31);
        assert_eq!(f.p50_ms, 0.412);
        assert_eq!(f.p99_ms, 5.5);
    }
}

/// How many interleaved rounds a program runs (`BENCH_ROUNDS`, default 3).
pub fn rounds() -> usize {
    std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(3)
}

/// Every target's runs, one per round. Targets are run in turn within each round, so a slow
/// stretch of the shared machine hits them alike; figures are the median run's, and ratios the
/// median of the per-round ratios.
#[derive(Debug, Clone, Default)]
pub struct Rounds {
    /// `runs[target][round]`.
    pub runs: Vec<Vec<Figures>>,
}

impl Rounds {
    /// Runs `run(target)` for every target, `rounds` times over.
    pub fn measure(targets: usize, rounds: usize, mut run: impl FnMut(usize) -> Figures) -> Rounds {
        let mut runs = vec![Vec::new(); targets];
        for _ in 0..rounds {
            for (t, r) in runs.iter_mut().enumerate() {
                r.push(run(t));
            }
        }
        Rounds { runs }
    }

    /// The run of `target` with the median throughput.
    pub fn median(&self, target: usize) -> Figures {
        let mut runs = self.runs[target].clone();
        runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
        runs.get(runs.len() / 2).cloned().unwrap_or_default()
    }

    /// The lowest and highest throughput of `target`.
    pub fn range(&self, target: usize) -> (f64, f64) {
        let rps = self.runs[target].iter().map(|f| f.rps);
        (rps.clone().fold(f64::INFINITY, f64::min), rps.fold(0.0, f64::max))
    }

    /// The median over rounds of `a`'s throughput divided by `b`'s in the same round.
    pub fn ratio(&self, a: usize, b: usize) -> f64 {
        let mut r: Vec<f64> = self.runs[a].iter().zip(&self.runs[b]).map(|(x, y)| x.rps / y.rps.max(1.0)).collect();
        r.sort_by(f64::total_cmp);
        r.get(r.len() / 2).copied().unwrap_or(0.0)
    }
}
