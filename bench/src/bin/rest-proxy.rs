//! REST proxy benchmark, in one run: wrk against (a) the static upstream directly, (b) naftiko
//! simple mode with `mapping: $.`, (c) naftiko forward, (d) nginx `proxy_pass`, (e) haproxy —
//! all to the same upstream (nginx serving a fixed 1.5 kB JSON).
//!
//! Needs nginx, haproxy and wrk (`apt-get install -y nginx-light haproxy wrk`) and a release
//! build (`cargo build --release -p naftiko-cli`). Run:
//! `cargo run --release -p naftiko-bench --bin rest-proxy` (WRK_THREADS, WRK_CONNECTIONS,
//! WRK_SECONDS change the load; defaults 1, 50, 10).

use std::process::Command;
use std::time::Duration;

use naftiko_bench::proc::{free_port, naftiko_bin, require, spawn, wait_port};
use naftiko_bench::workspace_root;
use naftiko_bench::wrk::{self, Figures, Settings};

fn main() {
    let nginx = require("nginx", "apt-get install -y nginx-light");
    let haproxy = require("haproxy", "apt-get install -y haproxy");
    require("wrk", "apt-get install -y wrk");
    let naftiko = naftiko_bin();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let fixture = workspace_root().join("bench/fixtures");
    std::fs::copy(fixture.join("item.json"), d.join("item.json")).expect("copy item.json");
    let expected: serde_json::Value = serde_json::from_slice(&std::fs::read(d.join("item.json")).unwrap()).unwrap();
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);

    let (up, nproxy, hproxy, naf, naf_mcp) = (free_port(), free_port(), free_port(), free_port(), free_port());
    let nginx_conf = |name: &str, server: String| {
        let conf = format!(
            "worker_processes {workers};\ndaemon off;\npid {p}/{name}.pid;\nerror_log {p}/{name}-error.log;\nevents {{ worker_connections 8192; }}\n\
             http {{\n  access_log off;\n  keepalive_requests 1000000;\n  {server}\n}}\n",
            p = d.display()
        );
        let path = d.join(format!("{name}.conf"));
        std::fs::write(&path, conf).unwrap();
        path
    };
    let up_conf = nginx_conf(
        "upstream",
        format!(
            "server {{ listen 127.0.0.1:{up}; root {}; location = /item.json {{ default_type application/json; }} }}",
            d.display()
        ),
    );
    let proxy_conf = nginx_conf(
        "proxy",
        format!(
            "upstream up {{ server 127.0.0.1:{up}; keepalive 64; }}\n  server {{ listen 127.0.0.1:{nproxy}; location / {{ proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection \"\"; }} }}"
        ),
    );
    let hap_conf = d.join("haproxy.cfg");
    std::fs::write(
        &hap_conf,
        format!(
            "global\n  nbthread {workers}\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n  option http-keep-alive\n\
             frontend fe\n  bind 127.0.0.1:{hproxy}\n  default_backend be\nbackend be\n  http-reuse always\n  server up 127.0.0.1:{up} maxconn 2000\n"
        ),
    )
    .unwrap();

    let _up = spawn("nginx-upstream", Command::new(&nginx).arg("-p").arg(d).arg("-c").arg(&up_conf), d);
    let _np = spawn("nginx-proxy", Command::new(&nginx).arg("-p").arg(d).arg("-c").arg(&proxy_conf), d);
    let _hp = spawn("haproxy", Command::new(&haproxy).arg("-f").arg(&hap_conf), d);
    let naf_cmd = format!(
        "{} serve {} --base-uri static=http://127.0.0.1:{up} --listen bench=127.0.0.1:{naf} --listen bench-mcp=127.0.0.1:{naf_mcp}",
        naftiko.display(),
        fixture.join("proxy-bench.yaml").display()
    );
    let _nf = spawn(
        "naftiko",
        Command::new(&naftiko)
            .arg("serve")
            .arg(fixture.join("proxy-bench.yaml"))
            .arg("--base-uri")
            .arg(format!("static=http://127.0.0.1:{up}"))
            .arg("--listen")
            .arg(format!("bench=127.0.0.1:{naf}"))
            .arg("--listen")
            .arg(format!("bench-mcp=127.0.0.1:{naf_mcp}")),
        d,
    );
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
        let body = curl_get(url);
        let got: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{name} ({url}) did not answer JSON ({e}): {body}"));
        assert_eq!(got, expected, "{name} answered something else");
    }
    let s = Settings::from_env();
    println!(
        "machine: {workers} cores; wrk -t{} -c{} -d{}s --latency (after a 2 s warm-up per target)",
        s.threads, s.connections, s.seconds
    );
    println!("nginx and haproxy use {workers} workers/threads; naftiko uses its default (one tokio worker per core)");
    println!("naftiko: {naf_cmd}\n");
    let mut results: Vec<(&str, Figures)> = Vec::new();
    for (name, url) in &targets {
        let _ = wrk::run(url, &s, 2, None);
        let f = wrk::run(url, &s, s.seconds, None);
        results.push((name, f));
    }
    let get =
        |prefix: &str| results.iter().find(|(n, _)| n.starts_with(prefix)).map(|(_, f)| f.clone()).unwrap_or_default();
    let (hap, ngx) = (get("(e)"), get("(d)"));
    println!(
        "{:<32} {:>10} {:>9} {:>9} {:>8} {:>10} {:>9}",
        "target", "req/s", "p50 ms", "p99 ms", "errors", "vs haproxy", "vs nginx"
    );
    for (name, f) in &results {
        println!(
            "{:<32} {:>10.0} {:>9.3} {:>9.3} {:>8} {:>9.2}x {:>8.2}x",
            name,
            f.rps,
            f.p50_ms,
            f.p99_ms,
            f.errors,
            f.rps / hap.rps.max(1.0),
            f.rps / ngx.rps.max(1.0)
        );
    }
    let (simple, fwd) = (get("(b)"), get("(c)"));
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    println!();
    println!(
        "target: forward >= 1.1x haproxy throughput with p99 no worse: {:.2}x, p99 {:.3} vs {:.3} ms -> {}",
        fwd.rps / hap.rps.max(1.0),
        fwd.p99_ms,
        hap.p99_ms,
        verdict(fwd.rps >= 1.1 * hap.rps && fwd.p99_ms <= hap.p99_ms)
    );
    println!(
        "target: simple mode >= 0.9x nginx throughput: {:.2}x -> {}",
        simple.rps / ngx.rps.max(1.0),
        verdict(simple.rps >= 0.9 * ngx.rps)
    );
}

/// One GET without pulling an HTTP client into the benchmark harness: curl is everywhere.
fn curl_get(url: &str) -> String {
    let out = Command::new("curl").args(["-s", "--max-time", "5", url]).output().expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
