//! URL building and containment (`naftiko_engine::containment`): arbitrary text as a path value
//! and as a forwarded tail. Checks, besides no panic: a value that is accepted becomes exactly
//! one segment under the base path once the URL parser has read it (it resolves dot segments);
//! a tail that is accepted stays under the base, on the base's host, and no segment of it
//! decodes (up to four times) to `.` or `..`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use naftiko_engine::containment::{forward_target, push_segment};
use naftiko_engine::http::parse_url;
use naftiko_engine::inbound::path_decode;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut path = String::from("/api/v1/things/");
    if push_segment(text, &mut path).is_ok() {
        let url = parse_url(&format!("http://upstream.test{path}/tail")).expect("a URL");
        let segments: Vec<&str> = url.path_segments().expect("a path").collect();
        assert_eq!(segments.len(), 5, "{text:?} -> {url}");
        assert!(url.path().starts_with("/api/v1/things/"), "{text:?} -> {url}");
        assert_eq!(url.host_str(), Some("upstream.test"));
    }
    if let Ok(url) = forward_target("http://upstream.test/api/v1", None, text, None) {
        let parsed = parse_url(&url).expect("a URL");
        assert_eq!(parsed.host_str(), Some("upstream.test"), "{text:?} -> {url}");
        assert_eq!(parsed.port_or_known_default(), Some(80), "{text:?} -> {url}");
        assert!(parsed.path().starts_with("/api/v1"), "{text:?} -> {url}");
        for segment in parsed.path_segments().expect("a path") {
            let mut decoded = segment.to_string();
            for _ in 0..4 {
                decoded = path_decode(&decoded).into_owned();
            }
            assert!(!matches!(decoded.as_str(), "." | ".."), "{text:?} -> {url}");
        }
    }
});
