//! Validates every file of the shared corpus: no panic, and every file is either ok or has
//! diagnostics with a real line and column. Writes `target/reports/corpus-validate.md` with the
//! totals and, per code, the count and one example.

mod support;

use std::collections::BTreeMap;
use std::fmt::Write;

use naftiko_spec::corpus::CorpusFs;
use naftiko_spec::diag::{Severity, count};

#[test]
fn every_corpus_file_validates_with_located_diagnostics() {
    let Some(shared) = support::shared_dir() else { return };
    let corpus = CorpusFs::open(&shared.join("corpus")).expect("manifest.tsv readable");
    assert!(corpus.entries.len() >= 300, "corpus has {} files", corpus.entries.len());

    let (mut ok, mut warn_only, mut with_errors) = (0, 0, 0);
    // code → (severity, count, files, example)
    let mut per_code: BTreeMap<&'static str, (Severity, usize, std::collections::BTreeSet<String>, String)> =
        BTreeMap::new();
    let mut error_files = Vec::new();
    for entry in &corpus.entries {
        let result = std::panic::catch_unwind(|| naftiko_spec::validate_with(&entry.virtual_path, &corpus));
        let v = result.unwrap_or_else(|_| panic!("validation panicked on {}", entry.local_name));
        for d in &v.diagnostics {
            assert!(d.span.line >= 1 && d.span.col >= 1, "{}: diagnostic without a position: {d:?}", entry.local_name);
            let file = v.sources.path(d.span.file).display().to_string();
            let slot = per_code.entry(d.code.as_str()).or_insert_with(|| {
                (
                    d.severity,
                    0,
                    Default::default(),
                    format!("{}:{}:{}: {}", entry.local_name, d.span.line, d.span.col, d.message),
                )
            });
            slot.1 += 1;
            slot.2.insert(file);
        }
        match count(&v.diagnostics) {
            (0, 0) => ok += 1,
            (0, _) => warn_only += 1,
            (e, _) => {
                with_errors += 1;
                error_files.push(format!("{} ({e} errors)", entry.local_name));
            }
        }
    }

    let mut report = String::new();
    let total = corpus.entries.len();
    writeln!(
        report,
        "# Corpus validation\n\n{total} files: {ok} ok, {warn_only} with warnings only, {with_errors} with errors\n"
    )
    .unwrap();
    writeln!(report, "| code | severity | count | files | example |\n|---|---|---|---|---|").unwrap();
    for (code, (sev, n, files, example)) in &per_code {
        writeln!(report, "| {code} | {} | {n} | {} | {} |", sev.as_str(), files.len(), example.replace('|', "\\|"))
            .unwrap();
    }
    writeln!(report, "\n## Files with errors\n").unwrap();
    for f in &error_files {
        writeln!(report, "- {f}").unwrap();
    }
    let path = support::report_dir().join("corpus-validate.md");
    std::fs::write(&path, &report).expect("report written");
    println!("{report}\nreport: {}", path.display());
    assert_eq!(ok + warn_only + with_errors, total);
}
