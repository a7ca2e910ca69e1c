//! The HTTP executor: the only thing in naftiko that talks to upstreams.
//!
//! Connect and total timeouts, a maximum response size enforced while streaming, redirects not
//! followed, credentials applied here (digest with a real challenge round-trip), hop-by-hop
//! headers removed, and typed errors that name the call and the URL without its query string
//! (query values can be credentials). Two transports sit under that one front: `http://` calls
//! are written and read on the calling task over the executor's own keep-alive connections
//! ([`h1`]: no task hops, the cheapest path to a nearby upstream); `https://` calls go through one
//! shared, pooled `reqwest` client (TLS, HTTP/2).

mod auth;
mod error;
mod h1;
mod url_cache;

use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};

use crate::CallSite;
use crate::secret::{Redactor, Secret};

pub(crate) use auth::apply as apply_auth;
pub use error::UpstreamError;
pub use h1::BodyStream;
pub(crate) use h1::{Conn, Pool, Transport, read_reply};
pub use naftiko_http::framing;
pub use naftiko_http::{ReplyHeaders, WireFields};
pub use url_cache::parse as parse_url;
pub use url_cache::{Origin, Plain, plain as plain_url, plain_rest};

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
    /// Whether `http://` calls use the executor's own HTTP/1.1 connections (the default) rather
    /// than the shared client that serves `https://`.
    pub own_plain_http: bool,
    /// The capability's bind values, scrubbed from every error and log line the executor writes:
    /// the safety net behind the URLs' display forms ([`UpstreamRequest::shown_url`]).
    pub redactor: Redactor,
    /// Called after a buffered reply body of at least [`LARGE_BODY_BYTES`] is freed — dropped by
    /// the executor (refused over the size limit, failed or timed out midway), or by whoever held
    /// it last once it was delivered: the program's allocator can give that memory back to the
    /// system now rather than when the thread next allocates (an idle worker may not for hours).
    /// The `naftiko` binary registers mimalloc's `mi_collect`; a library user with another
    /// allocator may leave it unset.
    pub release_memory: Option<fn()>,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(30),
            max_response_bytes: 32 * 1024 * 1024,
            pool_idle_per_host: 256,
            user_agent: format!("naftiko/{}", env!("CARGO_PKG_VERSION")),
            own_plain_http: true,
            redactor: Redactor::default(),
            release_memory: None,
        }
    }
}

/// How much of a reply body must have been buffered and dropped for
/// [`ExecutorConfig::release_memory`] to be called (smaller bodies are reused by the allocator
/// soon enough, and the call is not free).
pub const LARGE_BODY_BYTES: usize = 1024 * 1024;

/// How long an idle upstream connection is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Sends upstream requests. Cheap to clone; every clone shares one connection pool.
#[derive(Debug, Clone)]
pub struct HttpExecutor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The shared client, built on the first call that needs it (loading the system's root
    /// certificates takes milliseconds and memory that plain-HTTP capabilities never need).
    client: std::sync::OnceLock<Result<reqwest::Client, String>>,
    plain: Option<Arc<h1::Pool>>,
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
    /// The URL as logs and messages show it, when `url` holds a bind value: the same URL with
    /// `***` in its place. `None` when `url` can be shown as it is.
    pub shown_url: Option<String>,
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
        body: BodyStream,
        /// Its length when known (`Content-Length`); chunked otherwise.
        length: Option<u64>,
        /// `Content-Type`.
        content_type: Option<HeaderValue>,
    },
}

impl std::fmt::Debug for UpstreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamBody::None => f.write_str("None"),
            UpstreamBody::Bytes { bytes, content_type } => {
                f.debug_struct("Bytes").field("len", &bytes.len()).field("content_type", content_type).finish()
            }
            UpstreamBody::Stream { length, content_type, .. } => {
                f.debug_struct("Stream").field("length", length).field("content_type", content_type).finish()
            }
        }
    }
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
    /// The end-to-end headers (hop-by-hop ones, and those `Connection` names, are the
    /// executor's: never here), as read.
    pub headers: ReplyHeaders,
    /// The whole body (at most `max_response_bytes`).
    pub body: Bytes,
    /// Time from sending to the last body byte.
    pub elapsed: Duration,
}

