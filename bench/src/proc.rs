//! Processes for benchmarks: spawning servers that are killed when dropped, waiting until a
//! port answers, free ports, and reading a process's memory.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed on drop.
pub struct Guard {
    /// The process.
    pub child: Child,
    /// What it is (for messages).
    pub name: String,
}

impl Drop for Guard {
    /// SIGTERM first (nginx and haproxy masters take their workers down with them; SIGKILL
    /// would orphan the workers), SIGKILL after two seconds.
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(2) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `cmd` quietly (stdout and stderr to files in `log_dir`).
pub fn spawn(name: &str, cmd: &mut Command, log_dir: &Path) -> Guard {
    let out = std::fs::File::create(log_dir.join(format!("{name}.log"))).expect("log file");
    let err = out.try_clone().expect("log file");
    let child =
        cmd.stdin(Stdio::null()).stdout(out).stderr(err).spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    Guard { child, name: name.to_string() }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    free_ports::<1>()[0]
}

/// `N` distinct ports nothing listens on right now (held together while chosen, so no two
/// servers of one benchmark get the same one).
pub fn free_ports<const N: usize>() -> [u16; N] {
    let held: Vec<std::net::TcpListener> =
        (0..N).map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("free port")).collect();
    std::array::from_fn(|i| held[i].local_addr().expect("local address").port())
}

/// Waits until `127.0.0.1:port` accepts connections.
pub fn wait_port(port: u16, timeout: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    None
}

/// A field of `/proc/<pid>/status` in kB (`VmRSS`, `VmHWM`).
pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)).and_then(|n| n.parse().ok())
}

/// The release `naftiko` binary (`$NAFTIKO_BIN`, else `target/release/naftiko`).
pub fn naftiko_bin() -> PathBuf {
    let p = std::env::var_os("NAFTIKO_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target/release/naftiko"));
    if !p.exists() {
        eprintln!("{} not found: build it first with `cargo build --release -p naftiko-cli`", p.display());
        std::process::exit(2);
    }
    p
}

/// The path of an executable, or exits saying how to install it.
pub fn require(tool: &str, install: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"] {
        let p = Path::new(dir).join(tool);
        if p.exists() {
            return p;
        }
    }
    eprintln!("`{tool}` is not installed; install it with: {install}");
    std::process::exit(2);
}
