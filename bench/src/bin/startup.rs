//! Start-up benchmark: how long `naftiko serve capabilities/kombo-general.yaml` takes from
//! `exec` to accepting connections on both of its adapters, and its resident memory at rest.
//!
//! Needs a release build (`cargo build --release -p naftiko-cli`). Run:
//! `cargo run --release -p naftiko-bench --bin startup` (`STARTUP_ROUNDS` sets the rounds, 20).
//! Runs with `--dry-run` and a dummy key: nothing is sent anywhere.

use std::process::Command;
use std::time::{Duration, Instant};

use naftiko_bench::proc::{free_ports, naftiko_bin, spawn, status_kb, wait_port};
use naftiko_bench::{ms, summary, workspace_root};

fn main() {
    let naftiko = naftiko_bin();
    let file = workspace_root().join("capabilities/kombo-general.yaml");
    let rounds: usize = std::env::var("STARTUP_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let logs = tempfile::tempdir().expect("temp dir");
    let mut ready = Vec::new();
    let mut rss = Vec::new();
    let mut anon = Vec::new();
    for round in 0..rounds {
        let [rest, mcp] = free_ports();
        let started = Instant::now();
        let guard = spawn(
            "naftiko",
            Command::new(&naftiko)
                .arg("serve")
                .arg(&file)
                .arg("--dry-run")
                .arg("--listen")
                .arg(format!("kombo-general-rest=127.0.0.1:{rest}"))
                .arg("--listen")
                .arg(format!("kombo-general-mcp=127.0.0.1:{mcp}"))
                .env("KOMBO_API_KEY", "dummy"),
            logs.path(),
        );
        // Both adapters accept: the later of the two is when the process serves.
        let (Some(_), Some(_)) = (wait_port(rest, Duration::from_secs(10)), wait_port(mcp, Duration::from_secs(10)))
        else {
            eprintln!("naftiko did not start; log: {}", logs.path().join("naftiko.log").display());
            let _ = logs.keep();
            return;
        };
        let elapsed = started.elapsed();
        // The first round pays for cold caches; it is reported but not summarised.
        if round == 0 {
            println!("first (cold) start: {}", ms(elapsed));
            continue;
        }
        ready.push(elapsed);
        std::thread::sleep(Duration::from_millis(300));
        let pid = guard.child.id();
        rss.push(status_kb(pid, "VmRSS:").unwrap_or(0));
        anon.push(status_kb(pid, "RssAnon:").unwrap_or(0));
    }
    let (min, med, max) = summary(ready);
    let med_kb = |mut v: Vec<u64>| {
        v.sort();
        v.get(v.len() / 2).copied().unwrap_or(0)
    };
    let (rss, anon) = (med_kb(rss), med_kb(anon));
    println!(
        "start-up to accepting on both adapters ({} runs): min {}, median {}, max {}",
        rounds - 1,
        ms(min),
        ms(med),
        ms(max)
    );
    println!(
        "resident memory at rest (median): VmRSS {:.1} MB, of which anonymous {:.1} MB (the rest is the mapped binary)",
        rss as f64 / 1024.0,
        anon as f64 / 1024.0
    );
    println!(
        "target: start-up < 30 ms: {}; idle RSS < 15 MB: {}",
        if med < Duration::from_millis(30) { "PASS" } else { "MISS" },
        if rss < 15 * 1024 { "PASS" } else { "MISS" }
    );
}
