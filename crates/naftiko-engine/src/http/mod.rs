//! The HTTP executor: the only thing in naftiko that talks to upstreams.
//!
//! One shared, pooled `reqwest` client with connect and total timeouts, a maximum response
//! size enforced while streaming, redirects not followed, credentials applied here (digest with
//! a real challenge round-trip), hop-by-hop headers removed, and typed errors that name the
//! call and the URL without its query string (query values can be credentials).

mod auth;
mod error;
mod url_cache;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};

use crate::CallSite;
use crate::secret::Secret;

pub use error::UpstreamError;

/// Settings of the executor.
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// Time allowed to establish a connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole exchange (headers and body).
    pub total_timeout: Duration,
    /// Largest response body accepted by [`HttpExecutor::send`].
    pub max_response_bytes: usize,
    /// Idle pooled connections kept per upstream host.
    pub pool_idle_per_host: usize,
    /// `User-Agent` sent upstream.
    pub user_agent: String,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(30),
            max_response_bytes: 32 * 1024 * 1024,
            pool_idle_per_host: 256,
            user_agent: format!("naftiko/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Sends upstream requests. Cheap to clone; every clone shares one connection pool.
#[derive(Debug, Clone)]
pub struct HttpExecutor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: reqwest::Client,
    config: ExecutorConfig,
}

/// An upstream request, fully built by the engine.
#[derive(Debug)]
pub struct UpstreamRequest {
    /// Which consumed operation it is (for errors and logs).
    pub call: CallSite,
    /// The method.
    pub method: Method,
    /// The URL, already percent-encoded (may carry a query).
    pub url: String,
    /// Extra query pairs, encoded here; arrays are already repeated pairs.
    pub query: Vec<(String, String)>,
    /// Request headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: UpstreamBody,
    /// Credentials to apply.
    pub auth: Option<Auth>,
}

/// A request body.
#[derive(Debug)]
pub enum UpstreamBody {
    /// No body.
    None,
    /// Bytes with their content type (resendable, e.g. for digest).
    Bytes {
        /// The bytes.
        bytes: Bytes,
        /// `Content-Type`.
        content_type: Option<HeaderValue>,
    },
    /// A stream (forward), sent as it arrives.
    Stream {
        /// The stream.
        body: reqwest::Body,
        /// `Content-Type`.
        content_type: Option<HeaderValue>,
    },
}

/// Outbound credentials with their values resolved.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `Authorization: Bearer …`.
    Bearer(Secret),
    /// HTTP basic (RFC 7617).
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
    /// An API key header (replaces a header of the same name).
    ApiKeyHeader {
        /// Header name.
        name: HeaderName,
        /// Value.
        value: Secret,
    },
    /// An API key query parameter.
    ApiKeyQuery {
        /// Parameter name.
        name: String,
        /// Value.
        value: Secret,
    },
    /// HTTP digest (RFC 7616): answered after the server's challenge.
    Digest {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
}

/// A buffered upstream response.
#[derive(Debug)]
pub struct UpstreamResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The whole body (at most `max_response_bytes`).
    pub body: Bytes,
    /// Time from sending to the last body byte.
    pub elapsed: Duration,
}

/// An upstream response whose body is still streaming (forward).
pub struct StreamingResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The body, chunk by chunk.
    pub body: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>,
}

impl std::fmt::Debug for StreamingResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingResponse").field("status", &self.status).finish_non_exhaustive()
    }
}

/// Request headers that only concern one hop and are never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Removes hop-by-hop headers, including those named in `Connection`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()).collect::<Vec<_>>())
        .collect();
    for name in HOP_BY_HOP.iter().copied().chain(named.iter().map(String::as_str)) {
        headers.remove(name);
    }
}

/// The URL without its query string (safe to show: query values can be credentials).
pub(crate) fn redacted_url(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or(url).to_string()
}