/// An upstream response whose body is still streaming (forward).
pub struct StreamingResponse {
    /// Status.
    pub status: StatusCode,
    /// The end-to-end headers, as in [`UpstreamResponse::headers`], as read (forward writes
    /// them to its caller as they are).
    pub headers: ReplyHeaders,
    /// The body.
    pub body: StreamingBody,
}

/// A forwarded body: whole when it arrived with the head (no stream to poll), else chunk by chunk.
pub enum StreamingBody {
    /// All of it.
    Whole(Bytes),
    /// The rest of it, as it arrives.
    Stream(std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>),
}

impl std::fmt::Debug for StreamingResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingResponse").field("status", &self.status).finish_non_exhaustive()
    }
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    framing::is_hop_by_hop(name.as_str().as_bytes())
}

/// Removes hop-by-hop headers, including those named in `Connection`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Usually there is none, or only `Connection: keep-alive` (most upstream replies): the names
    // present are removed, rather than every kind looked up.
    if !headers.keys().any(is_hop_by_hop) {
        return;
    }
    let named = framing::named_by_connection(headers.get_all(header::CONNECTION).iter().map(HeaderValue::as_bytes));
    while let Some(name) = headers.keys().find(|k| is_hop_by_hop(k)).cloned() {
        headers.remove(&name);
    }
    for name in &named {
        headers.remove(name);
    }
}

impl UpstreamRequest {
    /// The URL to show people: [`Self::shown_url`] when set, else the URL. It still holds its
    /// query: the executor's messages cut it, dry runs (whose values are rendered as `***`) keep it.
    pub fn display_url(&self) -> &str {
        self.shown_url.as_deref().unwrap_or(&self.url)
    }
}

/// The URL without its query string (safe to show: query values can be credentials).
pub(crate) fn redacted_url(url: &str) -> String {
    let end = url.bytes().position(|b| b == b'?' || b == b'#').unwrap_or(url.len());
    url[..end].to_string()
}

impl HttpExecutor {
    /// An executor with empty pools; the HTTPS client is built on first use.
    pub fn new(config: ExecutorConfig) -> HttpExecutor {
        let user_agent =
            HeaderValue::from_str(&config.user_agent).unwrap_or_else(|_| HeaderValue::from_static("naftiko"));
        // `User-Agent` and `Accept`, sent unless the request has its own (the shared client has
        // its own `User-Agent`).
        let default_headers = vec![(header::USER_AGENT, user_agent), (header::ACCEPT, HeaderValue::from_static("*/*"))];
        let plain = config.own_plain_http.then(|| {
            let pool = h1::Pool::new(config.pool_idle_per_host, IDLE_TIMEOUT, config.connect_timeout);
            Arc::new(pool.with_defaults(default_headers))
        });
        let client = std::sync::OnceLock::new();
        HttpExecutor { inner: Arc::new(Inner { client, plain, config }) }
    }

