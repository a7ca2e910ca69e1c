//! Everything `naftiko` writes on stderr for people — tracing events and its own `naftiko: …`
//! lines — one line per event, whatever the values in it hold.
//!
//! Values in log lines come from documents, callers and upstreams: a CR or LF in one would
//! start a line that looks like naftiko's own, an escape sequence would drive the terminal. Each
//! event is therefore formatted whole, then written as one line with its control characters
//! escaped (`\n`, `\r`, `\t`, `\x1b`, …; in JSON lines as JSON escapes), and with the
//! capability's bind values scrubbed ([`Redactor`]: the safety net behind the display forms
//! that show them as `***`). Colours are used only when stderr is a terminal.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::sync::OnceLock;

use naftiko_engine::secret::Redactor;
use tracing_subscriber::fmt::MakeWriter;

/// The bind values scrubbed from every line written from when they are known.
static REDACTOR: OnceLock<Redactor> = OnceLock::new();

/// Scrubs `redactor`'s values from every line written from now on (once per process: the
/// capability's binds are resolved once).
pub fn redact_with(redactor: Redactor) {
    let _ = REDACTOR.set(redactor);
}

/// Logs go to stderr (stdout is the MCP stdio channel); `NAFTIKO_LOG` sets the filter
/// (default `warn`), `NAFTIKO_LOG_FORMAT=json` switches to JSON lines.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("NAFTIKO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let json = std::env::var("NAFTIKO_LOG_FORMAT").is_ok_and(|v| v == "json");
    let ansi = !json && io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Lines { json, ansi })
        .with_ansi(ansi)
        .with_target(false);
    if json {
        let _ = builder.json().try_init();
    } else {
        let _ = builder.try_init();
    }
}

/// Writes `naftiko: TEXT` on stderr as one line (escaped and scrubbed as log events are).
pub fn write_line(text: std::fmt::Arguments<'_>) {
    let mut line = String::from("naftiko: ");
    let _ = line.write_fmt(text);
    line.push('\n');
    let _ = io::stderr().lock().write_all(one_line(&line, false, false).as_bytes());
}

/// `naftiko: …` on stderr, as one line: `say!("rest {ns} listening on {url}")`.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::logging::write_line(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// Makes one [`Line`] per event.
#[derive(Debug, Clone, Copy)]
struct Lines {
    json: bool,
    ansi: bool,
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line { buf: Vec::with_capacity(256), json: self.json, ansi: self.ansi }
    }
}

/// One event: collected whole, written as one line when the formatter is done with it.
struct Line {
    buf: Vec<u8>,
    json: bool,
    ansi: bool,
}

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buf);
        let _ = io::stderr().lock().write_all(one_line(&text, self.json, self.ansi).as_bytes());
    }
}

/// `event` (one formatted event, normally ending in a newline) as exactly one line: bind values
/// scrubbed, every control character escaped — as a JSON escape in JSON lines — except the
/// colour sequences the formatter itself writes when `ansi` is on.
fn one_line(event: &str, json: bool, ansi: bool) -> String {
    let scrubbed = match REDACTOR.get() {
        Some(r) => r.scrub(event),
        None => std::borrow::Cow::Borrowed(event),
    };
    let body = scrubbed.strip_suffix('\n').unwrap_or(&scrubbed);
    let mut out = String::with_capacity(body.len() + 16);
    let mut rest = body;
    while let Some(c) = rest.chars().next() {
        if c == '\x1b'
            && ansi
            && let Some(n) = sgr_len(rest)
        {
            out.push_str(&rest[..n]);
            rest = &rest[n..];
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_control(c) && json => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if is_control(c) && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_control(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out.push('\n');
    out
}

/// C0 and C1 controls, DEL, and the Unicode line and paragraph separators (which some viewers
/// break lines at).
fn is_control(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// The length of a colour sequence (`ESC [ digits;… m`) at the start of `s`, if it is one.
fn sgr_len(s: &str) -> Option<usize> {
    let params = s.strip_prefix("\x1b[")?;
    let n = params.bytes().take_while(|b| b.is_ascii_digit() || *b == b';').count();
    (params.as_bytes().get(n) == Some(&b'm')).then_some(2 + n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_is_one_line_with_controls_escaped() {
        let event = "WARN value a\r\nnaftiko: forged\x1b[2K\x07 \u{85}\u{2028} end\n";
        assert_eq!(
            one_line(event, false, false),
            "WARN value a\\r\\nnaftiko: forged\\x1b[2K\\x07 \\u{85}\\u{2028} end\n"
        );
        // Colours pass on a terminal, any other escape sequence does not.
        assert_eq!(one_line("\x1b[2m t\x1b[0m \x1b[2K\n", false, true), "\x1b[2m t\x1b[0m \\x1b[2K\n");
        assert_eq!(one_line("\x1b[2m\n", false, false), "\\x1b[2m\n");
        // JSON lines keep JSON escapes (serde has escaped C0 already; C1 and separators are left).
        let json = "{\"fields\":{\"v\":\"a\u{85}b\u{2028}\"}}\n";
        let line = one_line(json, true, false);
        assert_eq!(line, "{\"fields\":{\"v\":\"a\\u0085b\\u2028\"}}\n");
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["fields"]["v"], "a\u{85}b\u{2028}");
        // Whatever is written, one line comes out.
        for c in (0u32..0x100).chain([0x2028, 0x2029]).filter_map(char::from_u32) {
            let out = one_line(&format!("x{c}y\n"), false, false);
            assert_eq!(out.matches('\n').count(), 1, "{c:?}");
            assert!(!out.contains('\r') && !out.contains('\x1b'), "{c:?}");
        }
    }
}
