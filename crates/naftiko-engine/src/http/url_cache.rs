//! Upstream URLs without parsing their origin on every call: `scheme://authority` (where host
//! parsing and IDNA processing happen) is parsed once per thread and origin; each call only sets
//! the path, query and fragment on a copy. The result is the URL `Url::parse` gives.

use std::cell::RefCell;
use std::collections::HashMap;

use reqwest::Url;

/// Origins remembered per thread (the base URIs of a capability; forward adds none).
const MAX_ORIGINS: usize = 256;

thread_local! {
    static ORIGINS: RefCell<HashMap<String, Url>> = RefCell::new(HashMap::new());
}

/// Parses `url` as `Url::parse` does (the origin's parse is remembered per thread).
pub fn parse(url: &str) -> Result<Url, String> {
    let Some((origin, rest)) = split_origin(url) else {
        return Url::parse(url).map_err(|e| e.to_string());
    };
    let mut parsed = ORIGINS.with(|cell| {
        let mut map = cell.borrow_mut();
        if let Some(u) = map.get(origin) {
            return Ok(u.clone());
        }
        let u = Url::parse(origin).map_err(|e| e.to_string())?;
        if map.len() >= MAX_ORIGINS {
            map.clear();
        }
        map.insert(origin.to_string(), u.clone());
        Ok::<Url, String>(u)
    })?;
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
    let scheme_end = url.find("://")?;
    let scheme = &url[..scheme_end];
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let after = scheme_end + 3;
    let end = url[after..].find(['/', '?', '#']).map(|i| after + i).unwrap_or(url.len());
    let authority = &url[after..end];
    if authority.is_empty() || authority.contains(['@', '\\', ' ', '\t', '\n', '\r', '%']) {
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
        assert!(super::parse("not a url").is_err());
    }
}
