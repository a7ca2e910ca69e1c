//! The Skill adapter (`type: skill`): a read-only catalogue of agent skills over HTTP.
//!
//! `GET /skills` lists them; `/skills/{name}` describes one with its tools (derived from a REST
//! or MCP adapter's operation, or an instruction file); `/skills/{name}/download` zips its
//! directory; `/skills/{name}/contents` lists its files and `/contents/{file}` serves one.
//! File paths never leave the skill's directory. Nothing is executed here.

#![warn(missing_docs)]

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};
use naftiko_engine::plan::{SkillAdapter, SkillPlan, SkillToolKind};
use serde_json::{Map, Value, json};

use naftiko_engine::files::{self, FileError, list_files, resolve_inside};

struct Catalog {
    adapter: SkillAdapter,
}

/// Builds the application for one Skill adapter.
pub fn app(adapter: &SkillAdapter) -> Router {
    let state = Arc::new(Catalog { adapter: adapter.clone() });
    let router = Router::new()
        .route("/skills", get(list))
        .route("/skills/{name}", get(describe))
        .route("/skills/{name}/download", get(download))
        .route("/skills/{name}/contents", get(contents))
        .route("/skills/{name}/contents/{*file}", get(file))
        .fallback(|| async { problem(StatusCode::NOT_FOUND, "no such skill endpoint") })
        .with_state(state.clone());
    match &adapter.listener.auth {
        Some(_) => router.layer(middleware::from_fn_with_state(state, authenticate)),
        None => router,
    }
}

/// Serves one Skill adapter on `listener` under `policy` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    adapter: &SkillAdapter,
    policy: naftiko_http::ConnectionPolicy,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    naftiko_http::server::serve_router(listener, policy, app(adapter), shutdown).await
}

async fn authenticate(State(c): State<Arc<Catalog>>, req: Request, next: Next) -> Response {
    if let Some(auth) = &c.adapter.listener.auth
        && let Err(r) = auth.check(req.headers(), req.uri().query())
    {
        return r.problem_response().map(Body::from);
    }
    next.run(req).await
}

fn problem(status: StatusCode, detail: &str) -> Response {
    let body = json!({"type": "about:blank", "title": status.canonical_reason().unwrap_or(""), "status": status.as_u16(), "detail": detail});
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    r
}

fn json_response(v: Value) -> Response {
    let mut r = Response::new(Body::from(v.to_string()));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

impl Catalog {
    fn skill(&self, name: &str) -> Option<&SkillPlan> {
        self.adapter.skills.iter().find(|s| s.name == name)
    }
}

fn unknown(name: &str) -> Response {
    problem(StatusCode::NOT_FOUND, &format!("no skill named `{name}`"))
}

async fn list(State(c): State<Arc<Catalog>>) -> Response {
    let skills: Vec<Value> = c
        .adapter
        .skills
        .iter()
        .map(|s| {
            let mut o = Map::new();
            o.insert("name".into(), json!(s.name));
            o.insert("description".into(), json!(s.description));
            if let Some(l) = s.metadata.get("license") {
                o.insert("license".into(), l.clone());
            }
            o.insert("tools".into(), json!(s.tools.iter().map(|t| t.name.clone()).collect::<Vec<_>>()));
            Value::Object(o)
        })
        .collect();
    json_response(json!({"count": skills.len(), "skills": skills}))
}

async fn describe(State(c): State<Arc<Catalog>>, Path(name): Path<String>) -> Response {
    let Some(s) = c.skill(&name) else { return unknown(&name) };
    let mut o = Map::new();
    o.insert("name".into(), json!(s.name));
    o.insert("description".into(), json!(s.description));
    for (k, v) in &s.metadata {
        o.insert(k.clone(), v.clone());
    }
    let tools: Vec<Value> = s
        .tools
        .iter()
        .map(|t| match &t.kind {
            SkillToolKind::Derived { target_namespace, action, mode } => json!({
                "name": t.name,
                "description": t.description,
                "type": "derived",
                "invocationRef": {"targetNamespace": target_namespace, "action": action, "mode": mode},
            }),
            SkillToolKind::Instruction(file) => {
                json!({"name": t.name, "description": t.description, "type": "instruction", "instruction": file})
            }
        })
        .collect();
    o.insert("tools".into(), Value::Array(tools));
    json_response(Value::Object(o))
}

async fn contents(State(c): State<Arc<Catalog>>, Path(name): Path<String>) -> Response {
    let Some(s) = c.skill(&name) else { return unknown(&name) };
    let Some(dir) = s.dir.clone() else {
        return json_response(json!({"name": s.name, "files": []}));
    };
    match tokio::task::spawn_blocking(move || list_files(&dir)).await {
        Ok(Ok(files)) => {
            let files: Vec<Value> = files
                .iter()
                .map(|f| json!({"path": f.path, "size": f.size, "type": files::media_type(&f.path)}))
                .collect();
            json_response(json!({"name": s.name, "files": files}))
        }
        _ => problem(StatusCode::INTERNAL_SERVER_ERROR, "the skill's files cannot be listed"),
    }
}

async fn file(State(c): State<Arc<Catalog>>, Path((name, file)): Path<(String, String)>, req: Request) -> Response {
    let Some(s) = c.skill(&name) else { return unknown(&name) };
    let Some(dir) = s.dir.clone() else {
        return problem(StatusCode::NOT_FOUND, &format!("skill `{name}` has no files"));
    };
    // Validate the path as the client sent it (percent-encoded), not as decoded by the router.
    let raw = req.uri().path().split_once("/contents/").map(|(_, r)| r.to_string()).unwrap_or(file);
    let resolved = tokio::task::spawn_blocking(move || {
        resolve_inside(&dir, &raw).and_then(|p| std::fs::read(&p).map(|b| (p, b)).map_err(|_| FileError::NotFound))
    })
    .await;
    match resolved {
        Ok(Ok((path, bytes))) => {
            let mut r = Response::new(Body::from(bytes));
            if let Ok(v) = HeaderValue::from_str(files::media_type(&path.to_string_lossy())) {
                r.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            r
        }
        Ok(Err(FileError::Rejected(why))) => problem(StatusCode::BAD_REQUEST, &why),
        Ok(Err(FileError::NotFound)) => problem(StatusCode::NOT_FOUND, "no such file in this skill"),
        Err(_) => problem(StatusCode::INTERNAL_SERVER_ERROR, "the file cannot be read"),
    }
}

async fn download(State(c): State<Arc<Catalog>>, Path(name): Path<String>) -> Response {
    let Some(s) = c.skill(&name) else { return unknown(&name) };
    let Some(dir) = s.dir.clone() else {
        return problem(StatusCode::NOT_FOUND, &format!("skill `{name}` has no files"));
    };
    let skill_name = s.name.clone();
    match tokio::task::spawn_blocking(move || files::zip_dir(&dir)).await {
        Ok(Ok(bytes)) => {
            let mut r = Response::new(Body::from(bytes));
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{skill_name}.zip\"")) {
                r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        _ => problem(StatusCode::INTERNAL_SERVER_ERROR, "the skill cannot be packaged").into_response(),
    }
}
