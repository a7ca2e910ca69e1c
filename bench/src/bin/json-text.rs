//! What writing a tool result's text costs: an upstream JSON body escaped into a JSON string by
//! `serde_json` and by naftiko's `json_text::write_string`, per body and per byte, for the bench
//! item (1.5 kB), a 100 kB list of such items and 100 kB of prose (few escapes).
//!
//! Run: `cargo run --release -p naftiko-bench --bin json-text`

use std::hint::black_box;
use std::time::Instant;

use naftiko_bench::workspace_root;

fn main() {
    let item = std::fs::read_to_string(workspace_root().join("bench/fixtures/item.json")).expect("item.json");
    let list = format!("[{}]", vec![item.trim(); 100_000 / item.len()].join(","));
    let prose = "The quick brown fox jumps over the lazy dog; agents read this text. ".repeat(1500);
    naftiko_bench::print_versus_serde_head();
    for (name, body) in [("item.json", item.as_str()), ("100 kB JSON list", &list), ("100 kB prose", &prose)] {
        let serde = per_call(body, |out, s| serde_json::to_writer(out, s).unwrap());
        let ours = per_call(body, naftiko_engine::json_text::write_string);
        naftiko_bench::print_versus_serde_row(name, body.len(), serde, ours);
    }
}

/// The best of five timings of 1 MB worth of calls, in nanoseconds per call.
fn per_call(body: &str, write: impl Fn(&mut Vec<u8>, &str)) -> f64 {
    let calls = (1_000_000 / body.len()).max(10);
    let mut out = Vec::with_capacity(body.len() * 2 + 16);
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..calls {
                out.clear();
                write(&mut out, black_box(body));
                black_box(&out);
            }
            t.elapsed().as_nanos() as f64 / calls as f64
        })
        .fold(f64::INFINITY, f64::min)
}
