//! Runtime errors as `application/problem+json` (RFC 9457): `{type, title, status, detail,
//! errors?}` — never a stack trace, never a secret.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderName, HeaderValue, StatusCode, header};
use naftiko_engine::http::UpstreamError;
use naftiko_engine::invoke::InvokeError;
use serde_json::{Value, json};

/// One invalid input: which parameter, where, what is wrong.
#[derive(Debug, Clone)]
pub(crate) struct FieldError {
    pub name: String,
    pub location: String,
    pub message: String,
}

/// A problem response under construction.
#[derive(Debug)]
pub(crate) struct Problem {
    status: StatusCode,
    title: String,
    detail: String,
    errors: Vec<FieldError>,
    upstream_status: Option<StatusCode>,
    headers: Vec<(HeaderName, String)>,
}

impl Problem {
    pub fn new(status: StatusCode, title: impl Into<String>, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            title: title.into(),
            detail: detail.into(),
            errors: Vec::new(),
            upstream_status: None,
            headers: Vec::new(),
        }
    }

    pub fn errors(mut self, errors: Vec<FieldError>) -> Problem {
        self.errors = errors;
        self
    }

    pub fn upstream_status(mut self, s: StatusCode) -> Problem {
        self.upstream_status = Some(s);
        self
    }

    pub fn header(mut self, name: HeaderName, value: &str) -> Problem {
        self.headers.push((name, value.to_string()));
        self
    }

    pub fn into_response(self) -> Response {
        let mut body = json!({
            "type": "about:blank",
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if !self.errors.is_empty() {
            body["errors"] = Value::Array(
                self.errors.iter().map(|e| json!({"name": e.name, "in": e.location, "message": e.message})).collect(),
            );
        }
        if let Some(s) = self.upstream_status {
            body["upstreamStatus"] = json!(s.as_u16());
        }
        let mut resp = Response::new(Body::from(body.to_string()));
        *resp.status_mut() = self.status;
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().insert(name, v);
            }
        }
        resp
    }
}

/// The problem for an engine error.
pub(crate) fn invoke_error(e: &InvokeError) -> Problem {
    match e {
        InvokeError::Input(problems) => {
            let errors: Vec<FieldError> = problems
                .iter()
                .map(|p| FieldError { name: p.name.clone(), location: p.location.clone(), message: p.message.clone() })
                .collect();
            let detail = problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; ");
            Problem::new(StatusCode::BAD_REQUEST, "Invalid request", detail).errors(errors)
        }
        InvokeError::Upstream(u) => {
            let status = match u {
                UpstreamError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::BAD_GATEWAY,
            };
            let title = if status == StatusCode::GATEWAY_TIMEOUT { "Gateway Timeout" } else { "Bad Gateway" };
            Problem::new(status, title, u.to_string())
        }
        InvokeError::Decode { .. } | InvokeError::StepFailed { .. } => {
            Problem::new(StatusCode::BAD_GATEWAY, "Bad Gateway", e.to_string())
        }
        InvokeError::NotImplemented(why) => Problem::new(StatusCode::NOT_IMPLEMENTED, "Not Implemented", why.clone()),
    }
}
