//! Upstream URLs without parsing their origin on every call: `scheme://authority` (where host
//! parsing and IDNA processing happen) is parsed once per thread and origin; each call only sets
//! the path, query and fragment on a copy. The result is the URL `Url::parse` gives. When the
//! path and query are already in the form the parser would give them ([`plain`]), they are
//! used as written, with no `Url` at all — the usual case on the request path.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;

use reqwest::Url;

/// Origins remembered per thread (the base URIs of a capability; forward adds none).
const MAX_ORIGINS: usize = 64;

/// A parsed `scheme://authority`.
#[derive(Debug)]
pub struct Origin {
    /// The origin as `Url::parse` gives it.
    pub url: Url,
    /// `https`, else `http`.
    pub https: bool,
    /// The host as the parser normalised it (lower case, IDNA, brackets for IPv6).
    pub host: String,
    /// The port, explicit or the scheme's default.
    pub port: u16,
}

thread_local! {
    /// A capability has a few origins: a list searched in order beats hashing the text.
    static ORIGINS: RefCell<Vec<(String, Arc<Origin>)>> = const { RefCell::new(Vec::new()) };
}

fn origin(text: &str) -> Result<Arc<Origin>, String> {
    ORIGINS.with(|cell| {
        let mut map = cell.borrow_mut();
        if let Some((_, o)) = map.iter().find(|(t, _)| t == text) {
            return Ok(o.clone());
        }
        let url = Url::parse(text).map_err(|e| e.to_string())?;
        let o = Arc::new(Origin {
            https: url.scheme() == "https",
            host: url.host_str().unwrap_or_default().to_string(),
            port: url.port_or_known_default().unwrap_or(80),
            url,
        });
        if map.len() >= MAX_ORIGINS {
            map.clear();
        }
        map.push((text.to_string(), o.clone()));
        Ok(o)
    })
}

/// An http(s) URL whose path and query need no normalising: its origin, and its path and query
/// exactly as `Url::parse` would give them.
#[derive(Debug, Clone)]
pub struct Plain<'u> {
    /// Scheme, host and port.
    pub origin: Arc<Origin>,
    /// `/path?query` (`/` added when the URL has no path).
    pub path_and_query: Cow<'u, str>,
}

impl Plain<'_> {
    /// The same, owning its path (kept beyond the URL's text: a forward's base URI).
    pub fn into_owned(self) -> Plain<'static> {
        Plain { origin: self.origin, path_and_query: Cow::Owned(self.path_and_query.into_owned()) }
    }
}

/// `url` taken apart without the full parser, or `None` when the full parser is needed (a
/// fragment, dot segments, characters it would percent-encode, userinfo, non-ASCII…).
pub fn plain(url: &str) -> Option<Plain<'_>> {
    let (origin_text, rest) = split_origin(url)?;
    if !plain_rest(rest) {
        return None;
    }
    let path_and_query = match rest.as_bytes().first() {
        Some(b'/') => Cow::Borrowed(rest),
        _ => Cow::Owned(format!("/{rest}")),
    };
    Some(Plain { origin: origin(origin_text).ok()?, path_and_query })
}

/// Whether `rest` — a URL's path and query, or what is appended to a plain URL's path from a
/// `/` on — is as the parser would give it: every byte one it keeps, no `.`/`..` segment (also
/// percent-encoded), which it would resolve. One pass.
pub fn plain_rest(rest: &str) -> bool {
    let mut in_query = false;
    let mut segment_start = 0;
    for (i, &b) in rest.as_bytes().iter().enumerate() {
        let plain_byte = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'(' | b')' | b'*' | b'+' | b',')
            || matches!(b, b';' | b'=' | b':' | b'@' | b'/' | b'%');
        match b {
            b'?' if !in_query => {
                if is_dot_segment(&rest[segment_start..i]) {
                    return false;
                }
                in_query = true;
            }
            b'?' => {}
            b'/' if !in_query => {
                if is_dot_segment(&rest[segment_start..i]) {
                    return false;
                }
                segment_start = i + 1;
            }
            _ if !plain_byte => return false,
            _ => {}
        }
    }
    in_query || !is_dot_segment(&rest[segment_start..])
}

/// `.`, `..` and their percent-encoded spellings.
fn is_dot_segment(segment: &str) -> bool {
    matches!(segment.as_bytes().first(), Some(b'.' | b'%'))
        && [".", "..", "%2e", "%2e%2e", ".%2e", "%2e."].iter().any(|d| segment.eq_ignore_ascii_case(d))
}

