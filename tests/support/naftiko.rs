//! Running the real `naftiko serve` binary in tests: start, find the ports it listens on, stop.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `naftiko serve`.
pub struct Naftiko {
    child: Child,
    /// Adapter namespace → base URL (`http://127.0.0.1:PORT`).
    pub urls: HashMap<String, String>,
    /// Everything it printed on stderr up to "ready".
    pub startup: String,
    lines: mpsc::Receiver<String>,
}

impl Naftiko {
    /// Starts `naftiko serve FILE ARGS…` with `env`, every adapter on a free port; waits for
    /// "ready" (panics with the output when it exits or takes more than 20 s).
    pub fn start(file: &Path, args: &[&str], env: &[(&str, &str)]) -> Naftiko {
        let mut cmd = Command::new(super::naftiko_bin());
        cmd.arg("serve").arg(file).arg("--listen").arg("*=127.0.0.1:0").args(args);
        cmd.env_remove("NAFTIKO_LOG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child =
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn naftiko serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut startup = String::new();
        let mut urls = HashMap::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok(line) => {
                    startup.push_str(&line);
                    startup.push('\n');
                    if let Some(rest) = line.strip_prefix("naftiko: ") {
                        let words: Vec<&str> = rest.split_whitespace().collect();
                        if let [_kind, ns, "listening", "on", url] = words.as_slice() {
                            urls.insert(ns.to_string(), url.to_string());
                        }
                        if rest.starts_with("ready in") {
                            break;
                        }
                    }
                }
                Err(_) => {
                    let status = child.try_wait().ok().flatten();
                    let _ = child.kill();
                    panic!("naftiko serve did not become ready (exit: {status:?}); output:\n{startup}");
                }
            }
        }
        Naftiko { child, urls, startup, lines: rx }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The base URL of an adapter.
    pub fn url(&self, namespace: &str) -> &str {
        self.urls.get(namespace).unwrap_or_else(|| panic!("adapter {namespace} not started; output:\n{}", self.startup))
    }

    /// Stops with SIGTERM and returns the exit status and the rest of stderr.
    pub fn stop(mut self) -> (Option<i32>, String) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let mut rest = String::new();
        for _ in 0..100 {
            while let Ok(l) = self.lines.try_recv() {
                rest.push_str(&l);
                rest.push('\n');
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(100)) {
                    rest.push_str(&l);
                    rest.push('\n');
                }
                return (status.code(), rest);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        (None, rest)
    }
}

impl Drop for Naftiko {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
