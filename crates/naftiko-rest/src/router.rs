//! Routing and the request handler: match the path, check credentials, pick the operation (or
//! forward), gather inputs, invoke, render.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::{HeaderValue, Method, StatusCode, header};
use naftiko_engine::inbound::InboundAuth;
use naftiko_engine::invoke::{Engine, OutBody, Outcome};
use naftiko_engine::plan::{RestAdapter, RestOperation, Route};
use naftiko_engine::secret::Redactor;

use crate::problem::{Problem, invoke_error};
use crate::{forward, inputs};

/// What a request can match: routes by positional parameter names.
pub struct RouteTable {
    router: matchit::Router<usize>,
    routes: Vec<Route>,
}

/// A matched route with its variables as they came in the path (percent-encoded).
pub struct Matched<'a> {
    /// The route.
    pub route: &'a Route,
    params: matchit::Params<'a, 'a>,
}

impl Matched<'_> {
    /// Variables by name, percent-decoded (decoded on demand: a forwarded request needs none);
    /// the name of the first one whose bytes are not UTF-8 once decoded, if any.
    pub fn vars(&self) -> Result<Vec<(String, String)>, String> {
        // The pattern's parameters come in the order of the route's variables (`p0`, `p1`, …).
        let pairs = self.route.vars.iter().zip(self.params.iter());
        pairs
            .map(|(name, (_, raw))| match naftiko_engine::inbound::path_decode_exact(raw) {
                Some(value) => Ok((name.clone(), value.into_owned())),
                None => Err(name.clone()),
            })
            .collect()
    }

    /// The forward tail as received (still percent-encoded), for forward routes.
    pub fn raw_tail(&self) -> Option<&str> {
        self.route.forward.as_ref()?;
        self.params.iter().nth(self.route.vars.len().checked_sub(1)?).map(|(_, raw)| raw)
    }
}

/// A route that could not be served (reported at start-up; the server still starts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteWarning(pub String);

/// Shared by every request of one adapter.
pub(crate) struct State {
    pub table: RouteTable,
    pub engine: Engine,
    pub auth: Option<InboundAuth>,
}

impl RouteTable {
    /// Builds the table; routes that conflict with earlier ones are skipped with a warning.
    pub fn build(adapter: &RestAdapter) -> (RouteTable, Vec<RouteWarning>) {
        let mut router = matchit::Router::new();
        let mut routes = Vec::new();
        let mut warnings = Vec::new();
        for route in &adapter.routes {
            let pattern = matchit_pattern(route);
            match router.insert(pattern.clone(), routes.len()) {
                Ok(()) => routes.push(route.clone()),
                Err(e) => warnings.push(RouteWarning(format!("route `{}` is not served: {e}", route.path))),
            }
        }
        (RouteTable { router, routes }, warnings)
    }

    /// The route for a path (trailing slash tolerated) and its variables.
    pub fn lookup<'a>(&'a self, path: &'a str) -> Option<Matched<'a>> {
        let trimmed = if path.len() > 1 { path.trim_end_matches('/') } else { path };
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let m = self.router.at(trimmed).ok()?;
        Some(Matched { route: &self.routes[*m.value], params: m.params })
    }
}

/// `/ships/{imo}/crew` → `/ships/{p0}/crew`; a forward route's last variable catches the rest.
fn matchit_pattern(route: &Route) -> String {
    let mut out = String::new();
    let mut var_index = 0;
    let parsed = naftiko_spec::expr::parse_path_template(route.path.trim_end_matches('/'));
    let parts = parsed.map(|t| t.parts).unwrap_or_default();
    for part in &parts {
        match part {
            naftiko_spec::expr::Part::Lit(s) => out.push_str(s),
            naftiko_spec::expr::Part::Var(_) => {
                let last = var_index + 1 == route.vars.len();
                if last && route.forward.is_some() {
                    out.push_str(&format!("{{*p{var_index}}}"));
                } else {
                    out.push_str(&format!("{{p{var_index}}}"));
                }
                var_index += 1;
            }
        }
    }
    if out.is_empty() { "/".into() } else { out }
}

/// The operation a request reaches on its route: by method (HEAD served by GET), then — where
/// operations share the method because the path had a `#…` fragment — the first whose conditions
/// the request meets, else the one without conditions.
enum Pick<'r> {
    Operation(&'r Arc<RestOperation>),
    /// No operation takes the method.
    NoMethod,
    /// Operations take the method but the request meets none of their conditions.
    NoSelector(Vec<&'r Arc<RestOperation>>),
}

fn find_operation<'r>(route: &'r Route, method: &Method, headers: &http::HeaderMap, query: Option<&str>) -> Pick<'r> {
    let takes = |m: &Method| route.operations.iter().any(|o| o.method == *m);
    let method = if *method == Method::HEAD && !takes(method) { Method::GET } else { method.clone() };
    let mut plain = None;
    for op in route.operations.iter().filter(|o| o.method == method) {
        if op.selector.is_empty() {
            plain = plain.or(Some(op));
        } else if op.selector.matches(headers, query) {
            return Pick::Operation(op);
        }
    }
    match plain {
        Some(op) => Pick::Operation(op),
        None if !takes(&method) => Pick::NoMethod,
        None => Pick::NoSelector(route.operations.iter().filter(|o| o.method == method).collect()),
    }
}

