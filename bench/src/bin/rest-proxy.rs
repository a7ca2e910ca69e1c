//! REST proxy benchmark, in one run: wrk against (a) the static upstream directly, (b) naftiko
//! simple mode with `mapping: $.`, (c) naftiko forward, (d) nginx `proxy_pass`, (e) haproxy —
//! all to the same upstream (nginx serving a fixed 1.5 kB JSON).
//!
//! Needs nginx, haproxy and wrk (`apt-get install -y nginx-light haproxy wrk`) and a release
//! build (`cargo build --release -p naftiko-cli`). Run:
//! `cargo run --release -p naftiko-bench --bin rest-proxy` (WRK_THREADS, WRK_CONNECTIONS,
//! WRK_SECONDS change the load; defaults 1, 50, 10; BENCH_ROUNDS the interleaved rounds, default 3;
//! NAFTIKO_WORKERS=N passes `--workers N`).

use std::time::Duration;

use naftiko_bench::proc::{free_ports, require, wait_port};
use naftiko_bench::servers::{self, curl, workers};
use naftiko_bench::wrk::{self, Rounds, Settings};

fn main() {
    require("wrk", "apt-get install -y wrk");
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let expected = servers::item_json(d);
    let workers = workers();
    let [up, nproxy, hproxy, naf, naf_mcp] = free_ports();
    let _up = servers::static_upstream(d, up);
    let _np = servers::nginx_proxy(d, nproxy, up);
    let _hp = servers::haproxy(d, hproxy, up);
    let (_nf, naf_cmd) = servers::naftiko(d, up, naf, naf_mcp);
    for (name, port) in [("upstream", up), ("nginx proxy", nproxy), ("haproxy", hproxy), ("naftiko", naf)] {
        if wait_port(port, Duration::from_secs(10)).is_none() {
            eprintln!("{name} did not start; see the logs in {}", d.display());
            let _ = dir.keep();
            return;
        }
    }
    let targets = [
        ("(a) upstream direct", format!("http://127.0.0.1:{up}/item.json")),
        ("(b) naftiko simple, mapping $.", format!("http://127.0.0.1:{naf}/simple")),
        ("(c) naftiko forward", format!("http://127.0.0.1:{naf}/fwd/item.json")),
        ("(d) nginx proxy_pass", format!("http://127.0.0.1:{nproxy}/item.json")),
        ("(e) haproxy", format!("http://127.0.0.1:{hproxy}/item.json")),
    ];
    // A benchmark of error responses is worthless: every target must answer the fixed JSON.
    for (name, url) in &targets {
        let body = curl(&[url]);
        let got: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{name} ({url}) did not answer JSON ({e}): {body}"));
        assert_eq!(got, expected, "{name} answered something else");
    }
    let s = Settings::from_env();
    let rounds = wrk::rounds();
    println!(
        "machine: {workers} cores; wrk -t{} -c{} -d{}s --latency (after a 2 s warm-up per target), {rounds} interleaved rounds",
        s.threads, s.connections, s.seconds
    );
    println!("nginx and haproxy use {workers} workers/threads; naftiko uses its default (one tokio worker per core)");
    println!("naftiko: {naf_cmd}\n");
    let measured = Rounds::measure(targets.len(), rounds, |t| {
        let url = &targets[t].1;
        let _ = wrk::run(url, &s, 2, None);
        wrk::run(url, &s, s.seconds, None)
    });
    let (simple, fwd, ngx, hap) = (1, 2, 3, 4);
    println!(
        "{:<32} {:>10} {:>17} {:>9} {:>9} {:>8} {:>10} {:>9}",
        "target (median of rounds)", "req/s", "range", "p50 ms", "p99 ms", "errors", "vs haproxy", "vs nginx"
    );
    for (t, (name, _)) in targets.iter().enumerate() {
        let f = measured.median(t);
        let (lo, hi) = measured.range(t);
        println!(
            "{:<32} {:>10.0} {:>8.0}-{:<8.0} {:>9.3} {:>9.3} {:>8} {:>9.2}x {:>8.2}x",
            name,
            f.rps,
            lo,
            hi,
            f.p50_ms,
            f.p99_ms,
            f.errors,
            measured.ratio(t, hap),
            measured.ratio(t, ngx)
        );
    }
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    let (fwd_ratio, simple_ratio) = (measured.ratio(fwd, hap), measured.ratio(simple, ngx));
    let (fwd_p99, hap_p99) = (measured.median(fwd).p99_ms, measured.median(hap).p99_ms);
    println!("\nratios are the median of the per-round ratios");
    println!(
        "target: forward >= 1.1x haproxy throughput with p99 no worse: {fwd_ratio:.2}x, p99 {fwd_p99:.3} vs {hap_p99:.3} ms -> {}",
        verdict(fwd_ratio >= 1.1 && fwd_p99 <= hap_p99)
    );
    println!("target: simple mode >= 0.9x nginx throughput: {simple_ratio:.2}x -> {}", verdict(simple_ratio >= 0.9));
}
