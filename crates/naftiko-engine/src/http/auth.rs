//! Applying outbound credentials, and computing digest responses (RFC 7616 / 2617).

use http::{HeaderMap, HeaderValue, header};

use super::Auth;

/// Sets the headers an `Auth` needs before the first send (digest waits for its challenge;
/// query API keys are added to the URL by the caller).
pub(crate) fn apply(auth: &Option<Auth>, headers: &mut HeaderMap) -> Result<(), String> {
    let value = |s: String| {
        HeaderValue::from_str(&s).map(|mut v| {
            v.set_sensitive(true);
            v
        })
    };
    match auth {
        Some(Auth::Bearer(token)) => {
            headers.insert(
                header::AUTHORIZATION,
                value(format!("Bearer {}", token.expose()))
                    .map_err(|_| "the bearer token contains characters a header cannot carry")?,
            );
        }
        Some(Auth::Basic { username, password }) => {
            let encoded = base64(format!("{username}:{}", password.expose()).as_bytes());
            headers.insert(
                header::AUTHORIZATION,
                value(format!("Basic {encoded}")).map_err(|_| "invalid basic credentials")?,
            );
        }
        Some(Auth::ApiKeyHeader { name, value: v }) => {
            headers.insert(
                name.clone(),
                value(v.expose().to_string()).map_err(|_| {
                    format!("the API key for header `{name}` contains characters a header cannot carry")
                })?,
            );
        }
        Some(Auth::ApiKeyQuery { .. }) | Some(Auth::Digest { .. }) | None => {}
    }
    Ok(())
}

/// Standard base64 with padding.
pub(crate) fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 { T[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if chunk.len() > 2 { T[n as usize & 63] as char } else { '=' });
    }
    out
}

/// Parses `Digest realm="x", nonce="y", qop="auth,auth-int", algorithm=MD5, opaque="z"`.
fn parse_challenge(challenge: &str) -> Vec<(String, String)> {
    let rest = challenge.trim_start();
    let rest = rest.get(6..).unwrap_or("").trim_start();
    let mut out = Vec::new();
    let bytes = rest;
    let mut i = 0;
    while i < bytes.len() {
        let key_end = bytes[i..].find('=').map(|p| i + p);
        let Some(key_end) = key_end else { break };
        let key = bytes[i..key_end].trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let mut j = key_end + 1;
        let value;
        if bytes[j..].starts_with('"') {
            j += 1;
            let mut v = String::new();
            let mut escaped = false;
            let mut end = bytes.len();
            for (k, c) in bytes[j..].char_indices() {
                if escaped {
                    v.push(c);
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    end = j + k + 1;
                    break;
                } else {
                    v.push(c);
                }
            }
            value = v;
            j = end;
        } else {
            let end = bytes[j..].find(',').map(|p| j + p).unwrap_or(bytes.len());
            value = bytes[j..end].trim().to_string();
            j = end;
        }
        out.push((key, value));
        i = bytes[j..].find(|c: char| c != ',' && !c.is_whitespace()).map(|p| j + p).unwrap_or(bytes.len());
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash(algorithm: &str, data: &str) -> Result<String, String> {
    use md5::Digest as _;
    match algorithm.to_ascii_uppercase().trim_end_matches("-SESS") {
        "MD5" => Ok(hex(&md5::Md5::digest(data.as_bytes()))),
        "SHA-256" => Ok(hex(&sha2::Sha256::digest(data.as_bytes()))),
        other => Err(format!("digest algorithm `{other}` is not supported (MD5, SHA-256)")),
    }
}

/// The `Authorization` value answering a digest challenge.
pub(super) fn digest_response(
    challenge: &str,
    username: &str,
    password: &str,
    method: &str,
    uri: &str,
    body: Option<&[u8]>,
) -> Result<String, String> {
    let params = parse_challenge(challenge);
    let get = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let realm = get("realm").unwrap_or("");
    let nonce = get("nonce").ok_or("the digest challenge has no nonce")?;
    let algorithm = get("algorithm").unwrap_or("MD5");
    let opaque = get("opaque");
    let qops: Vec<&str> = get("qop").map(|q| q.split(',').map(str::trim).collect()).unwrap_or_default();
    let qop = if qops.contains(&"auth") {
        Some("auth")
    } else if qops.contains(&"auth-int") {
        Some("auth-int")
    } else if qops.is_empty() {
        None
    } else {
        return Err(format!("digest qop `{}` is not supported", qops.join(",")));
    };
    let cnonce = {
        let n: u64 = rand_u64();
        format!("{n:016x}")
    };
    let nc = "00000001";
    let mut ha1 = hash(algorithm, &format!("{username}:{realm}:{password}"))?;
    if algorithm.to_ascii_uppercase().ends_with("-SESS") {
        ha1 = hash(algorithm, &format!("{ha1}:{nonce}:{cnonce}"))?;
    }
    let ha2 = match qop {
        Some("auth-int") => {
            let body_hash = hash(algorithm, std::str::from_utf8(body.unwrap_or_default()).unwrap_or(""))?;
            hash(algorithm, &format!("{method}:{uri}:{body_hash}"))?
        }
        _ => hash(algorithm, &format!("{method}:{uri}"))?,
    };
    let response = match qop {
        Some(q) => hash(algorithm, &format!("{ha1}:{nonce}:{nc}:{cnonce}:{q}:{ha2}"))?,
        None => hash(algorithm, &format!("{ha1}:{nonce}:{ha2}"))?,
    };
    let mut out = format!(
        "Digest username=\"{username}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", algorithm={algorithm}, response=\"{response}\""
    );
    if let Some(q) = qop {
        out.push_str(&format!(", qop={q}, nc={nc}, cnonce=\"{cnonce}\""));
    }
    if let Some(o) = opaque {
        out.push_str(&format!(", opaque=\"{o}\""));
    }
    Ok(out)
}

/// A client nonce: time and address entropy mixed (not a secret, only unique).
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }

    #[test]
    fn challenges_parse_with_quotes_and_commas() {
        let p = parse_challenge(
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        );
        assert_eq!(p[0], ("realm".to_string(), "http-auth@example.org".to_string()));
        assert_eq!(p[1], ("qop".to_string(), "auth, auth-int".to_string()));
        assert_eq!(p[2], ("algorithm".to_string(), "SHA-256".to_string()));
        assert_eq!(p.len(), 5);
    }

    #[test]
    fn rfc_2617_example_response() {
        // RFC 2617 §3.5: with cnonce 0a4f113b the response is 6629fae49393a05397450978507c4ef1.
        let ha1 = hash("MD5", "Mufasa:testrealm@host.com:Circle Of Life").unwrap();
        let ha2 = hash("MD5", "GET:/dir/index.html").unwrap();
        let r = hash("MD5", &format!("{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:0a4f113b:auth:{ha2}")).unwrap();
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }
}