/// Parses `url` as `Url::parse` does (the origin's parse is remembered per thread).
pub fn parse(url: &str) -> Result<Url, String> {
    let Some((origin_text, rest)) = split_origin(url) else {
        return Url::parse(url).map_err(|e| e.to_string());
    };
    let mut parsed = origin(origin_text)?.url.clone();
    let (before_fragment, fragment) = match rest.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (rest, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (before_fragment, None),
    };
    parsed.set_path(path);
    parsed.set_query(query);
    parsed.set_fragment(fragment);
    Ok(parsed)
}

/// `("http://host:port", "/path?query")` for an absolute URL with an authority whose origin
/// part is plain (no userinfo, no backslash: those go through the full parser).
fn split_origin(url: &str) -> Option<(&str, &str)> {
    let after = if url.starts_with("http://") {
        7
    } else if url.starts_with("https://") {
        8
    } else {
        return None;
    };
    let mut end = url.len();
    for (i, &b) in url.as_bytes()[after..].iter().enumerate() {
        match b {
            b'/' | b'?' | b'#' => {
                end = after + i;
                break;
            }
            b'@' | b'\\' | b' ' | b'\t' | b'\n' | b'\r' | b'%' => return None,
            _ => {}
        }
    }
    if end == after {
        return None;
    }
    Some((&url[..end], &url[end..]))
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_as_the_full_parser_does() {
        for url in [
            "http://127.0.0.1:8080/v1/items/42?cursor=a%20b&page_size=10",
            "https://api.kombo.dev/v1/integrations/int-42/relink",
            "http://example.com",
            "http://example.com?x=1",
            "http://example.com/#frag",
            "http://example.com/a b/ü?q=ü v#f g",
            "http://EXAMPLE.com:80/a/./b/../c",
            "https://bücher.example/x",
            "http://example.com/a%2Fb/%2e%2e/c?x=%zz",
            "http://[::1]:9000/path",
            "http://user:pw@example.com/p",
            "http://example.com/p?a=1?b=2#x#y",
            "HTTP://Example.COM/P",
        ] {
            let ours = super::parse(url).map(|u| u.to_string());
            let full = reqwest::Url::parse(url).map(|u| u.to_string()).map_err(|e| e.to_string());
            assert_eq!(ours, full, "{url}");
            // Second time from the cache.
            assert_eq!(super::parse(url).map(|u| u.to_string()), full, "{url} (cached)");
        }
        assert!(super::parse("http://exa mple.com/").is_err());
    }

    #[test]
    fn plain_urls_are_taken_apart_as_the_full_parser_does_or_left_to_it() {
        let plain = [
            "http://127.0.0.1:8080/v1/items/42?cursor=a%20b&page_size=10",
            "https://api.kombo.dev/v1/integrations/int-42/relink",
            "http://example.com",
            "http://example.com?x=1",
            "http://EXAMPLE.com:80/a/b.c/d..e/...?q=a?b/c",
            "http://Example.COM/P;x=1,2@a:b",
            "http://[::1]:9000/path",
            "http://example.com/a%2Fb/%zz?x=%zz",
            "https://bücher.example/x",
        ];
        let full_parser = [
            "http://example.com/#frag",
            "http://example.com/a b/ü?q=ü v",
            "http://example.com/a/./b/../c",
            "http://example.com/a/%2e%2E/c",
            "http://example.com/a/%2e",
            "http://example.com/a?q='x'",
            "http://example.com/a\\b",
            "http://user:pw@example.com/p",
            "ftp://example.com/x",
        ];
        for url in plain {
            let ours = super::plain(url).unwrap_or_else(|| panic!("{url} is plain"));
            let full = reqwest::Url::parse(url).unwrap();
            let full_pq = match full.query() {
                Some(q) => format!("{}?{q}", full.path()),
                None => full.path().to_string(),
            };
            assert_eq!(ours.path_and_query, full_pq, "{url}");
            assert_eq!(ours.origin.host, full.host_str().unwrap(), "{url}");
            assert_eq!(ours.origin.port, full.port_or_known_default().unwrap(), "{url}");
            assert_eq!(ours.origin.https, full.scheme() == "https", "{url}");
        }
        for url in full_parser {
            assert!(super::plain(url).is_none(), "{url} needs the full parser");
        }
        assert!(super::parse("not a url").is_err());
    }
}
