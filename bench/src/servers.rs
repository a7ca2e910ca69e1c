//! The peer servers the benchmarks compare against, configured in a temporary directory:
//! nginx serving the fixed JSON (the upstream), nginx `proxy_pass` and haproxy in front of it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::proc::{Guard, require, spawn};

/// Worker processes/threads for the peers: one per core, as for naftiko's runtime.
pub fn workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

fn nginx_conf(dir: &Path, name: &str, server: &str) -> PathBuf {
    let conf = format!(
        "worker_processes {w};\ndaemon off;\npid {p}/{name}.pid;\nerror_log {p}/{name}-error.log;\nevents {{ worker_connections 8192; }}\n\
         http {{\n  access_log off;\n  keepalive_requests 1000000;\n  {server}\n}}\n",
        w = workers(),
        p = dir.display()
    );
    let path = dir.join(format!("{name}.conf"));
    std::fs::write(&path, conf).expect("write nginx configuration");
    path
}

fn nginx(dir: &Path, name: &str, conf: &Path) -> Guard {
    let bin = require("nginx", "apt-get install -y nginx-light");
    spawn(name, Command::new(bin).arg("-p").arg(dir).arg("-c").arg(conf), dir)
}

/// nginx serving `dir/item.json` as `application/json` on `port`.
pub fn static_upstream(dir: &Path, port: u16) -> Guard {
    let server = format!(
        "server {{ listen 127.0.0.1:{port}; root {}; location = /item.json {{ default_type application/json; }} }}",
        dir.display()
    );
    nginx(dir, "nginx-upstream", &nginx_conf(dir, "upstream", &server))
}

/// nginx `proxy_pass` on `port` to `127.0.0.1:upstream`, with upstream keep-alive.
pub fn nginx_proxy(dir: &Path, port: u16, upstream: u16) -> Guard {
    let server = format!(
        "upstream up {{ server 127.0.0.1:{upstream}; keepalive 64; }}\n  server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection \"\"; }} }}"
    );
    nginx(dir, "nginx-proxy", &nginx_conf(dir, "proxy", &server))
}

/// haproxy in HTTP mode on `port` to `127.0.0.1:upstream`, reusing upstream connections.
pub fn haproxy(dir: &Path, port: u16, upstream: u16) -> Guard {
    let bin = require("haproxy", "apt-get install -y haproxy");
    let conf = dir.join("haproxy.cfg");
    std::fs::write(
        &conf,
        format!(
            "global\n  nbthread {w}\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n  option http-keep-alive\n\
             frontend fe\n  bind 127.0.0.1:{port}\n  default_backend be\nbackend be\n  http-reuse always\n  server up 127.0.0.1:{upstream} maxconn 2000\n",
            w = workers()
        ),
    )
    .expect("write haproxy configuration");
    spawn("haproxy", Command::new(bin).arg("-f").arg(&conf), dir)
}

/// `naftiko serve bench/fixtures/proxy-bench.yaml` with the upstream and both adapters' ports set
/// (`NAFTIKO_WORKERS=N` adds `--workers N`).
pub fn naftiko(dir: &Path, upstream: u16, rest: u16, mcp: u16) -> (Guard, String) {
    let bin = crate::proc::naftiko_bin();
    let mut args = vec![
        "serve".to_string(),
        crate::workspace_root().join("bench/fixtures/proxy-bench.yaml").display().to_string(),
        "--base-uri".into(),
        format!("static=http://127.0.0.1:{upstream}"),
        "--listen".into(),
        format!("bench=127.0.0.1:{rest}"),
        "--listen".into(),
        format!("bench-mcp=127.0.0.1:{mcp}"),
    ];
    if let Ok(n) = std::env::var("NAFTIKO_WORKERS") {
        args.extend(["--workers".to_string(), n]);
    }
    let line = format!("naftiko {}", args.join(" "));
    (spawn("naftiko", Command::new(bin).args(&args), dir), line)
}

/// Copies the fixed JSON into `dir` and returns it parsed.
pub fn item_json(dir: &Path) -> serde_json::Value {
    let src = crate::workspace_root().join("bench/fixtures/item.json");
    std::fs::copy(&src, dir.join("item.json")).expect("copy item.json");
    serde_json::from_slice(&std::fs::read(&src).expect("read item.json")).expect("item.json is JSON")
}

/// One request with curl (everywhere, and keeps an HTTP client out of the harness); the body.
pub fn curl(args: &[&str]) -> String {
    let out = Command::new("curl").args(["-s", "--max-time", "10"]).args(args).output().expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
