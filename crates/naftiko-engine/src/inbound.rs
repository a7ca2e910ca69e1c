//! Inbound authentication of exposed adapters (REST and MCP): the credentials callers must
//! present, checked in constant time, with the challenge to send when they do not.

use http::HeaderMap;
use naftiko_spec::model::Auth as AuthDecl;

use crate::expr::{Scope, Vocabulary};
use crate::inputs::Inputs;
use crate::secret::Secret;

/// What callers must present.
#[derive(Debug, Clone)]
pub enum InboundAuth {
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// An API key in a header (case-insensitive name) or a query parameter.
    ApiKey {
        /// Header or query parameter name.
        name: String,
        /// Expected value.
        value: Secret,
        /// True for `placement: query`.
        in_query: bool,
    },
    /// HTTP basic.
    Basic {
        /// Expected user name.
        username: Secret,
        /// Expected password.
        password: Secret,
    },
}

/// Why a request was refused: the `WWW-Authenticate` challenge to send with 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The challenge header value.
    pub challenge: String,
    /// A message for the caller (never the secret).
    pub message: String,
}

impl Rejection {
    /// The 401 answer for HTTP adapters: `application/problem+json` saying what is wrong (never
    /// the secret), with the `WWW-Authenticate` challenge.
    pub fn problem_response(&self) -> http::Response<String> {
        let body = serde_json::json!({
            "type": "about:blank",
            "title": "Unauthorized",
            "status": 401,
            "detail": self.message,
        });
        let mut r = http::Response::new(body.to_string());
        *r.status_mut() = http::StatusCode::UNAUTHORIZED;
        r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/problem+json"));
        if let Ok(v) = http::HeaderValue::from_str(&self.challenge) {
            r.headers_mut().insert(http::header::WWW_AUTHENTICATE, v);
        }
        r
    }
}

impl InboundAuth {
    /// Compiles an adapter's `authentication` (values are usually `{{VAR}}` from binds).
    pub fn compile(a: &AuthDecl, vocab: &Vocabulary) -> Result<InboundAuth, String> {
        let render = |f: &Option<naftiko_spec::model::Sp<String>>| -> Result<Secret, String> {
            let tpl = vocab.template(f.as_ref().map(|s| s.value.as_str()).unwrap_or_default())?;
            let inputs = Inputs::new();
            let (text, missing) = tpl.render(&Scope::of(&inputs));
            if let Some(m) = missing {
                return Err(format!("inbound authentication uses `{{{{{m}}}}}`, which is not a bind variable"));
            }
            if text.is_empty() {
                return Err("inbound authentication has an empty secret".into());
            }
            Ok(Secret::new(text))
        };
        Ok(match a.kind.value.as_str() {
            "bearer" => InboundAuth::Bearer(render(&a.token)?),
            "apikey" => InboundAuth::ApiKey {
                name: a.key.as_ref().map(|k| k.value.clone()).unwrap_or_default(),
                value: render(&a.value)?,
                in_query: a.placement.as_ref().is_some_and(|p| p.value == "query"),
            },
            "basic" => InboundAuth::Basic { username: render(&a.username)?, password: render(&a.password)? },
            other => return Err(format!("inbound `{other}` authentication is not supported")),
        })
    }

    /// Checks a request's headers and query string.
    pub fn check(&self, headers: &HeaderMap, query: Option<&str>) -> Result<(), Rejection> {
        let authorization = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        let ok = match self {
            InboundAuth::Bearer(token) => {
                let presented = strip_scheme(authorization, "Bearer").unwrap_or("");
                !presented.is_empty() && constant_time_eq(presented.as_bytes(), token.expose().as_bytes())
            }
            InboundAuth::ApiKey { name, value, in_query } => {
                let presented = if *in_query {
                    query.and_then(|q| query_param(q, name))
                } else {
                    headers.get(name.as_str()).and_then(|v| v.to_str().ok()).map(str::to_owned)
                };
                presented.is_some_and(|p| constant_time_eq(p.as_bytes(), value.expose().as_bytes()))
            }
            InboundAuth::Basic { username, password } => {
                let expected = format!("{}:{}", username.expose(), password.expose());
                strip_scheme(authorization, "Basic")
                    .and_then(|b| base64_decode(b.trim()))
                    .is_some_and(|d| constant_time_eq(&d, expected.as_bytes()))
            }
        };
        if ok {
            return Ok(());
        }
        Err(match self {
            InboundAuth::Bearer(_) => Rejection {
                challenge: "Bearer realm=\"naftiko\"".into(),
                message: "missing or invalid bearer token".into(),
            },
            InboundAuth::ApiKey { name, in_query, .. } => Rejection {
                challenge: format!(
                    "ApiKey realm=\"naftiko\", {}=\"{name}\"",
                    if *in_query { "query" } else { "header" }
                ),
                message: format!(
                    "missing or invalid API key ({} `{name}`)",
                    if *in_query { "query parameter" } else { "header" }
                ),
            },
            InboundAuth::Basic { .. } => Rejection {
                challenge: "Basic realm=\"naftiko\", charset=\"UTF-8\"".into(),
                message: "missing or invalid credentials".into(),
            },
        })
    }
}