/// Every request of the adapter.
pub(crate) async fn handle(state: Arc<State>, req: Request) -> Response {
    if let Some(auth) = &state.auth
        && let Err(rejection) = auth.check(req.headers(), req.uri().query())
    {
        return Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized", rejection.message)
            .header(header::WWW_AUTHENTICATE, &rejection.challenge)
            .into_response();
    }
    // Methods match case-insensitively.
    let method = if req.method().as_str().bytes().any(|b| b.is_ascii_lowercase()) {
        Method::from_bytes(req.method().as_str().to_ascii_uppercase().as_bytes())
            .unwrap_or_else(|_| req.method().clone())
    } else {
        req.method().clone()
    };
    let uri = req.uri().clone();
    let path = uri.path();
    let Some(matched) = state.table.lookup(path) else {
        return Problem::new(StatusCode::NOT_FOUND, "Not Found", format!("no route for `{path}`")).into_response();
    };
    let route = matched.route;
    let op = match find_operation(route, &method, req.headers(), uri.query()) {
        Pick::Operation(op) => op,
        Pick::NoSelector(ops) => {
            let wanted: Vec<String> = ops.iter().map(|o| format!("`{}`", o.selector.describe())).collect();
            return Problem::new(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                format!(
                    "`{method} {path}` picks its operation by a header or query parameter: send {}",
                    wanted.join(" or ")
                ),
            )
            .into_response();
        }
        Pick::NoMethod => return refuse_method(&state, route, &method, path, matched.raw_tail(), req).await,
    };
    let is_head = method == Method::HEAD;
    let vars = match matched.vars() {
        Ok(vars) => vars,
        Err(name) => {
            let detail = format!("path parameter `{name}` is refused: it is not UTF-8 once percent-decoded");
            return Problem::new(StatusCode::BAD_REQUEST, "Bad Request", detail).into_response();
        }
    };
    let inputs = match inputs::gather(op, vars, req).await {
        Ok(i) => i,
        Err(problem) => return problem.into_response(),
    };
    let result = state.engine.invoke(&op.handler, &inputs).await;
    let mut response = match result {
        Ok(outcome) => render(outcome, state.engine.redactor()),
        Err(e) => invoke_error(&e).into_response(),
    };
    if is_head {
        *response.body_mut() = Body::empty();
    }
    response
}

/// A method no operation of the route takes: forwarded when the route forwards, else OPTIONS
/// answered and anything else refused, both with `Allow`.
async fn refuse_method(
    state: &State,
    route: &Route,
    method: &Method,
    path: &str,
    raw_tail: Option<&str>,
    req: Request,
) -> Response {
    if let Some(fwd) = &route.forward {
        return std::pin::pin!(forward::forward(&state.engine, fwd, raw_tail.unwrap_or(""), req)).await;
    }
    let mut allow: Vec<&str> = Vec::new();
    for op in &route.operations {
        if !allow.contains(&op.method.as_str()) {
            allow.push(op.method.as_str());
        }
    }
    if allow.contains(&"GET") {
        allow.push("HEAD");
    }
    if *method == Method::OPTIONS {
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = StatusCode::NO_CONTENT;
        if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
            resp.headers_mut().insert(header::ALLOW, v);
        }
        return resp;
    }
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
        format!("`{path}` does not accept {method}; it accepts {}", allow.join(", ")),
    )
    .header(header::ALLOW, &allow.join(", "))
    .into_response()
}

/// Renders an outcome: 2xx/3xx/4xx as they came (shaped when mapped), 5xx as 502.
fn render(outcome: Outcome, redactor: &Redactor) -> Response {
    if outcome.status.is_server_error() {
        let call = outcome.call.map(|c| c.to_string()).unwrap_or_else(|| "the upstream".into());
        // The upstream's words, without a bind value it may have echoed.
        let excerpt = redactor.scrub(&outcome.body.excerpt(300)).into_owned();
        let detail = if excerpt.is_empty() {
            format!("upstream {call} answered {}", outcome.status)
        } else {
            format!("upstream {call} answered {}: {excerpt}", outcome.status)
        };
        return Problem::new(StatusCode::BAD_GATEWAY, "Bad Gateway", detail)
            .upstream_status(outcome.status)
            .into_response();
    }
    let mut resp = match outcome.body {
        OutBody::Json(v) => {
            let mut r = Response::new(Body::from(serde_json::to_vec(&v).unwrap_or_default()));
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
        OutBody::Raw { bytes, content_type } => {
            let mut r = Response::new(Body::from(bytes));
            if let Some(v) = content_type.and_then(|ct| HeaderValue::from_str(&ct).ok()) {
                r.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            r
        }
        OutBody::JsonText(bytes) => {
            let mut r = Response::new(Body::from(bytes));
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
        OutBody::Empty => Response::new(Body::empty()),
    };
    *resp.status_mut() = outcome.status;
    resp
}
