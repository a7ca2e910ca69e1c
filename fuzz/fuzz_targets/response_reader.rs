//! The executor's HTTP/1.1 reply reader (`http/h1.rs`): arbitrary bytes as an upstream's reply,
//! delivered in reads of fuzzer-chosen sizes, read head then body to its end as a call does.
//!
//! Input: `FLAGS COUNT SIZES… REPLY`. FLAGS: bit 0 the request was `HEAD`, bit 1 take a body that
//! came with its head whole first (as buffered calls do), bit 2 the connection ends with a reset
//! rather than a close. COUNT & 7 read sizes follow (one byte each, `0`: as much as asked for),
//! cycled over the reads. The rest is the reply.
//!
//! Checks, besides no panic: no hang (the reader never waits on bytes that cannot come, and
//! ends); the body never holds more than was sent after the head, and is exactly what its framing
//! says — `Content-Length` bytes, everything until the close, or what a reference chunked decoder
//! (below, RFC 9112 §7.1) decodes, stopping where it stops; kept fields are end-to-end, with
//! values free of line breaks.

#![no_main]

use http::Method;
use libfuzzer_sys::fuzz_target;
use naftiko_engine::fuzzing::{Feed, Framing, read_reply};
use naftiko_engine::http::framing::is_hop_by_hop;

/// The reader's limit on a chunk-size or trailer line (`MAX_LINE_BYTES` in h1.rs).
const MAX_LINE_BYTES: usize = 8 * 1024;

fuzz_target!(|data: &[u8]| {
    let [flags, count, rest @ ..] = data else { return };
    let count = usize::from(count & 7).min(rest.len());
    let (sizes, bytes) = rest.split_at(count);
    let read_sizes: Vec<usize> = sizes.iter().map(|&b| usize::from(b)).collect();
    let method = if flags & 1 == 1 { Method::HEAD } else { Method::GET };
    let feed = Feed { bytes, read_sizes: &read_sizes, reset_at_end: flags & 4 != 0 };
    let reply = read_reply(feed, &method, flags & 2 != 0).expect("the reader hung");
    let Ok(reply) = reply else { return };

    assert!(reply.head_len <= bytes.len() && bytes[..reply.head_len].ends_with(b"\n"), "head of {}", reply.head_len);
    assert!(reply.status >= 200 || reply.status == 101, "interim {} taken as the reply", reply.status);
    for (name, value) in &reply.fields {
        assert!(!is_hop_by_hop(name) && !name.eq_ignore_ascii_case(b"content-length"), "{name:?} kept");
        assert!(!value.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)), "{value:?}");
    }
    let sent = &bytes[reply.head_len..];
    let whole = reply.whole.as_deref().unwrap_or_default();
    assert!(whole.len() + reply.body.len() <= sent.len(), "more body than was sent");
    if reply.whole.is_some() {
        assert!(reply.body.is_empty() && reply.body_error.is_none());
    }
    let body = [whole, &reply.body].concat();
    let ended = reply.body_error.is_none();
    match reply.framing {
        Framing::Empty => assert!(body.is_empty() && ended),
        Framing::Length(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            assert_eq!(reply.content_length, Some(n as u64));
            assert_eq!(body, sent[..n.min(sent.len())], "a Content-Length body is the bytes after the head");
            assert_eq!(ended, sent.len() >= n, "{:?}", reply.body_error);
        }
        Framing::UntilClose => {
            assert_eq!(body, sent, "a body until close is everything after the head");
            assert_eq!(ended, !feed.reset_at_end, "{:?}", reply.body_error);
        }
        Framing::Chunked => {
            let (decoded, complete) = dechunk(sent);
            assert_eq!(body, decoded, "the chunked body decodes differently");
            assert_eq!(ended, complete, "{:?}", reply.body_error);
        }
    }
});

/// Decodes a chunked body (RFC 9112 §7.1): `chunk-size [BWS ; extensions] CRLF data CRLF`…,
/// `0` then trailer lines up to an empty line. Extensions are skipped, whatever their bytes, but
/// no CR or LF may hide in a chunk-size line. Lines longer than the reader's limit are refused.
/// Returns the data decoded, and whether the body ended properly (false: it stopped at an error
/// or the input's end, after the data so far — a partial chunk's bytes included).
fn dechunk(mut input: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    // The next line, without its CRLF.
    let line = |input: &mut &[u8]| -> Option<Vec<u8>> {
        let end = input.windows(2).position(|w| w == b"\r\n")?;
        if end > MAX_LINE_BYTES {
            return None;
        }
        let line = input[..end].to_vec();
        *input = &input[end + 2..];
        Some(line)
    };
    loop {
        let Some(size_line) = line(&mut input) else { return (out, false) };
        let digits = size_line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        let after = size_line[digits..].iter().position(|&b| b != b' ' && b != b'\t').map(|p| size_line[digits + p]);
        let line_break = size_line.iter().any(|&b| b == b'\r' || b == b'\n');
        if digits == 0 || !matches!(after, None | Some(b';')) || line_break {
            return (out, false);
        }
        let hex = std::str::from_utf8(&size_line[..digits]).unwrap_or_default();
        let Ok(size) = u64::from_str_radix(hex, 16) else { return (out, false) };
        if size == 0 {
            loop {
                match line(&mut input) {
                    Some(l) if l.is_empty() => return (out, true),
                    Some(_) => {}
                    None => return (out, false),
                }
            }
        }
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if input.len() < size {
            out.extend_from_slice(input);
            return (out, false);
        }
        out.extend_from_slice(&input[..size]);
        input = &input[size..];
        if !input.starts_with(b"\r\n") {
            return (out, false);
        }
        input = &input[2..];
    }
}
