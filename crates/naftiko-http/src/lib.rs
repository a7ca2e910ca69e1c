//! The wire: everything in naftiko that reads or writes HTTP/1.1 bytes on a socket it serves.
//!
//! It owns the request codec (heads, framing, the chunked coding — one of each), the server
//! core every adapter runs on (REST, MCP, Skill, Control) with its one [`ConnectionPolicy`]
//! (timeouts, size limits, a cap on connections), the acceptor that spreads an adapter's
//! connections over its workers, and the header-field helpers the upstream client shares.
//! It knows nothing of capabilities, the engine or MCP: adapters hand it a function from
//! request to response. Why our own server rather than hyper: hyper with axum ran the forward
//! path at about 0.6× haproxy here (its per-connection task and body machinery); this loop,
//! one buffer per connection with the head parsed in place by `httparse`, runs it at parity.
//! So it is held to the standard of a parser of hostile input: strict RFC 9112 reading,
//! bounded in size and time, fuzzed, and tested against what hyper accepts.

#![warn(missing_docs)]

pub mod fields;
pub mod framing;
pub mod server;

pub use fields::{ReplyHeaders, WireFields};
pub use server::policy::{ConnectionGate, ConnectionPolicy};

/// Entry points for the fuzz targets in `fuzz/` (not an API): the request head and chunked
/// body readers over bytes in memory.
#[doc(hidden)]
pub mod fuzzing {
    use bytes::BytesMut;

    /// What reading one request from `input` gave: the head's status or its parts, and the body.
    #[derive(Debug)]
    pub enum Read {
        /// The head was refused with this status.
        Refused(u16),
        /// The head is incomplete.
        Partial,
        /// A head, its framing (`None`, `Length(n)`, `Chunked`), and the body decoded from the
        /// rest of the input when chunked (`Err` when malformed or incomplete).
        Head { method: String, target: String, framing: String, body: Option<Result<Vec<u8>, String>> },
    }

    /// Reads one request head from `input` under default limits, then a chunked body if the
    /// head announces one, feeding the decoder `piece` bytes at a time.
    pub fn read_request(input: &[u8], piece: usize) -> Read {
        let limits = crate::server::head::Limits { max_headers: 100, max_head_bytes: 64 * 1024 };
        let mut buf = BytesMut::from(input);
        match crate::server::head::parse(&mut buf, &limits) {
            Err(e) => Read::Refused(e.status.as_u16()),
            Ok(None) => Read::Partial,
            Ok(Some(head)) => {
                let framing = format!("{:?}", head.framing);
                let body = (head.framing == crate::server::head::Framing::Chunked)
                    .then(|| crate::server::chunked::decode_all(&buf, piece.max(1)));
                Read::Head { method: head.parts.method.to_string(), target: head.parts.uri.to_string(), framing, body }
            }
        }
    }
}