    /// The shared client (HTTPS, and plain HTTP when `own_plain_http` is off).
    fn shared_client(&self) -> Result<&reqwest::Client, String> {
        let config = &self.inner.config;
        let built = self.inner.client.get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(config.connect_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(config.pool_idle_per_host)
                .pool_idle_timeout(IDLE_TIMEOUT)
                .tcp_nodelay(true)
                .user_agent(config.user_agent.clone())
                .build()
                .map_err(|e| format!("the HTTPS client cannot be built: {e}"))
        });
        built.as_ref().map_err(Clone::clone)
    }

    /// The settings.
    pub fn config(&self) -> &ExecutorConfig {
        &self.inner.config
    }

    /// Sends a request and buffers the response body, refusing bodies over the limit while
    /// they stream (memory stays bounded).
    pub async fn send(&self, mut req: UpstreamRequest) -> Result<UpstreamResponse, UpstreamError> {
        let started = Instant::now();
        let deadline = self.inner.config.total_timeout;
        let limit = self.inner.config.max_response_bytes;
        // How much body was buffered, seen after the exchange ends however it ends (a timeout
        // drops its buffers with it).
        let mut buffered = 0usize;
        let exchange = async {
            let Reply { status, headers, mut body } = self.exchange(&mut req).await?;
            let ctx = self.ctx(&req);
            if body.content_length().is_some_and(|len| len > limit as u64) {
                return Err(ctx.too_large(limit));
            }
            let mut gathered = Gathered::new(body.content_length());
            let unreadable = |e: std::io::Error| {
                ctx.unavailable(format!("the response body could not be read ({})", without_os_error(&e)))
            };
            while let Some(chunk) = body.chunk().await.map_err(unreadable)? {
                buffered += chunk.len();
                if buffered > limit {
                    return Err(ctx.too_large(limit));
                }
                gathered.push(chunk);
            }
            Ok((status, headers, gathered.finish()))
        };
        let outcome = tokio::time::timeout(deadline, pin!(exchange)).await;
        let result = outcome.unwrap_or_else(|_| Err(self.ctx(&req).timeout(deadline)));
        let elapsed = started.elapsed();
        let (call, method) = (&req.call, &req.method);
        let redactor = &self.inner.config.redactor;
        let result = result.map_err(|e| e.redacted(redactor));
        match &result {
            Ok((status, _, body)) => {
                tracing::debug!(call = %call, %method, url = %redactor.shown(&redacted_url(req.display_url())), status = status.as_u16(), bytes = body.len(), elapsed_ms = elapsed.as_millis() as u64, "upstream call")
            }
            Err(e) => {
                // The body read so far is gone with the exchange: its memory can go back now.
                if buffered >= LARGE_BODY_BYTES
                    && let Some(release) = self.inner.config.release_memory
                {
                    release();
                }
                tracing::debug!(call = %call, %method, url = %redactor.shown(&redacted_url(req.display_url())), error = %e, elapsed_ms = elapsed.as_millis() as u64, "upstream call failed")
            }
        }
        let (status, headers, mut body) = result?;
        if body.len() >= LARGE_BODY_BYTES
            && let Some(release) = self.inner.config.release_memory
        {
            // Wherever the body ends up (written to a caller, decoded, cut to an excerpt), its
            // memory is given back when its last piece is dropped.
            body = Bytes::from_owner(ReleasedOnDrop { bytes: body, release });
        }
        Ok(UpstreamResponse { status, headers, body, elapsed })
    }

    /// Sends a request and returns as soon as the headers arrive; the body streams (forward).
    /// The total timeout covers the wait for the headers.
    pub async fn send_streaming(&self, mut req: UpstreamRequest) -> Result<StreamingResponse, UpstreamError> {
        let deadline = self.inner.config.total_timeout;
        let outcome = tokio::time::timeout(deadline, pin!(self.exchange(&mut req))).await;
        let redactor = &self.inner.config.redactor;
        let reply = outcome.unwrap_or_else(|_| Err(self.ctx(&req).timeout(deadline))).map_err(|e| e.redacted(redactor));
        let Reply { status, headers, body } = reply.inspect_err(|e| {
            tracing::debug!(call = %req.call, method = %req.method, url = %redactor.shown(&redacted_url(req.display_url())), error = %e, "upstream call failed (streaming)");
        })?;
        tracing::debug!(call = %req.call, method = %req.method, url = %redactor.shown(&redacted_url(req.display_url())), status = status.as_u16(), "upstream call (streaming)");
        Ok(StreamingResponse { status, headers, body: body.into_streaming() })
    }

    /// What errors about `req` name.
    fn ctx<'r>(&self, req: &'r UpstreamRequest) -> Ctx<'r> {
        Ctx {
            call: &req.call,
            method: &req.method,
            url: req.display_url(),
            connect_timeout: self.inner.config.connect_timeout,
        }
    }

    /// One request, with the digest round-trip when asked for. Its headers, query and body are
    /// taken from `req`; the rest stays for the caller's messages.
    async fn exchange(&self, req: &mut UpstreamRequest) -> Result<Reply, UpstreamError> {
        let mut headers = std::mem::take(&mut req.headers);
        let mut extra_query = std::mem::take(&mut req.query);
        let body = std::mem::replace(&mut req.body, UpstreamBody::None);
        let UpstreamRequest { call, method, url, auth, .. } = &*req;
        let shown = req.display_url();
        let mut full_url = std::borrow::Cow::Borrowed(url.as_str());
        if let Some(Auth::ApiKeyQuery { name, value }) = auth {
            extra_query.push((name.clone(), value.expose().to_string()));
        }
        if !extra_query.is_empty() {
            let encoded: Vec<String> =
                extra_query.iter().map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v))).collect();
            let full_url = full_url.to_mut();
            full_url.push(if full_url.contains('?') { '&' } else { '?' });
            full_url.push_str(&encoded.join("&"));
        }
        // Messages name the URL as the caller gave it (query cut off when they are made).
        let ctx = self.ctx(req);
        // Plain http on the executor's own connections needs no `Url` when the URL is already
        // in normal form; everything else is parsed.
        let target = match url_cache::plain(&full_url) {
            Some(p) if !p.origin.https && self.inner.plain.is_some() => Target::Plain(p),
            _ => Target::Parsed(url_cache::parse(&full_url).map_err(|e| ctx.invalid(format!("invalid URL: {e}")))?),
        };
        strip_hop_by_hop(&mut headers);
        auth::apply(auth, &mut headers).map_err(|reason| ctx.invalid(reason))?;
        let (resendable, first_body, content_type) = match body {
            UpstreamBody::None => (None, h1::Body::None, None),
            UpstreamBody::Bytes { bytes, content_type } => (Some(bytes.clone()), h1::Body::Bytes(bytes), content_type),
            UpstreamBody::Stream { body, length, content_type } => {
                (None, h1::Body::Stream { stream: body, length }, content_type)
            }
        };
        if let Some(ct) = content_type {
            headers.insert(header::CONTENT_TYPE, ct);
        }
        // Only a digest challenge needs the headers a second time.
        let first_headers =
            if matches!(auth, Some(Auth::Digest { .. })) { headers.clone() } else { std::mem::take(&mut headers) };
        let reply = self.transmit(&ctx, &target, first_headers, first_body).await?;
        let Some(Auth::Digest { username, password }) = auth else {
            return Ok(reply);
        };
        if reply.status != StatusCode::UNAUTHORIZED {
            return Ok(reply);
        }
        let digest_failed = |reason: &str| UpstreamError::DigestFailed {
            call: call.clone(),
            method: method.clone(),
            url: redacted_url(shown),
            reason: reason.to_string(),
        };
        let challenge = reply
            .headers
            .values("www-authenticate")
            .into_iter()
            .filter_map(|v| std::str::from_utf8(v).ok())
            .find(|v| v.trim_start().to_ascii_lowercase().starts_with("digest"))
            .map(str::to_owned);
        drop(reply);
        let Some(challenge) = challenge else {
            return Err(digest_failed("the upstream answered 401 without a Digest challenge"));
        };
        if resendable.is_none() && !matches!(*method, Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS) {
            return Err(digest_failed("a streamed body cannot be resent after the challenge"));
        }
        let uri = target.path_and_query();
        let value = auth::digest_response(
            &challenge,
            username,
            password.expose(),
            method.as_str(),
            &uri,
            resendable.as_deref(),
        )
        .map_err(|reason| digest_failed(&reason))?;
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&value).map_err(|_| digest_failed("invalid digest header"))?,
        );
        let second_body = resendable.map(h1::Body::Bytes).unwrap_or(h1::Body::None);
        // Boxed: room for a second exchange in every call's future would be copied on every call.
        Box::pin(self.transmit(&ctx, &target, headers, second_body)).await
    }

    /// Sends one request on the transport for its scheme and returns once the head is in.
    async fn transmit(
        &self,
        ctx: &Ctx<'_>,
        target: &Target<'_>,
        mut headers: HeaderMap,
        body: h1::Body,
    ) -> Result<Reply, UpstreamError> {
        match &body {
            h1::Body::Stream { length: Some(n), .. } => {
                headers.insert(header::CONTENT_LENGTH, HeaderValue::from(*n));
            }
            // A method that defines a body says it has none (servers may answer 411 otherwise).
            h1::Body::None if matches!(*ctx.method, Method::POST | Method::PUT | Method::PATCH) => {
                headers.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
            }
            _ => {}
        }
        let plain = match target {
            Target::Plain(p) => Some((p.origin.host.as_str(), p.origin.port)),
            Target::Parsed(url) if url.scheme() == "http" => {
                Some((url.host_str().unwrap_or_default(), url.port_or_known_default().unwrap_or(80)))
            }
            Target::Parsed(_) => None,
        };
        if let (Some(pool), Some((host, port))) = (self.inner.plain.as_ref(), plain) {
            // The pool writes the default headers with the head.
            let path_and_query = target.path_and_query();
            let req = h1::Request { method: ctx.method, host, port, target: &path_and_query, headers: &headers, body };
            let resp = pool.exchange(req).await.map_err(|f| ctx.failure(f))?;
            return Ok(Reply {
                status: resp.status,
                headers: ReplyHeaders::Wire(resp.headers),
                body: ReplyBody::Plain(resp.body),
            });
        }
        let client = self.shared_client().map_err(|reason| ctx.unavailable(reason))?;
        let url = match target {
            Target::Parsed(url) => url.clone(),
            Target::Plain(p) => {
                let mut url = p.origin.url.clone();
                url.set_path("");
                url = url.join(&p.path_and_query).map_err(|e| ctx.invalid(format!("invalid URL: {e}")))?;
                url
            }
        };
        let mut rb = client.request(ctx.method.clone(), url).headers(headers);
        match body {
            h1::Body::None => {}
            h1::Body::Bytes(b) => rb = rb.body(b),
            h1::Body::Stream { stream, .. } => rb = rb.body(reqwest::Body::wrap_stream(stream)),
        }
        // Boxed: the client's future is larger than all of the plain path, and every call's
        // future would otherwise carry (and copy) that room.
        let mut resp = Box::pin(rb.send()).await.map_err(|e| {
            UpstreamError::from_reqwest(ctx.call, ctx.method, ctx.url, self.inner.config.total_timeout, &e)
        })?;
        let mut headers = std::mem::take(resp.headers_mut());
        strip_hop_by_hop(&mut headers);
        Ok(Reply { status: resp.status(), headers: ReplyHeaders::Map(headers), body: ReplyBody::Client(resp) })
    }
}

