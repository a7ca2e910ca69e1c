//! Typed upstream failures. Each names the call and the URL as shown (bind values as `***`)
//! without its query string, and never contains a secret.

use std::time::Duration;

use http::Method;

use crate::CallSite;

/// Why an upstream exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Connection refused, DNS or TLS failure, reset.
    #[error("upstream {call} ({method} {url}) is unavailable: {reason}")]
    Unavailable {
        /// The call.
        call: CallSite,
        /// Its method.
        method: Method,
        /// Its URL without query.
        url: String,
        /// What happened.
        reason: String,
    },
    /// Connect or total timeout.
    #[error("upstream {call} ({method} {url}) timed out after {}", human(*.after))]
    Timeout {
        /// The call.
        call: CallSite,
        /// Its method.
        method: Method,
        /// Its URL without query.
        url: String,
        /// The timeout that expired.
        after: Duration,
    },
    /// The response body exceeded the limit.
    #[error("upstream {call} ({method} {url}) answered more than {limit} bytes")]
    TooLarge {
        /// The call.
        call: CallSite,
        /// Its method.
        method: Method,
        /// Its URL without query.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The request could not be built (bad URL or header).
    #[error("request to upstream {call} ({method} {url}) cannot be sent: {reason}")]
    InvalidRequest {
        /// The call.
        call: CallSite,
        /// Its method.
        method: Method,
        /// Its URL without query.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// Digest authentication could not be completed.
    #[error("digest authentication with upstream {call} ({method} {url}) failed: {reason}")]
    DigestFailed {
        /// The call.
        call: CallSite,
        /// Its method.
        method: Method,
        /// Its URL without query.
        url: String,
        /// What is wrong.
        reason: String,
    },
}

fn human(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) { format!("{}s", d.as_secs()) } else { format!("{}ms", d.as_millis()) }
}

impl UpstreamError {
    /// The HTTP status a REST adapter answers with: 504 for timeouts, 502 otherwise.
    pub fn status_hint(&self) -> u16 {
        match self {
            UpstreamError::Timeout { .. } => 504,
            _ => 502,
        }
    }

    /// The call that failed.
    pub fn call(&self) -> &CallSite {
        match self {
            UpstreamError::Unavailable { call, .. }
            | UpstreamError::Timeout { call, .. }
            | UpstreamError::TooLarge { call, .. }
            | UpstreamError::InvalidRequest { call, .. }
            | UpstreamError::DigestFailed { call, .. } => call,
        }
    }

    /// The same error with every value `redactor` knows scrubbed from its URL and reason (the
    /// safety net behind the URL's display form: a bind value can reach a URL indirectly, through
    /// a `with` mapping, say).
    pub fn redacted(mut self, redactor: &crate::secret::Redactor) -> UpstreamError {
        if redactor.is_empty() {
            return self;
        }
        match &mut self {
            UpstreamError::Unavailable { url, reason, .. }
            | UpstreamError::InvalidRequest { url, reason, .. }
            | UpstreamError::DigestFailed { url, reason, .. } => {
                redactor.scrub_in_place(url);
                redactor.scrub_in_place(reason);
            }
            UpstreamError::Timeout { url, .. } | UpstreamError::TooLarge { url, .. } => redactor.scrub_in_place(url),
        }
        self
    }

    pub(crate) fn from_reqwest(
        call: &CallSite,
        method: &Method,
        url: &str,
        deadline: Duration,
        e: &reqwest::Error,
    ) -> UpstreamError {
        let url = super::redacted_url(url);
        if e.is_timeout() {
            return UpstreamError::Timeout { call: call.clone(), method: method.clone(), url, after: deadline };
        }
        let reason = if e.is_connect() {
            // The innermost cause says what happened ("Connection refused"); it never holds the query.
            let mut source: Option<&dyn std::error::Error> = Some(e);
            let mut last = String::from("connection failed");
            while let Some(s) = source {
                last = s.to_string();
                source = s.source();
            }
            format!("cannot connect ({})", last.split(" (os error").next().unwrap_or(&last))
        } else if e.is_body() || e.is_decode() {
            "the response body could not be read".to_string()
        } else if e.is_request() {
            "the request could not be sent".to_string()
        } else {
            "the exchange failed".to_string()
        };
        UpstreamError::Unavailable { call: call.clone(), method: method.clone(), url, reason }
    }
}
