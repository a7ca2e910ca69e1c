//! The header rules of HTTP/1.1 message framing (RFC 9112 §6), shared by the executor's reader
//! of upstream replies and the REST server's reader of requests: one reading of
//! `Content-Length`, `Transfer-Encoding` and `Connection` for both directions.

use http::{HeaderMap, HeaderName, header};

/// Why a `Content-Length` cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthError {
    /// Not a plain decimal number (signs and spaces inside are refused: a lenient reading of
    /// framing is a smuggling risk).
    Invalid,
    /// Several values that differ.
    Conflicting,
}

/// The `Content-Length`, which every copy and list item must agree on; `None` when absent.
pub fn content_length(headers: &HeaderMap) -> Result<Option<u64>, LengthError> {
    let mut found: Option<u64> = None;
    for v in headers.get_all(header::CONTENT_LENGTH) {
        for part in v.to_str().unwrap_or("x").split(',') {
            let part = part.trim();
            let n: u64 = (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse().ok())
                .flatten()
                .ok_or(LengthError::Invalid)?;
            if found.is_some_and(|f| f != n) {
                return Err(LengthError::Conflicting);
            }
            found = Some(n);
        }
    }
    Ok(found)
}

/// The last transfer coding applied (`chunked` when the message is chunked), or `""`.
pub fn last_transfer_coding(headers: &HeaderMap) -> &str {
    headers
        .get_all(header::TRANSFER_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .rfind(|s| !s.is_empty())
        .unwrap_or("")
}

/// Whether the comma-separated header `name` lists `token` (case-insensitive).
pub fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn lengths_must_be_plain_and_agree() {
        assert_eq!(content_length(&headers(&[])), Ok(None));
        assert_eq!(content_length(&headers(&[("content-length", "5, 5"), ("content-length", "5")])), Ok(Some(5)));
        for bad in ["-1", "+5", "", "5 5", "0x5"] {
            assert_eq!(content_length(&headers(&[("content-length", bad)])), Err(LengthError::Invalid), "{bad}");
        }
        let two = headers(&[("content-length", "5"), ("content-length", "6")]);
        assert_eq!(content_length(&two), Err(LengthError::Conflicting));
    }

    #[test]
    fn the_last_coding_and_connection_tokens_are_read_across_lines() {
        let h =
            headers(&[("transfer-encoding", "gzip"), ("transfer-encoding", "Chunked, "), ("connection", "a, Close")]);
        assert_eq!(last_transfer_coding(&h), "Chunked");
        assert!(has_token(&h, &header::CONNECTION, "close"));
        assert!(!has_token(&h, &header::CONNECTION, "keep-alive"));
    }
}