/// A reply body as it is read. A body read in one piece (the usual case) is kept as it is,
/// without a copy. Otherwise one of declared length is copied into one buffer of that size as it
/// arrives, and one of unknown length (chunked, until close) is kept in its pieces and joined once
/// at its end: never a buffer grown by doubling, which held up to three times the limit while a
/// reply that was then refused was read.
struct Gathered {
    declared: Option<usize>,
    /// The first piece, while it is the only one (no allocation on the usual path).
    first: Option<Bytes>,
    /// The pieces from the first on, once there are two (unknown length).
    pieces: Vec<Bytes>,
    /// The body so far, once there are two pieces (declared length).
    joined: BytesMut,
}

impl Gathered {
    fn new(declared: Option<u64>) -> Gathered {
        let declared = declared.and_then(|n| usize::try_from(n).ok());
        Gathered { declared, first: None, pieces: Vec::new(), joined: BytesMut::new() }
    }

    fn push(&mut self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        let Some(first) = self.first.take() else {
            match self.declared {
                _ if self.pieces.is_empty() && self.joined.is_empty() => self.first = Some(chunk),
                Some(_) => self.joined.extend_from_slice(&chunk),
                None => self.pieces.push(chunk),
            }
            return;
        };
        match self.declared {
            Some(len) => {
                self.joined.reserve(len);
                self.joined.extend_from_slice(&first);
                self.joined.extend_from_slice(&chunk);
            }
            None => self.pieces.extend([first, chunk]),
        }
    }

