//! Reading the shared corpus the way its files were laid out in their repositories.
//!
//! The corpus (`shared/corpus/`) flattens files from many repositories into one folder and
//! records in `manifest.tsv` where each came from. [`CorpusFs`] serves every file at its
//! original `/<repo>/<path>`, so imports such as `./shared/x.yaml` resolve to the sibling file
//! when the corpus has it. Used by the corpus tests and benchmarks.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::load::FileSystem;

/// One corpus file.
#[derive(Debug, Clone)]
pub struct CorpusEntry {
    /// The file name in `corpus/files/`.
    pub local_name: String,
    /// Its path on disk.
    pub local_path: PathBuf,
    /// Its original location, `/<owner>/<repo>/<path>`.
    pub virtual_path: PathBuf,
}

/// The corpus served at the files' original paths.
#[derive(Debug, Default)]
pub struct CorpusFs {
    /// Every file, in manifest order.
    pub entries: Vec<CorpusEntry>,
    by_virtual: HashMap<PathBuf, PathBuf>,
}

impl CorpusFs {
    /// Reads `corpus/manifest.tsv` under `corpus_dir`.
    pub fn open(corpus_dir: &Path) -> io::Result<CorpusFs> {
        let manifest = std::fs::read_to_string(corpus_dir.join("manifest.tsv"))?;
        let mut fs = CorpusFs::default();
        for line in manifest.lines().skip(1) {
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 3 {
                continue;
            }
            let local_path = corpus_dir.join("files").join(cols[0]);
            let virtual_path = Path::new("/").join(cols[1]).join(cols[2]);
            fs.by_virtual.insert(virtual_path.clone(), local_path.clone());
            fs.entries.push(CorpusEntry { local_name: cols[0].to_string(), local_path, virtual_path });
        }
        Ok(fs)
    }
}

impl FileSystem for CorpusFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        match self.by_virtual.get(path) {
            Some(real) => std::fs::read(real),
            None => Err(io::Error::new(io::ErrorKind::NotFound, "not in the corpus")),
        }
    }
}
