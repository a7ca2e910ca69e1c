//! Source files and positions: every diagnostic points into one of these.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Identifies one loaded file (the capability or one of its imports) inside a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FileId(pub u32);

/// Where a YAML node starts: file, 1-based line and column (in characters), byte offset and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// The file the node is in.
    pub file: FileId,
    /// 1-based line; 0 means "unknown".
    pub line: u32,
    /// 1-based column in characters; 0 means "unknown".
    pub col: u32,
    /// Byte offset of the node's first character.
    pub offset: usize,
    /// Length of the node's text in bytes (0 when unknown, e.g. for collections).
    pub len: usize,
}

impl Span {
    /// A span pointing at the first character of a file, for problems that concern a whole file.
    pub fn file_start(file: FileId) -> Span {
        Span { file, line: 1, col: 1, offset: 0, len: 0 }
    }
}

/// One loaded text file.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user named it (or as an import resolved it).
    pub path: PathBuf,
    /// The file's text (lossily decoded when it was not UTF-8).
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Wraps a file's text and indexes its line starts.
    pub fn new(path: PathBuf, text: String) -> SourceFile {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile { path, text, line_starts }
    }

    /// The text of a 1-based line, without its line break.
    pub fn line(&self, line: u32) -> Option<&str> {
        let idx = (line as usize).checked_sub(1)?;
        let start = *self.line_starts.get(idx)?;
        let end = self.line_starts.get(idx + 1).copied().unwrap_or(self.text.len());
        let s = &self.text[start..end];
        Some(s.trim_end_matches(['\n', '\r']))
    }
}

/// All files a document was loaded from, addressed by [`FileId`].
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: Vec<Arc<SourceFile>>,
}

impl SourceMap {
    /// Adds a file and returns its id.
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        self.files.push(Arc::new(SourceFile::new(path, text)));
        FileId((self.files.len() - 1) as u32)
    }

    /// The file with this id.
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize).map(|f| f.as_ref())
    }

    /// The path of a file, or `<unknown>`.
    pub fn path(&self, id: FileId) -> &Path {
        self.get(id).map(|f| f.path.as_path()).unwrap_or(Path::new("<unknown>"))
    }

    /// Looks a file up by path (imports are loaded once).
    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.files.iter().position(|f| f.path == path).map(|i| FileId(i as u32))
    }
}
