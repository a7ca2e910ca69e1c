//! MCP benchmark, in one run: `tools/call` throughput and p50/p99 through naftiko's MCP adapter,
//! the same upstream called directly, nginx `proxy_pass` to it, and FastMCP's `from_openapi`
//! (PyPI `fastmcp==4.1.2`) serving the equivalent OpenAPI — all over the same static upstream
//! (nginx serving a fixed 1.5 kB JSON). Then the same at one connection, for latency overhead.
//!
//! Needs nginx and wrk (`apt-get install -y nginx-light wrk`), a release build
//! (`cargo build --release -p naftiko-cli`) and FastMCP in `.venv-bench`
//! (`python3 -m venv .venv-bench && .venv-bench/bin/pip install fastmcp==4.1.2`). Run:
//! `cargo run --release -p naftiko-bench --bin mcp-tools` (WRK_THREADS, WRK_CONNECTIONS,
//! WRK_SECONDS change the load; defaults 1, 50, 10; BENCH_ROUNDS the interleaved rounds, default 3).

use std::process::Command;
use std::time::Duration;

use naftiko_bench::proc::{free_ports, require, spawn, wait_port};
use naftiko_bench::servers::{self, curl};
use naftiko_bench::workspace_root;
use naftiko_bench::wrk::{self, Rounds, Settings};

const MCP_HEADERS: [&str; 6] = [
    "-H",
    "content-type: application/json",
    "-H",
    "accept: application/json, text/event-stream",
    "-H",
    "mcp-protocol-version: 2025-06-18",
];

fn call_body(tool: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{{}}}}}}"#)
}

/// A wrk script that POSTs one `tools/call`.
fn wrk_script(dir: &std::path::Path, name: &str, tool: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.lua"));
    let lua = format!(
        "wrk.method = \"POST\"\nwrk.body = '{}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
         wrk.headers[\"Accept\"] = \"application/json, text/event-stream\"\nwrk.headers[\"MCP-Protocol-Version\"] = \"2025-06-18\"\n",
        call_body(tool)
    );
    std::fs::write(&path, lua).expect("write wrk script");
    path
}

/// Calls the tool once and checks that its structured result is the upstream JSON.
fn check_call(name: &str, url: &str, tool: &str, expected: &serde_json::Value) {
    let mut args: Vec<&str> = MCP_HEADERS.to_vec();
    let body = call_body(tool);
    args.extend(["-X", "POST", "-d", &body, url]);
    let text = curl(&args);
    let json_text = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or(&text);
    let reply: serde_json::Value = serde_json::from_str(json_text)
        .unwrap_or_else(|e| panic!("{name}: tools/call did not answer JSON ({e}): {text}"));
    let structured = &reply["result"]["structuredContent"];
    // FastMCP wraps non-object results; an object comes back as it is from both.
    assert_eq!(structured, expected, "{name}: tools/call answered {reply}");
}

fn main() {
    require("wrk", "apt-get install -y wrk");
    let python = workspace_root().join(".venv-bench/bin/python");
    if !python.exists() {
        eprintln!(
            "FastMCP is not installed: python3 -m venv .venv-bench && .venv-bench/bin/pip install fastmcp==4.1.2"
        );
        std::process::exit(2);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let expected = servers::item_json(d);
    let [up, nproxy, naf, naf_mcp, fast] = free_ports();
    let _up = servers::static_upstream(d, up);
    let _np = servers::nginx_proxy(d, nproxy, up);
    let (_nf, naf_cmd) = servers::naftiko(d, up, naf, naf_mcp);
    let _fm = spawn(
        "fastmcp",
        Command::new(&python)
            .arg(workspace_root().join("bench/python/fastmcp_server.py"))
            .arg(workspace_root().join("bench/fixtures/item-openapi.json"))
            .arg(format!("http://127.0.0.1:{up}"))
            .arg(fast.to_string()),
        d,
    );
    for (name, port) in [("upstream", up), ("nginx proxy", nproxy), ("naftiko mcp", naf_mcp), ("fastmcp", fast)] {
        if wait_port(port, Duration::from_secs(30)).is_none() {
            eprintln!("{name} did not start; see the logs in {}", d.display());
            let _ = dir.keep();
            return;
        }
    }
    let naf_url = format!("http://127.0.0.1:{naf_mcp}/mcp");
    let fast_url = format!("http://127.0.0.1:{fast}/mcp");
    check_call("naftiko", &naf_url, "get-item", &expected);
    check_call("fastmcp", &fast_url, "get_item", &expected);
    let naf_script = wrk_script(d, "naftiko", "get-item");
    let fast_script = wrk_script(d, "fastmcp", "get_item");
    let direct = format!("http://127.0.0.1:{up}/item.json");
    let proxied = format!("http://127.0.0.1:{nproxy}/item.json");
    let targets: [(&str, &str, Option<&std::path::Path>); 4] = [
        ("upstream direct (GET)", &direct, None),
        ("nginx proxy_pass (GET)", &proxied, None),
        ("naftiko MCP tools/call", &naf_url, Some(&naf_script)),
        ("FastMCP tools/call", &fast_url, Some(&fast_script)),
    ];

    let s = Settings::from_env();
    let rounds = wrk::rounds();
    println!(
        "machine: {} cores; wrk -t{} -c{} -d{}s --latency (after a 2 s warm-up per target), {rounds} interleaved rounds",
        servers::workers(),
        s.threads,
        s.connections,
        s.seconds
    );
    println!("naftiko: {naf_cmd}\nFastMCP 4.1.2: from_openapi, stateless HTTP, JSON responses\n");
    let run_all = |s: &Settings| {
        Rounds::measure(targets.len(), rounds, |t| {
            let (_, url, script) = targets[t];
            let _ = wrk::run(url, s, 2, script);
            wrk::run(url, s, s.seconds, script)
        })
    };
    let (direct_t, ngx_t, naf_t, fast_t) = (0, 1, 2, 3);
    let loaded = run_all(&s);
    print_table(&targets.map(|t| t.0), &loaded);
    let single = Settings { threads: 1, connections: 1, seconds: s.seconds };
    println!("\nat one connection (latency without queueing): wrk -t1 -c1 -d{}s", s.seconds);
    let serial = run_all(&single);
    print_table(&targets.map(|t| t.0), &serial);

    let overhead = serial.median(naf_t).p50_ms - serial.median(direct_t).p50_ms;
    let (vs_fast, vs_ngx) = (loaded.ratio(naf_t, fast_t), loaded.ratio(naf_t, ngx_t));
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    println!("\nratios are the median of the per-round ratios");
    println!("target: >= 100x FastMCP throughput: {vs_fast:.1}x -> {}", verdict(vs_fast >= 100.0));
    println!("target: >= 0.7x nginx proxy_pass throughput: {vs_ngx:.2}x -> {}", verdict(vs_ngx >= 0.7));
    println!(
        "target: p50 overhead over the direct call <= 0.5 ms (one connection): {overhead:.3} ms -> {}",
        verdict(overhead <= 0.5)
    );
}

fn print_table(names: &[&str], r: &Rounds) {
    println!(
        "{:<28} {:>10} {:>17} {:>9} {:>9} {:>8}",
        "target (median of rounds)", "req/s", "range", "p50 ms", "p99 ms", "errors"
    );
    for (t, name) in names.iter().enumerate() {
        let f = r.median(t);
        let (lo, hi) = r.range(t);
        println!(
            "{:<28} {:>10.0} {:>8.0}-{:<8.0} {:>9.3} {:>9.3} {:>8}",
            name, f.rps, lo, hi, f.p50_ms, f.p99_ms, f.errors
        );
    }
}
