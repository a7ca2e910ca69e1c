//! The Naftiko tutorial (Shipyard) against its Microcks-style mock: start the mock, copy the
//! tutorial to a temp dir (the shared copy stays untouched), serve a step with its base URIs
//! pointed at the mock and every adapter on a free port.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::naftiko::Naftiko;

/// The running mock.
pub struct Mock {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Mock {
    /// Starts `microcks_mock.py` on a free port.
    pub fn start(shipyard: &Path) -> Mock {
        let mut child = Command::new("python3")
            .arg(shipyard.join("microcks_mock.py"))
            .arg("0")
            .arg("--data")
            .arg(shipyard)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 microcks_mock.py");
        let mut first = String::new();
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        reader.read_line(&mut first).expect("mock prints its URL");
        // Keep draining its output: a closed pipe would kill the mock on its next print.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                sink.clear();
            }
        });
        let url = first.split_whitespace().last().unwrap_or_default().trim_end_matches('/').to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "unexpected mock output: {first}");
        Mock { child, url }
    }

    /// The base URI of one of the two APIs.
    pub fn api(&self, title: &str) -> String {
        format!("{}/rest/{title}/1.0.0-alpha2", self.url)
    }

    /// Every request the mock received since the last `clear`.
    pub async fn requests(&self) -> Vec<Value> {
        reqwest::get(format!("{}/__requests", self.url))
            .await
            .expect("mock log")
            .json::<Value>()
            .await
            .map(|v| match v {
                Value::Array(a) => a,
                Value::Object(o) => o.get("requests").and_then(Value::as_array).cloned().unwrap_or_default(),
                _ => Vec::new(),
            })
            .unwrap_or_default()
    }

    /// Forgets received requests.
    pub async fn clear(&self) {
        let _ = reqwest::Client::new().delete(format!("{}/__requests", self.url)).send().await;
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private copy of the tutorial directory (step files, `shared/`).
pub fn copy_tutorial(shipyard: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(shipyard, dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read tutorial").flatten() {
        let p = entry.path();
        let target = to.join(entry.file_name());
        if p.is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).expect("copy");
        }
    }
}

/// The step file of step `n` in `dir`.
pub fn step_file(dir: &Path, n: u32) -> PathBuf {
    std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|f| f.to_string_lossy().starts_with(&format!("step-{n}-"))))
        .unwrap_or_else(|| panic!("no step {n}"))
}

/// Serves step `n` of the copy in `dir` against `mock`.
pub fn serve(dir: &Path, n: u32, mock: &Mock) -> Naftiko {
    let registry = format!("registry={}", mock.api("naftiko-shipyard-maritime-registry-api"));
    let legacy = format!("legacy={}", mock.api("naftiko-shipyard-legacy-dockyard-api"));
    Naftiko::start(&step_file(dir, n), &["--base-uri", &registry, "--base-uri", &legacy], &[])
}
