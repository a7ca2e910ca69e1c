//! Arbitrary bytes as a capability file, through everything `naftiko validate` and `naftiko
//! serve` do with it before serving: load (YAML, version, model, imports), the schema and
//! semantic checks, the diagnostics rendered, and — when nothing stops it — the plan compiled.
//!
//! The file is served from memory (the spec crate reads through `FileSystem`); every import
//! location reads the same bytes, so imports are exercised too. Checks: no panic, bounded time
//! and memory (run with `-timeout=10 -rss_limit_mb=2048`), every diagnostic points inside the
//! file it names.

#![no_main]

use std::collections::HashMap;
use std::io;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use naftiko_engine::Secret;
use naftiko_engine::plan::{Capability, Options};
use naftiko_spec::FileSystem;
use naftiko_spec::diag::{render_human_grouped, render_json};

/// Every path reads the fuzzer's bytes.
struct Memory<'a>(&'a [u8]);

impl FileSystem for Memory<'_> {
    fn read(&self, _: &Path) -> io::Result<Vec<u8>> {
        Ok(self.0.to_vec())
    }
}

fuzz_target!(|data: &[u8]| {
    let validation = naftiko_spec::validate_with(Path::new("/fuzz/capability.yaml"), &Memory(data));
    for d in &validation.diagnostics {
        if let Some(file) = validation.sources.get(d.span.file) {
            assert!(d.span.offset <= file.text.len(), "{d:?} points past its file ({} bytes)", file.text.len());
        }
        let _ = render_json(d, &validation.sources);
    }
    let _ = render_human_grouped(&validation.diagnostics, &validation.sources);
    let Some(doc) = validation.document.as_ref().filter(|_| validation.is_ok()) else { return };
    // Binds as start-up resolves them, without the environment or files: every key has a value.
    let mut binds = HashMap::new();
    for bind in &doc.binds {
        for (var, _) in &bind.keys {
            binds.insert(format!("{}.{}", bind.namespace.value, var.value), Secret::new("fuzz"));
            binds.insert(var.value.clone(), Secret::new("fuzz"));
        }
    }
    let _ = Capability::compile(doc, &binds, &Options::default());
});
