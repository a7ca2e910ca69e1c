//! Times `naftiko validate` over the whole shared corpus and over the Kombo capability.
//!
//! Run: `cargo run --release -p naftiko-bench --bin validate-corpus`

use std::time::Instant;

use naftiko_bench::{ms, shared_dir, summary, workspace_root};
use naftiko_spec::corpus::CorpusFs;

fn main() {
    let Some(shared) = shared_dir() else {
        eprintln!("shared data not found (../shared or $NAFTIKO_SHARED); nothing to measure");
        std::process::exit(2);
    };
    let corpus = CorpusFs::open(&shared.join("corpus")).expect("manifest.tsv");
    let bytes: u64 = corpus.entries.iter().filter_map(|e| std::fs::metadata(&e.local_path).ok()).map(|m| m.len()).sum();

    // Warm-up: the first run compiles the JSON Schemas (once per process).
    let t = Instant::now();
    let first = naftiko_spec::validate_with(&corpus.entries[0].virtual_path, &corpus);
    let warm = t.elapsed();
    drop(first);

    let rounds = 5;
    let mut totals = Vec::new();
    let mut diags = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        diags = 0;
        for e in &corpus.entries {
            diags += naftiko_spec::validate_with(&e.virtual_path, &corpus).diagnostics.len();
        }
        totals.push(t.elapsed());
    }
    let (min, med, max) = summary(totals);
    println!(
        "corpus: {} files, {:.1} MB, {diags} diagnostics; whole corpus min {} / median {} / max {} over {rounds} rounds (schema compile + first file: {})",
        corpus.entries.len(),
        bytes as f64 / 1e6,
        ms(min),
        ms(med),
        ms(max),
        ms(warm)
    );

    let kombo = workspace_root().join("capabilities/kombo-general.yaml");
    let n = 200;
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let v = naftiko_spec::validate(&kombo);
        samples.push(t.elapsed());
        assert!(v.is_ok());
    }
    let (min, med, max) = summary(samples);
    println!("kombo-general.yaml: min {} / median {} / max {} over {n} runs", ms(min), ms(med), ms(max));
}