    fn finish(self) -> Bytes {
        if let Some(first) = self.first {
            return first;
        }
        if self.pieces.is_empty() {
            return self.joined.freeze();
        }
        let mut all = BytesMut::with_capacity(self.pieces.iter().map(Bytes::len).sum());
        for piece in &self.pieces {
            all.extend_from_slice(piece);
        }
        all.freeze()
    }
}

/// A large reply body that calls [`ExecutorConfig::release_memory`] once it is freed.
struct ReleasedOnDrop {
    bytes: Bytes,
    release: fn(),
}

impl AsRef<[u8]> for ReleasedOnDrop {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for ReleasedOnDrop {
    fn drop(&mut self) {
        drop(std::mem::take(&mut self.bytes));
        (self.release)();
    }
}

/// Where a request goes: taken apart without a `Url` when it is plain http in normal form.
enum Target<'u> {
    Plain(url_cache::Plain<'u>),
    Parsed(reqwest::Url),
}

impl Target<'_> {
    /// The request target: `/path?query`.
    fn path_and_query(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Target::Plain(p) => std::borrow::Cow::Borrowed(&p.path_and_query),
            Target::Parsed(url) => match url.query() {
                Some(q) => format!("{}?{q}", url.path()).into(),
                None => url.path().into(),
            },
        }
    }
}