fn strip_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (s, rest) = header.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then_some(rest.trim())
}

/// Compares in time independent of where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

pub(crate) fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

/// Decodes `%XX` and `+` in a query component.
pub fn percent_decode(s: &str) -> String {
    decode(s, true)
}

/// Decodes `%XX` in a path segment (`+` stays a plus); borrowed when there is nothing to decode.
pub fn path_decode(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('%') { decode(s, false).into() } else { s.into() }
}

/// Decodes `%XX` in a path segment, or `None` when the bytes it gives are not UTF-8 (an
/// overlong `%C0%AE`, a lone `%FF`): a value is never silently changed into another one.
pub fn path_decode_exact(s: &str) -> Option<std::borrow::Cow<'_, str>> {
    if !s.contains('%') {
        return Some(s.into());
    }
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (bytes.get(i + 1).and_then(|b| hex(*b)), bytes.get(i + 2).and_then(|b| hex(*b)))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok().map(Into::into)
}

/// Whether `raw` holds one of the escapes `codes` (hex digits, any case): `%2F`, `%5C` and `%00`
/// smuggle separators and NUL bytes past a check on the decoded path.
pub fn has_escape(raw: &str, codes: &[&[u8; 2]]) -> bool {
    raw.as_bytes().windows(3).any(|w| w[0] == b'%' && codes.iter().any(|c| w[1..].eq_ignore_ascii_case(&c[..])))
}

fn decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        })
    };
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        acc = (acc << 6) | val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn path_segments_keep_their_plus_and_queries_do_not() {
        assert_eq!(path_decode("a+b%20c%2Fd"), "a+b c/d");
        assert!(matches!(path_decode("plain+segment"), std::borrow::Cow::Borrowed("plain+segment")));
        assert_eq!(percent_decode("a+b%20c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(path_decode("%zz%4"), "%zz%4");
        assert!(has_escape("a%2fb", &[b"2F"]) && has_escape("a%5C", &[b"2f", b"5c"]));
        assert!(!has_escape("a%2", &[b"2f"]) && !has_escape("%25", &[b"2f", b"5c"]));
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn bearer_tokens_are_compared_exactly() {
        let a = InboundAuth::Bearer(Secret::new("t0ken"));
        assert!(a.check(&headers(&[("authorization", "Bearer t0ken")]), None).is_ok());
        assert!(a.check(&headers(&[("authorization", "bearer t0ken")]), None).is_ok());
        let e = a.check(&headers(&[("authorization", "Bearer t0ke")]), None).unwrap_err();
        assert_eq!(e.challenge, "Bearer realm=\"naftiko\"");
        assert!(!e.message.contains("t0ken"));
        assert!(a.check(&HeaderMap::new(), None).is_err());
    }

    #[test]
    fn api_keys_in_headers_and_queries() {
        let h = InboundAuth::ApiKey { name: "X-Api-Key".into(), value: Secret::new("k 1"), in_query: false };
        assert!(h.check(&headers(&[("x-api-key", "k 1")]), None).is_ok());
        assert!(h.check(&headers(&[("x-api-key", "k 2")]), None).is_err());
        let q = InboundAuth::ApiKey { name: "api_key".into(), value: Secret::new("k 1"), in_query: true };
        assert!(q.check(&HeaderMap::new(), Some("a=1&api_key=k%201")).is_ok());
        assert!(q.check(&HeaderMap::new(), Some("api_key=k+1")).is_ok());
        assert!(q.check(&HeaderMap::new(), Some("api_key=nope")).is_err());
    }

    #[test]
    fn basic_credentials_decode() {
        let b = InboundAuth::Basic { username: Secret::new("ada"), password: Secret::new("pw:x") };
        // "ada:pw:x" in base64
        assert!(b.check(&headers(&[("authorization", "Basic YWRhOnB3Ong=")]), None).is_ok());
        assert!(b.check(&headers(&[("authorization", "Basic YWRhOnB3")]), None).is_err());
        assert_eq!(base64_decode("aGVsbG8="), Some(b"hello".to_vec()));
    }
}
