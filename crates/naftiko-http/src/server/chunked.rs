//! The `Transfer-Encoding: chunked` request-body decoder (RFC 9112 §7.1): a state machine fed
//! from the connection's buffer, so a body may arrive in any number of reads.

use bytes::{Buf, Bytes, BytesMut};

/// The longest chunk-size line (size and extensions) or trailer line accepted.
const MAX_LINE: usize = 4096;
/// The most trailer bytes accepted.
const MAX_TRAILERS: usize = 16 * 1024;

/// Where the decoder is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunked {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one (bytes seen so far).
    Trailers(usize),
    /// The body is complete.
    Done,
}

/// What one step of decoding produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Body bytes.
    Data(Bytes),
    /// More input is needed.
    NeedMore,
    /// The body ended.
    End,
}

impl Chunked {
    /// Decodes from `buf` (consuming what it uses) until it has data, needs more, or ends.
    pub(crate) fn step(&mut self, buf: &mut BytesMut) -> Result<Step, String> {
        loop {
            match *self {
                Chunked::Done => return Ok(Step::End),
                Chunked::Size => {
                    let Some(line) = take_line(buf)? else { return Ok(Step::NeedMore) };
                    let size = crate::framing::chunk_size(&line).ok_or_else(|| "malformed chunk size".to_string())?;
                    *self = if size == 0 { Chunked::Trailers(0) } else { Chunked::Data(size) };
                }
                Chunked::Data(left) => {
                    if buf.is_empty() {
                        return Ok(Step::NeedMore);
                    }
                    let n = (buf.len() as u64).min(left) as usize;
                    *self = if n as u64 == left { Chunked::DataEnd } else { Chunked::Data(left - n as u64) };
                    return Ok(Step::Data(buf.split_to(n).freeze()));
                }
                Chunked::DataEnd => {
                    if buf.len() < 2 {
                        return Ok(Step::NeedMore);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err("chunk data is not followed by CRLF".into());
                    }
                    buf.advance(2);
                    *self = Chunked::Size;
                }
                Chunked::Trailers(seen) => {
                    let Some(line) = take_line(buf)? else { return Ok(Step::NeedMore) };
                    if line.is_empty() {
                        *self = Chunked::Done;
                    } else if seen + line.len() > MAX_TRAILERS {
                        return Err("the request's trailers are too large".into());
                    } else {
                        *self = Chunked::Trailers(seen + line.len());
                    }
                }
            }
        }
    }
}

/// Decodes a whole chunked body from `input` fed `piece` bytes at a time (the fuzz targets'
/// entry): the body, or why it is malformed or incomplete. Never more body than input.
pub(crate) fn decode_all(input: &[u8], piece: usize) -> Result<Vec<u8>, String> {
    let mut state = Chunked::Size;
    let mut buf = BytesMut::new();
    let mut body = Vec::new();
    let mut rest = input.chunks(piece.max(1));
    loop {
        match state.step(&mut buf)? {
            Step::Data(d) => body.extend_from_slice(&d),
            Step::End => return Ok(body),
            Step::NeedMore => match rest.next() {
                Some(p) => buf.extend_from_slice(p),
                None => return Err("incomplete".into()),
            },
        }
    }
}

/// Takes one CRLF-terminated line off `buf` (without its CRLF).
fn take_line(buf: &mut BytesMut) -> Result<Option<Bytes>, String> {
    match buf.iter().position(|b| *b == b'\n') {
        Some(at) if at > 0 && buf[at - 1] == b'\r' => {
            let line = buf.split_to(at + 1).freeze();
            Ok(Some(line.slice(..at - 1)))
        }
        Some(_) => Err("a chunk line does not end with CRLF".into()),
        None if buf.len() > MAX_LINE => Err("a chunk line is too long".into()),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed `piece` bytes at a time; the body, and what is left after it.
    fn decode(input: &[u8], piece: usize) -> Result<(Vec<u8>, Vec<u8>), String> {
        let mut state = Chunked::Size;
        let mut buf = BytesMut::new();
        let mut body = Vec::new();
        let mut rest = input.chunks(piece);
        loop {
            match state.step(&mut buf)? {
                Step::Data(d) => body.extend_from_slice(&d),
                Step::End => {
                    let mut left = buf.to_vec();
                    rest.for_each(|p| left.extend_from_slice(p));
                    return Ok((body, left));
                }
                Step::NeedMore => match rest.next() {
                    Some(p) => buf.extend_from_slice(p),
                    None => return Err("truncated".into()),
                },
            }
        }
    }

    #[test]
    fn chunks_decode_whatever_the_reads_and_leave_the_next_request() {
        let input = b"5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Trailer: t\r\n\r\nGET /next";
        for piece in [1, 2, 3, 7, 64] {
            let (body, rest) = decode(input, piece).unwrap();
            assert_eq!(body, b"hello, world!!!", "piece {piece}");
            assert_eq!(rest, b"GET /next", "piece {piece}");
        }
    }

    #[test]
    fn malformed_chunks_are_errors() {
        for bad in [
            &b"z\r\nhello\r\n0\r\n\r\n"[..],
            b"5\r\nhelloXX0\r\n\r\n",
            b"5\nhello\r\n",
            b"11111111111111111\r\n",
            b"-1\r\nx\r\n0\r\n\r\n",
            b" 5\r\nhello\r\n0\r\n\r\n",
            b"5 \r\nhello\r\n0\r\n\r\n",
            b"0x5\r\nhello\r\n0\r\n\r\n",
            b"+5\r\nhello\r\n0\r\n\r\n",
        ] {
            assert!(decode(bad, 64).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(decode(b"5\r\nhel", 64).unwrap_err(), "truncated");
        let long = format!("{}\r\n", "1".repeat(MAX_LINE + 1));
        assert!(decode(long.as_bytes(), MAX_LINE + 8).is_err());
    }
}
