//! What checking an upstream reply is JSON costs (the identity output `mapping: $.` passes the
//! bytes through once checked): `serde_json` skipping the text (`IgnoredAny`) against naftiko's
//! `json_syntax::validate`, per body and per byte, for the bench item (1.5 kB), a 100 kB list of
//! such items, the list pretty-printed and a 100 kB string of prose.
//!
//! Run: `cargo run --release -p naftiko-bench --bin json-check [NAME]` (only the bodies whose
//! name contains NAME).

use std::hint::black_box;
use std::time::Instant;

use naftiko_bench::workspace_root;

fn main() {
    let item = std::fs::read_to_string(workspace_root().join("bench/fixtures/item.json")).expect("item.json");
    let list = format!("[{}]", vec![item.trim(); 100_000 / item.len()].join(","));
    let value: serde_json::Value = serde_json::from_str(&list).expect("the list is JSON");
    let pretty = serde_json::to_string_pretty(&value).expect("printable");
    let prose = serde_json::to_string(&"The quick brown fox jumps over the lazy dog; agents read this. ".repeat(1500))
        .expect("printable");
    naftiko_bench::print_versus_serde_head();
    let only = std::env::args().nth(1).unwrap_or_default();
    let bodies = [
        ("item.json", item.as_str()),
        ("100 kB JSON list", &list),
        ("same, pretty", &pretty),
        ("100 kB string", &prose),
    ];
    for (name, body) in bodies.into_iter().filter(|(name, _)| name.contains(&only)) {
        let serde = per_call(body, |b| serde_json::from_slice::<serde::de::IgnoredAny>(b).is_ok());
        let ours = per_call(body, |b| naftiko_engine::json_syntax::validate(b).is_ok());
        naftiko_bench::print_versus_serde_row(name, body.len(), serde, ours);
    }
}

/// The best of five timings of 10 MB worth of checks, in nanoseconds per check (each must pass).
fn per_call(body: &str, check: impl Fn(&[u8]) -> bool) -> f64 {
    let calls = (10_000_000 / body.len()).max(10);
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..calls {
                assert!(check(black_box(body.as_bytes())));
            }
            t.elapsed().as_nanos() as f64 / calls as f64
        })
        .fold(f64::INFINITY, f64::min)
}