/// What an upstream error names: the call, its method and its URL as shown without query (`url`
/// is the whole shown URL: it is cut when a message is made, never before — most calls make none).
struct Ctx<'a> {
    call: &'a CallSite,
    method: &'a Method,
    url: &'a str,
    connect_timeout: Duration,
}

impl Ctx<'_> {
    fn invalid(&self, reason: String) -> UpstreamError {
        UpstreamError::InvalidRequest {
            call: self.call.clone(),
            method: self.method.clone(),
            url: redacted_url(self.url),
            reason,
        }
    }

    fn unavailable(&self, reason: String) -> UpstreamError {
        UpstreamError::Unavailable {
            call: self.call.clone(),
            method: self.method.clone(),
            url: redacted_url(self.url),
            reason,
        }
    }

    fn timeout(&self, after: Duration) -> UpstreamError {
        UpstreamError::Timeout {
            call: self.call.clone(),
            method: self.method.clone(),
            url: redacted_url(self.url),
            after,
        }
    }

    fn too_large(&self, limit: usize) -> UpstreamError {
        UpstreamError::TooLarge {
            call: self.call.clone(),
            method: self.method.clone(),
            url: redacted_url(self.url),
            limit,
        }
    }

    fn failure(&self, f: h1::Failure) -> UpstreamError {
        match f {
            h1::Failure::Connect(e) => self.unavailable(format!("cannot connect ({})", without_os_error(&e))),
            h1::Failure::ConnectTimeout => self.timeout(self.connect_timeout),
            h1::Failure::Io(e) => self.unavailable(format!("the exchange failed ({})", without_os_error(&e))),
            h1::Failure::Invalid(m) => self.unavailable(format!("its reply is not valid HTTP/1.1: {m}")),
            h1::Failure::BadRequest(m) => self.invalid(m),
        }
    }
}

fn without_os_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    text.split(" (os error").next().unwrap_or(&text).to_string()
}

/// A response whose body is still to be read, from either transport.
struct Reply {
    status: StatusCode,
    headers: ReplyHeaders,
    body: ReplyBody,
}

enum ReplyBody {
    Plain(h1::ResponseBody),
    Client(reqwest::Response),
}

impl ReplyBody {
    fn content_length(&self) -> Option<u64> {
        match self {
            ReplyBody::Plain(b) => b.content_length(),
            ReplyBody::Client(r) => r.content_length(),
        }
    }

    async fn chunk(&mut self) -> Result<Option<Bytes>, std::io::Error> {
        match self {
            ReplyBody::Plain(b) => b.chunk().await,
            ReplyBody::Client(r) => r.chunk().await.map_err(std::io::Error::other),
        }
    }

