//! Containment-checked access to a directory of files (skill directories, MCP static
//! resources): listing, safe lookup of one file from a request path, media types, zipping.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file of a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillFile {
    /// Path relative to the directory, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
}

/// Why a file is not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// The path tries to leave the directory or is malformed (400).
    Rejected(String),
    /// No such regular file (404).
    NotFound,
}

/// Every regular file under `dir`, recursively, sorted; symbolic links that point outside the
/// directory are skipped.
pub fn list_files(dir: &Path) -> std::io::Result<Vec<SkillFile>> {
    let root = dir.canonicalize()?;
    let mut out = Vec::new();
    walk(&root, &root, &mut out, 0)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<SkillFile>, depth: usize) -> std::io::Result<()> {
    if depth > 32 {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(real) = entry.path().canonicalize() else { continue };
        if !real.starts_with(root) {
            continue;
        }
        let meta = std::fs::metadata(&real)?;
        if meta.is_dir() {
            walk(root, &real, out, depth + 1)?;
        } else if meta.is_file() {
            let rel = entry
                .path()
                .strip_prefix(root)
                .map(|p| p.to_path_buf())
                .unwrap_or_else(|_| real.strip_prefix(root).unwrap_or(&real).to_path_buf());
            out.push(SkillFile { path: rel.to_string_lossy().replace('\\', "/"), size: meta.len() });
        }
    }
    Ok(())
}

/// Resolves a request path (as sent, percent-encoded) to a regular file inside `dir`.
pub fn resolve_inside(dir: &Path, raw: &str) -> Result<PathBuf, FileError> {
    if crate::inbound::has_escape(raw, &[b"2f", b"5c", b"00"]) {
        return Err(FileError::Rejected("encoded slashes and NUL bytes are not allowed".into()));
    }
    let decoded = crate::inbound::path_decode(raw);
    let mut rel = PathBuf::new();
    for seg in decoded.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." || seg.contains('\\') || seg.contains(':') {
            return Err(FileError::Rejected(format!("`{decoded}` is not a path inside the directory")));
        }
        rel.push(seg);
    }
    let root = dir.canonicalize().map_err(|_| FileError::NotFound)?;
    let real = root.join(&rel).canonicalize().map_err(|_| FileError::NotFound)?;
    if !real.starts_with(&root) {
        return Err(FileError::Rejected(format!("`{decoded}` leaves the directory")));
    }
    if !real.is_file() {
        return Err(FileError::NotFound);
    }
    Ok(real)
}

/// A media type from the file extension.
pub fn media_type(path: &str) -> &'static str {
    match path.rsplit('.').next().map(str::to_ascii_lowercase).as_deref() {
        Some("md") => "text/markdown; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("json") => "application/json",
        Some("yaml" | "yml") => "application/yaml",
        Some("xml") => "application/xml",
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("csv") => "text/csv; charset=utf-8",
        Some("py") => "text/x-python; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("sh") => "text/x-shellscript; charset=utf-8",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("svg") => "image/svg+xml",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// The directory as a zip archive (deflate), files under their relative paths.
pub fn zip_dir(dir: &Path) -> std::io::Result<Vec<u8>> {
    let files = list_files(dir)?;
    let root = dir.canonicalize()?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for f in files {
        zip.start_file(f.path.as_str(), options).map_err(std::io::Error::other)?;
        zip.write_all(&std::fs::read(root.join(&f.path))?)?;
    }
    Ok(zip.finish().map_err(std::io::Error::other)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skill_dir() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("docs")).unwrap();
        std::fs::write(d.path().join("SKILL.md"), "# Skill").unwrap();
        std::fs::write(d.path().join("docs/guide.txt"), "guide").unwrap();
        d
    }

    #[test]
    fn files_are_listed_recursively_and_sorted() {
        let d = skill_dir();
        let files = list_files(d.path()).unwrap();
        assert_eq!(
            files,
            vec![SkillFile { path: "SKILL.md".into(), size: 7 }, SkillFile { path: "docs/guide.txt".into(), size: 5 }]
        );
    }

    #[test]
    fn traversal_is_rejected() {
        let d = skill_dir();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(outside.path().join("secret"), d.path().join("link")).unwrap();
        assert!(resolve_inside(d.path(), "docs/guide.txt").is_ok());
        for bad in [
            "../secret",
            "docs/../../secret",
            "%2e%2e/secret",
            "docs%2f..%2f..%2fsecret",
            "/etc/passwd",
            "a\\b",
            "C:x",
            "",
        ] {
            assert!(matches!(resolve_inside(d.path(), bad), Err(FileError::Rejected(_))), "{bad}");
        }
        #[cfg(unix)]
        assert!(matches!(resolve_inside(d.path(), "link"), Err(FileError::Rejected(_))), "symlinks cannot escape");
        assert_eq!(resolve_inside(d.path(), "docs"), Err(FileError::NotFound), "directories are not files");
        assert_eq!(resolve_inside(d.path(), "nope.md"), Err(FileError::NotFound));
    }

    #[test]
    fn zips_contain_every_file() {
        let d = skill_dir();
        let bytes = zip_dir(d.path()).unwrap();
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut names: Vec<String> = (0..z.len()).map(|i| z.by_index(i).unwrap().name().unwrap().to_string()).collect();
        names.sort();
        assert_eq!(names, vec!["SKILL.md", "docs/guide.txt"]);
    }
}