impl HttpExecutor {
    /// Builds the shared client.
    pub fn new(config: ExecutorConfig) -> Result<HttpExecutor, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(config.pool_idle_per_host)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .user_agent(config.user_agent.clone())
            .build()?;
        Ok(HttpExecutor { inner: Arc::new(Inner { client, config }) })
    }

    /// The settings.
    pub fn config(&self) -> &ExecutorConfig {
        &self.inner.config
    }

    /// Sends a request and buffers the response body, refusing bodies over the limit while
    /// they stream (memory stays bounded).
    pub async fn send(&self, req: UpstreamRequest) -> Result<UpstreamResponse, UpstreamError> {
        let started = Instant::now();
        let call = req.call.clone();
        let url = redacted_url(&req.url);
        let method = req.method.clone();
        let deadline = self.inner.config.total_timeout;
        let limit = self.inner.config.max_response_bytes;
        let exchange = async {
            let resp = self.exchange(req).await?;
            let status = resp.status();
            let headers = resp.headers().clone();
            if let Some(len) = resp.content_length()
                && len as usize > limit
            {
                return Err(UpstreamError::TooLarge {
                    call: call.clone(),
                    method: method.clone(),
                    url: url.clone(),
                    limit,
                });
            }
            let mut body = BytesMut::new();
            let mut stream = resp.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| UpstreamError::from_reqwest(&call, &method, &url, deadline, &e))?;
                if body.len() + chunk.len() > limit {
                    return Err(UpstreamError::TooLarge {
                        call: call.clone(),
                        method: method.clone(),
                        url: url.clone(),
                        limit,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok((status, headers, body.freeze()))
        };
        let result = match tokio::time::timeout(deadline, exchange).await {
            Ok(r) => r,
            Err(_) => Err(UpstreamError::Timeout {
                call: call.clone(),
                method: method.clone(),
                url: url.clone(),
                after: deadline,
            }),
        };
        let elapsed = started.elapsed();
        match &result {
            Ok((status, _, body)) => {
                tracing::debug!(call = %call, %method, url = %url, status = status.as_u16(), bytes = body.len(), elapsed_ms = elapsed.as_millis() as u64, "upstream call")
            }
            Err(e) => {
                tracing::debug!(call = %call, %method, url = %url, error = %e, elapsed_ms = elapsed.as_millis() as u64, "upstream call failed")
            }
        }
        let (status, headers, body) = result?;
        Ok(UpstreamResponse { status, headers, body, elapsed })
    }

    /// Sends a request and returns as soon as the headers arrive; the body streams (forward).
    /// The total timeout covers the wait for the headers.
    pub async fn send_streaming(&self, req: UpstreamRequest) -> Result<StreamingResponse, UpstreamError> {
        let call = req.call.clone();
        let url = redacted_url(&req.url);
        let method = req.method.clone();
        let deadline = self.inner.config.total_timeout;
        let resp = match tokio::time::timeout(deadline, self.exchange(req)).await {
            Ok(r) => r?,
            Err(_) => return Err(UpstreamError::Timeout { call, method, url, after: deadline }),
        };
        tracing::debug!(call = %call, %method, url = %url, status = resp.status().as_u16(), "upstream call (streaming)");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes_stream().map(|r| r.map_err(std::io::Error::other));
        Ok(StreamingResponse { status, headers, body: Box::pin(body) })
    }

    /// One request, with the digest round-trip when asked for.
    async fn exchange(&self, req: UpstreamRequest) -> Result<reqwest::Response, UpstreamError> {
        let UpstreamRequest { call, method, url, query, mut headers, body, auth } = req;
        let safe_url = redacted_url(&url);
        let deadline = self.inner.config.total_timeout;
        strip_hop_by_hop(&mut headers);
        let mut full_url = url.clone();
        let mut extra_query = query;
        if let Some(Auth::ApiKeyQuery { name, value }) = &auth {
            extra_query.push((name.clone(), value.expose().to_string()));
        }
        if !extra_query.is_empty() {
            let encoded: Vec<String> =
                extra_query.iter().map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v))).collect();
            full_url.push(if full_url.contains('?') { '&' } else { '?' });
            full_url.push_str(&encoded.join("&"));
        }
        let parsed = url_cache::parse(&full_url).map_err(|e| UpstreamError::InvalidRequest {
            call: call.clone(),
            method: method.clone(),
            url: safe_url.clone(),
            reason: format!("invalid URL: {e}"),
        })?;
        auth::apply(&auth, &mut headers).map_err(|reason| UpstreamError::InvalidRequest {
            call: call.clone(),
            method: method.clone(),
            url: safe_url.clone(),
            reason,
        })?;
        let (resendable, stream, content_type) = match body {
            UpstreamBody::None => (None, None, None),
            UpstreamBody::Bytes { bytes, content_type } => (Some(bytes), None, content_type),
            UpstreamBody::Stream { body, content_type } => (None, Some(body), content_type),
        };
        if let Some(ct) = content_type {
            headers.insert(header::CONTENT_TYPE, ct);
        }
        let build = |headers: HeaderMap, body: Option<reqwest::Body>| {
            let mut rb = self.inner.client.request(method.clone(), parsed.clone()).headers(headers);
            if let Some(b) = body {
                rb = rb.body(b);
            }
            rb
        };
        let first_body = match (&resendable, stream) {
            (Some(b), _) => Some(reqwest::Body::from(b.clone())),
            (None, Some(s)) => Some(s),
            (None, None) => None,
        };
        // Only a digest challenge needs the headers a second time.
        let first_headers =
            if matches!(auth, Some(Auth::Digest { .. })) { headers.clone() } else { std::mem::take(&mut headers) };
        let resp = build(first_headers, first_body)
            .send()
            .await
            .map_err(|e| UpstreamError::from_reqwest(&call, &method, &safe_url, deadline, &e))?;
        let Some(Auth::Digest { username, password }) = &auth else {
            return Ok(resp);
        };
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let challenge = resp
            .headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.trim_start().to_ascii_lowercase().starts_with("digest"))
            .map(str::to_owned);
        let Some(challenge) = challenge else {
            return Err(UpstreamError::DigestFailed {
                call,
                method,
                url: safe_url,
                reason: "the upstream answered 401 without a Digest challenge".into(),
            });
        };
        if resendable.is_none() && !matches!(method, Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS) {
            return Err(UpstreamError::DigestFailed {
                call,
                method,
                url: safe_url,
                reason: "a streamed body cannot be resent after the challenge".into(),
            });
        }
        let uri = match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_string(),
        };
        let value = auth::digest_response(
            &challenge,
            username,
            password.expose(),
            method.as_str(),
            &uri,
            resendable.as_deref(),
        )
        .map_err(|reason| UpstreamError::DigestFailed {
            call: call.clone(),
            method: method.clone(),
            url: safe_url.clone(),
            reason,
        })?;
        let mut headers = headers;
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&value).map_err(|_| UpstreamError::DigestFailed {
                call: call.clone(),
                method: method.clone(),
                url: safe_url.clone(),
                reason: "invalid digest header".into(),
            })?,
        );
        build(headers, resendable.map(reqwest::Body::from))
            .send()
            .await
            .map_err(|e| UpstreamError::from_reqwest(&call, &method, &safe_url, deadline, &e))
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved kept).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_are_removed() {
        let mut h = HeaderMap::new();
        h.insert("connection", HeaderValue::from_static("keep-alive, x-private"));
        h.insert("x-private", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }

    #[test]
    fn urls_lose_their_query_in_messages() {
        assert_eq!(redacted_url("https://a/b?key=secret"), "https://a/b");
        assert_eq!(encode_component("a b&c=é"), "a%20b%26c%3D%C3%A9");
    }
}