    fn into_streaming(self) -> StreamingBody {
        match self {
            ReplyBody::Plain(mut b) => match b.take_whole() {
                Some(whole) => StreamingBody::Whole(whole),
                None => StreamingBody::Stream(Box::pin(b.into_stream())),
            },
            ReplyBody::Client(r) => {
                StreamingBody::Stream(Box::pin(r.bytes_stream().map(|r| r.map_err(std::io::Error::other))))
            }
        }
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

    /// The hop-by-hop headers (RFC 9110 §7.6.1, plus `proxy-connection` and `keep-alive`).
    static HOP_BY_HOP: [HeaderName; 9] = [
        header::CONNECTION,
        HeaderName::from_static("keep-alive"),
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        HeaderName::from_static("proxy-connection"),
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ];

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
        assert!(HOP_BY_HOP.iter().all(is_hop_by_hop), "the quick check knows every name");
        for name in &HOP_BY_HOP {
            let mut h = HeaderMap::new();
            h.insert(name.clone(), HeaderValue::from_static("x"));
            h.insert("x-kept", HeaderValue::from_static("1"));
            strip_hop_by_hop(&mut h);
            assert_eq!(h.len(), 1, "{name} is removed");
        }
    }

    /// Errors are made from the whole URL (with the API key the executor adds to its query) and
    /// must still never show the query: refused, timed out, too large, invalid.
    #[tokio::test]
    async fn errors_never_show_the_query_or_a_query_key() {
        let request = |url: String| UpstreamRequest {
            call: CallSite { namespace: "ns".into(), operation: "op".into() },
            method: Method::GET,
            url,
            shown_url: None,
            query: vec![("cursor".into(), "QUERY-VALUE".into())],
            headers: HeaderMap::new(),
            body: UpstreamBody::None,
            auth: Some(Auth::ApiKeyQuery { name: "api_key".into(), value: Secret::new("KEY-VALUE") }),
        };
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // Answers every request with a head and a body larger than the limit, after a while.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let slow = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n").await;
                    let _ = s.write_all(&[b'x'; 100]).await;
                });
            }
        });
        let quick =
            HttpExecutor::new(ExecutorConfig { total_timeout: Duration::from_millis(100), ..Default::default() });
        let small = HttpExecutor::new(ExecutorConfig { max_response_bytes: 10, ..Default::default() });
        let errors = [
            quick.send(request(format!("http://127.0.0.1:{closed}/x?secret=URL-VALUE"))).await.unwrap_err(),
            quick.send(request(format!("http://127.0.0.1:{slow}/x?secret=URL-VALUE"))).await.unwrap_err(),
            quick.send_streaming(request(format!("http://127.0.0.1:{slow}/x?secret=URL-VALUE"))).await.unwrap_err(),
            small.send(request(format!("http://127.0.0.1:{slow}/x?secret=URL-VALUE"))).await.unwrap_err(),
            quick.send(request("http://127.0.0.1:99999/x?secret=URL-VALUE".into())).await.unwrap_err(),
        ];
        let kinds: Vec<&str> = errors
            .iter()
            .map(|e| match e {
                UpstreamError::Unavailable { .. } => "unavailable",
                UpstreamError::Timeout { .. } => "timeout",
                UpstreamError::TooLarge { .. } => "too large",
                UpstreamError::InvalidRequest { .. } => "invalid",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["unavailable", "timeout", "timeout", "too large", "invalid"]);
        for e in &errors {
            let text = format!("{e} {e:?}");
            assert!(text.contains("/x"), "{text}");
            for secret in ["URL-VALUE", "QUERY-VALUE", "KEY-VALUE", "api_key", "secret="] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
    }

    #[test]
    fn bodies_are_gathered_without_a_copy_in_one_piece_and_joined_once_otherwise() {
        let piece = Bytes::from_static(b"abc");
        for declared in [None, Some(3)] {
            let mut g = Gathered::new(declared);
            g.push(Bytes::new());
            g.push(piece.clone());
            let whole = g.finish();
            assert_eq!(whole.as_ptr(), piece.as_ptr(), "one piece is kept as it is ({declared:?})");
        }
        for declared in [None, Some(9)] {
            let mut g = Gathered::new(declared);
            for p in ["abc", "", "def", "ghi"] {
                g.push(Bytes::from(p));
            }
            let joined = g.joined.capacity();
            assert_eq!(&g.finish()[..], b"abcdefghi", "{declared:?}");
            if declared.is_some() {
                assert_eq!(joined, 9, "one buffer of the declared size");
            }
        }
        assert!(Gathered::new(None).finish().is_empty());
    }

    /// Calls of the release hook in [`large_bodies_are_released_on_both_transports`].
    static RELEASED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    fn count_release() {
        RELEASED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// The release hook runs once a large buffered body is dropped — refused over the limit,
    /// failed midway, or handed on and then dropped — on the own connections and on the shared
    /// client alike, and never for a small one.
    #[tokio::test]
    async fn large_bodies_are_released_on_both_transports() {
        use std::sync::atomic::Ordering::SeqCst;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&head).into_owned();
                    // /big: 8 MiB chunked; /ok: 1.5 MiB chunked; /cut: 4 MiB declared, 2 sent.
                    let (size, declared) = if text.starts_with("GET /big") {
                        (8 << 20, None)
                    } else if text.starts_with("GET /ok") {
                        (3 << 19, None)
                    } else if text.starts_with("GET /cut") {
                        (2 << 20, Some(4 << 20))
                    } else {
                        (10, None)
                    };
                    let framing = match declared {
                        Some(n) => format!("content-length: {n}"),
                        None => "transfer-encoding: chunked".to_string(),
                    };
                    let _ = s.write_all(format!("HTTP/1.1 200 OK\r\n{framing}\r\n\r\n").as_bytes()).await;
                    let block = vec![b'x'; 64 * 1024];
                    let mut sent = 0;
                    while sent < size {
                        let n = block.len().min(size - sent);
                        let piece = if declared.is_some() {
                            block[..n].to_vec()
                        } else {
                            [format!("{n:x}\r\n").as_bytes(), &block[..n], b"\r\n"].concat()
                        };
                        if s.write_all(&piece).await.is_err() {
                            return;
                        }
                        sent += n;
                    }
                    if declared.is_none() {
                        let _ = s.write_all(b"0\r\n\r\n").await;
                    }
                });
            }
        });
        let request = |path: &str| UpstreamRequest {
            call: CallSite { namespace: "ns".into(), operation: "op".into() },
            method: Method::GET,
            url: format!("http://127.0.0.1:{port}{path}"),
            shown_url: None,
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: UpstreamBody::None,
            auth: None,
        };
        for own_plain_http in [true, false] {
            let executor = HttpExecutor::new(ExecutorConfig {
                max_response_bytes: 4 << 20,
                own_plain_http,
                release_memory: Some(count_release),
                ..Default::default()
            });
            let before = RELEASED.load(SeqCst);
            let small = executor.send(request("/small")).await.unwrap();
            drop(small);
            assert_eq!(RELEASED.load(SeqCst), before, "a small body is left to the allocator");
            let refused = executor.send(request("/big")).await.unwrap_err();
            assert!(matches!(refused, UpstreamError::TooLarge { .. }), "{refused}");
            assert_eq!(RELEASED.load(SeqCst), before + 1, "refused (own connections: {own_plain_http})");
            let cut = executor.send(request("/cut")).await.unwrap_err();
            assert!(matches!(cut, UpstreamError::Unavailable { .. }), "{cut}");
            assert_eq!(RELEASED.load(SeqCst), before + 2, "failed midway (own connections: {own_plain_http})");
            let ok = executor.send(request("/ok")).await.unwrap();
            assert_eq!(ok.body.len(), 3 << 19);
            let piece = ok.body.slice(..10);
            drop(ok);
            assert_eq!(RELEASED.load(SeqCst), before + 2, "not while a piece of it lives");
            drop(piece);
            assert_eq!(RELEASED.load(SeqCst), before + 3, "handed on, then dropped");
        }
    }

    #[test]
    fn urls_lose_their_query_in_messages() {
        assert_eq!(redacted_url("https://a/b?key=secret"), "https://a/b");
        assert_eq!(encode_component("a b&c=é"), "a%20b%26c%3D%C3%A9");
    }
}
