//! The server core's request reader (`naftiko-http`: the head parser and the chunked body
//! decoder): arbitrary bytes as what a client sends, the body fed in fuzzer-chosen pieces.
//!
//! Input: `PIECE REQUEST`: PIECE (one byte, 0 read as 1) is the size of each read the chunked
//! decoder is fed. Checks, besides no panic and no hang: a refusal is one of the statuses the
//! server answers heads with; a decoded chunked body is never longer than the input and is the
//! same whatever the piece size (a decoder whose answer depends on how reads fall would let two
//! readers disagree about where a request ends).

#![no_main]

use libfuzzer_sys::fuzz_target;
use naftiko_http::fuzzing::{Read, read_request};

fuzz_target!(|data: &[u8]| {
    let [piece, request @ ..] = data else { return };
    let piece = usize::from(*piece).max(1);
    match read_request(request, piece) {
        Read::Refused(status) => assert!(matches!(status, 400 | 431 | 501), "status {status}"),
        Read::Partial => {}
        Read::Head { body, .. } => {
            if let Some(body) = body {
                let whole = match read_request(request, request.len().max(1)) {
                    Read::Head { body: Some(b), .. } => b,
                    other => panic!("the head read differently: {other:?}"),
                };
                match (&body, &whole) {
                    (Ok(a), Ok(b)) => {
                        assert_eq!(a, b, "the body depends on the reads");
                        assert!(a.len() <= request.len());
                    }
                    (Err(_), Err(_)) => {}
                    _ => panic!("pieces {piece}: {body:?}, whole: {whole:?}"),
                }
            }
        }
    }
});
