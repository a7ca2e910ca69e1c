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
