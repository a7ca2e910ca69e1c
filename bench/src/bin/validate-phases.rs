//! Splits validation time into its phases (load, schema, semantic) over the corpus, to show
//! where the time goes.
//!
//! Run: `cargo run --release -p naftiko-bench --bin validate-phases`

use std::time::{Duration, Instant};

use naftiko_bench::{ms, shared_dir};
use naftiko_spec::corpus::CorpusFs;

fn main() {
    let Some(shared) = shared_dir() else {
        eprintln!("shared data not found (../shared or $NAFTIKO_SHARED); nothing to measure");
        std::process::exit(2);
    };
    let corpus = CorpusFs::open(&shared.join("corpus")).expect("manifest.tsv");
    let (mut load, mut schema, mut semantic) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut worst: Vec<(Duration, String)> = Vec::new();
    for e in &corpus.entries {
        let t0 = Instant::now();
        let loaded = naftiko_spec::load::load_with(&e.virtual_path, &corpus);
        let t1 = Instant::now();
        if let (Some(doc), Some(root)) = (&loaded.document, &loaded.root) {
            let _ = naftiko_spec::check::schema::check(root, doc.version.value);
            let t2 = Instant::now();
            let _ = naftiko_spec::check::semantic::check(doc);
            let t3 = Instant::now();
            schema += t2 - t1;
            semantic += t3 - t2;
        }
        load += t1 - t0;
        worst.push((t0.elapsed(), e.local_name.clone()));
    }
    println!("load {} / schema {} / semantic {}", ms(load), ms(schema), ms(semantic));
    worst.sort();
    for (d, name) in worst.iter().rev().take(5) {
        println!("  {} {name}", ms(*d));
    }
}
