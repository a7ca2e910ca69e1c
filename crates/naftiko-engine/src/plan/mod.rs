//! Compiling a checked document into the immutable plan every adapter serves from.
//!
//! Nothing on the request path parses YAML, JSONPath or templates, or looks a name up in the
//! document: consumed operations become [`RequestPlan`]s, exposed operations and tools become
//! [`Handler`]s, routes and tool schemas are prepared, and bind values are resolved once.

pub mod declared;
pub mod handler;
pub mod request;
pub mod schema;
pub mod selector;
pub mod shape;

use std::collections::HashMap;
use std::sync::Arc;

use http::{HeaderName, Method};
use naftiko_spec::diag::{Code, Diagnostic};
use naftiko_spec::model::{Adapter, Consumes, Document, Hints, McpPrompt, McpResource, ParamIn, Sp};
use naftiko_spec::source::Span;
use serde_json::Value;

use crate::binds::BindValues;
use crate::expr::{Tpl, Vocabulary};
use crate::inbound::InboundAuth;
use crate::secret::Secret;
use declared::DeclaredInput;
use handler::Context;
pub use handler::Handler;
use request::AuthPlan;
pub use request::RequestPlan;

/// Settings that change what is compiled.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--base-uri NAMESPACE=URL` overrides; `*` applies to every namespace.
    pub base_uris: Vec<(String, String)>,
    /// The capability file's directory (relative `file:///./…` locations resolve against it).
    pub base_dir: Option<std::path::PathBuf>,
}

/// The compiled capability.
#[derive(Debug, Clone)]
pub struct Capability {
    /// Consumed operations by `namespace.operation`.
    pub operations: HashMap<String, Arc<RequestPlan>>,
    /// REST adapters.
    pub rest: Vec<RestAdapter>,
    /// MCP adapters.
    pub mcp: Vec<McpAdapter>,
    /// Skill adapters.
    pub skill: Vec<SkillAdapter>,
    /// Control (management) adapters.
    pub control: Vec<ControlAdapter>,
    /// The names templates can use (binds and reference prefixes).
    pub vocab: Vocabulary,
}

/// What adapters share: where they listen and who may call them.
#[derive(Debug, Clone)]
pub struct Listener {
    /// The adapter namespace.
    pub namespace: String,
    /// Address to bind (`127.0.0.1` unless the document asks otherwise).
    pub address: String,
    /// Port (0 = any free port).
    pub port: u16,
    /// Inbound authentication.
    pub auth: Option<InboundAuth>,
    /// The adapter `description`.
    pub description: Option<String>,
}

/// A compiled REST adapter.
#[derive(Debug, Clone)]
pub struct RestAdapter {
    /// Address, port, credentials.
    pub listener: Listener,
    /// Routes, resources with the same path merged, in declaration order.
    pub routes: Vec<Route>,
}

/// One route.
#[derive(Debug, Clone)]
pub struct Route {
    /// The path as declared (with `{x}` or `{{x}}` parameters), `/` prefixed.
    pub path: String,
    /// Route variables, in order.
    pub vars: Vec<String>,
    /// Operations by method, first declaration wins.
    pub operations: Vec<Arc<RestOperation>>,
    /// Passthrough for the methods no operation handles.
    pub forward: Option<Arc<ForwardPlan>>,
}

/// A compiled REST operation.
#[derive(Debug, Clone)]
pub struct RestOperation {
    /// Its method.
    pub method: Method,
    /// Its name (for logs).
    pub name: String,
    /// Declared inputs (resource level, then operation level).
    pub declared: Vec<DeclaredInput>,
    /// What it executes.
    pub handler: Handler,
    /// A one-line summary for the start-up log ("calls kombo-general.getcheckapikey").
    pub summary: String,
    /// What a request must carry to reach this operation when its path had a `#…` fragment
    /// (empty otherwise).
    pub selector: selector::Selector,
}

/// A compiled `forward` (SEMANTICS §7).
#[derive(Debug, Clone)]
pub struct ForwardPlan {
    /// The consumed namespace.
    pub namespace: String,
    /// The target base URI (bind variables resolved).
    pub base_uri: String,
    /// The base URI as logs, messages and dry runs show it: bind values as `***`. `None` when
    /// `base_uri` holds none and can be shown as it is.
    pub base_shown: Option<String>,
    /// The base URI taken apart once, when it is in plain form: what each forwarded URL is
    /// checked to stay inside of.
    pub base_plain: Option<crate::http::Plain<'static>>,
    /// The route variable that captures the tail (the path's last placeholder), if any.
    pub tail_var: Option<String>,
    /// Request headers callers may pass upstream (lower case; never a hop-by-hop field, `Host`
    /// or `Content-Length`).
    pub trusted_headers: Vec<HeaderName>,
    /// Consumes-level header parameters (`value` templates over binds).
    pub headers: Vec<(HeaderName, Tpl)>,
    /// The target's authentication.
    pub auth: Option<AuthPlan>,
}

impl ForwardPlan {
    /// The base URI to show people (bind values as `***`).
    pub fn shown_base(&self) -> &str {
        self.base_shown.as_deref().unwrap_or(&self.base_uri)
    }

    /// How to show `url`, a target built on [`Self::base_uri`]: `None` when it can be shown as
    /// it is, else the same URL with the shown base in front.
    pub fn shown_url(&self, url: &str) -> Option<String> {
        let shown = self.base_shown.as_deref()?;
        let base = self.base_uri.trim_end_matches('/');
        Some(match url.strip_prefix(base) {
            Some(rest) => format!("{}{rest}", shown.trim_end_matches('/')),
            None => shown.to_string(),
        })
    }
}

/// A compiled MCP adapter.
#[derive(Debug, Clone)]
pub struct McpAdapter {
    /// Address, port, credentials.
    pub listener: Listener,
    /// `stdio` instead of HTTP.
    pub stdio: bool,
    /// Tools, in declaration order.
    pub tools: Vec<Arc<Tool>>,
    /// Resources as declared.
    pub resources: Vec<(McpResource, Option<Handler>)>,
    /// Prompts as declared.
    pub prompts: Vec<McpPrompt>,
}

/// A compiled control adapter: health and status endpoints for operators and orchestrators.
#[derive(Debug, Clone)]
pub struct ControlAdapter {
    /// Address (127.0.0.1 unless the document says otherwise), port, credentials; the namespace
    /// is `control` when the document gives none (for `--listen control=…`).
    pub listener: Listener,
    /// `management.health` (default true): `GET /health/live`, `GET /health/ready`.
    pub health: bool,
    /// `management.info` (default false): `GET /status`.
    pub info: bool,
    /// The capability's `info.label`, for `/status`.
    pub label: Option<String>,
    /// The document's `naftiko:` version, for `/status`.
    pub spec_version: String,
}

/// A compiled Skill adapter: a read-only catalogue of agent skills.
#[derive(Debug, Clone)]
pub struct SkillAdapter {
    /// Address, port, credentials.
    pub listener: Listener,
    /// The skills, in declaration order.
    pub skills: Vec<SkillPlan>,
}

/// One skill.
#[derive(Debug, Clone)]
pub struct SkillPlan {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The skill's files: a `file:///` location resolved to a directory.
    pub dir: Option<std::path::PathBuf>,
    /// Every other declared field (license, metadata, …), as written.
    pub metadata: serde_json::Map<String, Value>,
    /// Its tools.
    pub tools: Vec<SkillToolPlan>,
}

/// A skill tool.
#[derive(Debug, Clone)]
pub struct SkillToolPlan {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// What it is.
    pub kind: SkillToolKind,
}

/// Derived from an adapter's tool or operation, or an instruction file.
#[derive(Debug, Clone)]
pub enum SkillToolKind {
    /// Invokes `action` of the adapter `target_namespace` (`mode` is `rest` or `mcp`).
    Derived {
        /// The source adapter namespace.
        target_namespace: String,
        /// The tool or operation name.
        action: String,
        /// `rest` or `mcp`.
        mode: &'static str,
    },
    /// A file of the skill's directory.
    Instruction(String),
}

/// A compiled MCP tool.
#[derive(Debug, Clone)]
pub struct Tool {
    /// Name.
    pub name: String,
    /// Title (`label`).
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Arguments schema.
    pub input_schema: Value,
    /// Result schema, when the outputs declare a shape.
    pub output_schema: Option<Value>,
    /// Hints (from `hints`, or derived from aggregate `semantics`).
    pub hints: Hints,
    /// What it executes.
    pub handler: Handler,
}

fn listener_of(e: &naftiko_spec::model::Exposes, vocab: &Vocabulary, errors: &mut Vec<Diagnostic>) -> Listener {
    let auth = match &e.authentication {
        Some(a) => match InboundAuth::compile(a, vocab) {
            Ok(a) => Some(a),
            Err(m) => {
                errors.push(diag(a.span, m));
                None
            }
        },
        None => None,
    };
    Listener {
        namespace: e.namespace.as_ref().map(|n| n.value.clone()).unwrap_or_default(),
        address: e.address.as_ref().map(|a| a.value.clone()).unwrap_or_else(|| "127.0.0.1".into()),
        port: e.port.as_ref().map(|p| p.value).unwrap_or(0),
        auth,
        description: e.description.as_ref().map(|d| d.value.clone()),
    }
}

fn compile_skills(
    e: &naftiko_spec::model::Exposes,
    s: &naftiko_spec::model::SkillAdapter,
    doc: &Document,
    vocab: &Vocabulary,
    base_dir: &std::path::Path,
    errors: &mut Vec<Diagnostic>,
) -> SkillAdapter {
    let listener = listener_of(e, vocab, errors);
    let skills = s
        .skills
        .iter()
        .map(|sk| {
            let tools = sk
                .tools
                .iter()
                .map(|t| {
                    let kind = match (&t.source_namespace, &t.instruction) {
                        (Some(src), _) => {
                            let mode = doc
                                .exposes
                                .iter()
                                .find(|x| x.namespace.as_ref().is_some_and(|n| n.value == src.value))
                                .map(|x| if matches!(x.adapter, Adapter::Mcp(_)) { "mcp" } else { "rest" })
                                .unwrap_or("rest");
                            SkillToolKind::Derived {
                                target_namespace: src.value.clone(),
                                action: t.action.as_ref().map(|a| a.value.clone()).unwrap_or_default(),
                                mode,
                            }
                        }
                        (None, Some(i)) => SkillToolKind::Instruction(i.value.clone()),
                        (None, None) => SkillToolKind::Instruction(String::new()),
                    };
                    SkillToolPlan {
                        name: t.name.as_ref().map(|n| n.value.clone()).unwrap_or_default(),
                        description: t.description.as_ref().map(|d| d.value.clone()),
                        kind,
                    }
                })
                .collect();
            SkillPlan {
                name: sk.name.as_ref().map(|n| n.value.clone()).unwrap_or_default(),
                description: sk.description.as_ref().map(|d| d.value.clone()),
                dir: sk
                    .location
                    .as_ref()
                    .map(|l| naftiko_spec::load::resolve_location(&l.value, &base_dir.join("capability.yaml"))),
                metadata: sk.metadata.clone(),
                tools,
            }
        })
        .collect();
    SkillAdapter { listener, skills }
}

fn diag(span: Span, message: impl Into<String>) -> Diagnostic {
    Diagnostic::new(Code::InvalidValue, span, message)
}

impl Capability {
    /// What keeps the capability's bind values out of text for people (errors, logs): give it
    /// to the executor ([`crate::http::ExecutorConfig::redactor`]) and the program's log writer.
    pub fn redactor(&self) -> crate::secret::Redactor {
        crate::secret::Redactor::new(self.vocab.binds.values())
    }

    /// Compiles a document whose checks passed. Errors are diagnostics (they should not occur
    /// for a checked document, but a bad `--base-uri` or bind value can cause them).
    pub fn compile(doc: &Document, binds: &BindValues, options: &Options) -> Result<Capability, Vec<Diagnostic>> {
        let base_dir = options.base_dir.as_deref().unwrap_or(std::path::Path::new("."));
        let mut errors = Vec::new();
        let vocab = vocabulary(doc, binds);
        let mut operations = HashMap::new();
        let mut forwards: HashMap<String, Consumes> = HashMap::new();
        for c in &doc.consumes {
            let mut c = c.clone();
            if let Some((_, url)) = options
                .base_uris
                .iter()
                .find(|(ns, _)| ns == &c.namespace.value)
                .or_else(|| options.base_uris.iter().find(|(ns, _)| ns == "*"))
            {
                let span = c.base_uri.as_ref().map(|b| b.span).unwrap_or(c.span);
                c.base_uri = Some(Sp::new(url.clone(), span));
            }
            for (r, op) in c.operations() {
                let Some(name) = &op.name else { continue };
                let key = format!("{}.{}", c.namespace.value, name.value);
                if operations.contains_key(&key) {
                    continue;
                }
                match RequestPlan::compile(&c, r, op, &vocab) {
                    Ok(plan) => {
                        operations.insert(key, Arc::new(plan));
                    }
                    Err(e) => errors.push(diag(op.span, format!("operation `{key}`: {e}"))),
                }
            }
            forwards.entry(c.namespace.value.clone()).or_insert(c);
        }
        let cx = Context { doc, operations: &operations, vocab: &vocab };
        let mut rest = Vec::new();
        let mut mcp = Vec::new();
        for e in &doc.exposes {
            if !matches!(e.adapter, Adapter::Rest(_) | Adapter::Mcp(_)) {
                continue;
            }
            let listener = listener_of(e, &vocab, &mut errors);
            let namespace = listener.namespace.clone();
            match &e.adapter {
                Adapter::Rest(r) => {
                    let prefixes = vec![namespace.clone(), "rest".to_string()];
                    let mut routes: Vec<Route> = Vec::new();
                    for res in &r.resources {
                        let Some(path) = &res.path else { continue };
                        // Operations on one path told apart by a `#…` fragment share its route.
                        let (path_only, selector) = selector::split_fragment(&path.value);
                        let path_text =
                            if path_only.starts_with('/') { path_only.to_string() } else { format!("/{path_only}") };
                        let vars: Vec<String> = naftiko_spec::expr::parse_path_template(&path_text)
                            .map(|t| t.vars().map(str::to_owned).collect())
                            .unwrap_or_default();
                        let key = route_key(&path_text);
                        let idx = match routes.iter().position(|r| route_key(&r.path) == key) {
                            Some(i) => i,
                            None => {
                                routes.push(Route {
                                    path: path_text.clone(),
                                    vars: vars.clone(),
                                    operations: Vec::new(),
                                    forward: None,
                                });
                                routes.len() - 1
                            }
                        };
                        for op in &res.operations {
                            let method_text = op
                                .method
                                .as_ref()
                                .map(|m| m.value.trim().to_ascii_uppercase())
                                .unwrap_or_else(|| "GET".into());
                            let Ok(method) = Method::from_bytes(method_text.as_bytes()) else { continue };
                            if routes[idx].operations.iter().any(|o| o.method == method && o.selector == selector) {
                                continue;
                            }
                            let mut declared = Vec::new();
                            for p in res.input_parameters.iter().chain(&op.input_parameters) {
                                match DeclaredInput::compile(p, &vars, &method) {
                                    Ok(d) => {
                                        declared.retain(|x: &DeclaredInput| x.name != d.name);
                                        declared.push(d)
                                    }
                                    Err(m) => errors.push(diag(p.span, m)),
                                }
                            }
                            match Handler::compile(&op.handler, &cx, &prefixes) {
                                Ok(handler) => {
                                    let summary = summarize(&handler);
                                    routes[idx].operations.push(Arc::new(RestOperation {
                                        method,
                                        name: op.name.as_ref().map(|n| n.value.clone()).unwrap_or_default(),
                                        declared,
                                        handler,
                                        summary,
                                        selector: selector.clone(),
                                    }))
                                }
                                Err(m) => errors.push(diag(op.span, m)),
                            }
                        }
                        if let Some(f) = &res.forward
                            && routes[idx].forward.is_none()
                        {
                            match compile_forward(f, &vars, &forwards, &vocab) {
                                Ok(p) => routes[idx].forward = Some(Arc::new(p)),
                                Err(m) => errors.push(diag(f.span, m)),
                            }
                        }
                    }
                    rest.push(RestAdapter { listener, routes });
                }
                Adapter::Mcp(m) => {
                    let prefixes = vec![namespace.clone(), "tools".to_string(), "mcp".to_string()];
                    let mut tools = Vec::new();
                    for t in &m.tools {
                        let Some(name) = &t.name else { continue };
                        if tools.iter().any(|x: &Arc<Tool>| x.name == name.value) {
                            continue;
                        }
                        match Handler::compile(&t.handler, &cx, &prefixes) {
                            Ok(handler) => {
                                let mut hints = t.hints.clone().unwrap_or_default();
                                let mut description = t.description.as_ref().map(|d| d.value.clone());
                                if let Some(r) = &t.handler.reference
                                    && let Some((_, f)) = doc.resolve_ref(&r.value)
                                {
                                    if let Some(s) = &f.semantics {
                                        if s.safe == Some(true) {
                                            hints.read_only = hints.read_only.or(Some(true));
                                            hints.destructive = hints.destructive.or(Some(false));
                                        } else if s.safe == Some(false) {
                                            hints.read_only = hints.read_only.or(Some(false));
                                        }
                                        hints.idempotent = hints.idempotent.or(s.idempotent);
                                    }
                                    if description.is_none() {
                                        description = f.description.as_ref().map(|d| d.value.clone());
                                    }
                                }
                                let input_schema =
                                    schema::input_schema(&t.input_parameters, &t.handler, doc, &prefixes);
                                let output_schema = handler
                                    .output
                                    .schema()
                                    .filter(|s| s.get("type").and_then(Value::as_str) == Some("object"));
                                tools.push(Arc::new(Tool {
                                    name: name.value.clone(),
                                    title: t.label.as_ref().map(|l| l.value.clone()),
                                    description,
                                    input_schema,
                                    output_schema,
                                    hints,
                                    handler,
                                }));
                            }
                            Err(msg) => errors.push(diag(t.span, msg)),
                        }
                    }
                    let mut resources = Vec::new();
                    for r in &m.resources {
                        let handler = if r.location.is_none() {
                            match Handler::compile(&r.handler, &cx, &prefixes) {
                                Ok(h) => Some(h),
                                Err(msg) => {
                                    errors.push(diag(r.span, msg));
                                    None
                                }
                            }
                        } else {
                            None
                        };
                        resources.push((r.clone(), handler));
                    }
                    mcp.push(McpAdapter {
                        listener,
                        stdio: m.transport.as_ref().is_some_and(|t| t.value == "stdio"),
                        tools,
                        resources,
                        prompts: m.prompts.clone(),
                    });
                }
                _ => {}
            }
        }
        let skill = doc
            .exposes
            .iter()
            .filter_map(|e| match &e.adapter {
                Adapter::Skill(s) => Some((e, s)),
                _ => None,
            })
            .map(|(e, s)| compile_skills(e, s, doc, &vocab, base_dir, &mut errors))
            .collect();
        let control = doc
            .exposes
            .iter()
            .filter_map(|e| match &e.adapter {
                Adapter::Control(c) => Some((e, c)),
                _ => None,
            })
            .map(|(e, c)| {
                let mut listener = listener_of(e, &vocab, &mut errors);
                if listener.namespace.is_empty() {
                    listener.namespace = "control".into();
                }
                ControlAdapter {
                    listener,
                    health: c.health.unwrap_or(true),
                    info: c.info.unwrap_or(false),
                    label: doc.info.as_ref().and_then(|i| i.label.as_ref()).map(|l| l.value.clone()),
                    spec_version: doc.version.value.as_str().to_string(),
                }
            })
            .collect();
        if errors.is_empty() { Ok(Capability { operations, rest, mcp, skill, control, vocab }) } else { Err(errors) }
    }
}

/// The vocabulary of templates: bind values, `in: environment` parameters, reference prefixes.
fn vocabulary(doc: &Document, binds: &BindValues) -> Vocabulary {
    let mut binds = binds.clone();
    for c in &doc.consumes {
        for p in &c.input_parameters {
            if p.location.value == ParamIn::Environment
                && let Ok(v) = std::env::var(&p.name.value)
            {
                binds.entry(p.name.value.clone()).or_insert_with(|| Secret::new(v));
            }
        }
    }
    let mut input_prefixes: Vec<String> = vec!["rest".into(), "tools".into(), "mcp".into()];
    input_prefixes.extend(doc.exposes.iter().filter_map(|e| e.namespace.as_ref().map(|n| n.value.clone())));
    input_prefixes.extend(doc.aggregates.iter().filter_map(|a| a.namespace.as_ref().map(|n| n.value.clone())));
    Vocabulary { binds, input_prefixes }
}

/// Paths that differ only in variable names are one route.
fn route_key(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match naftiko_spec::expr::parse_path_template(trimmed) {
        Ok(t) => t
            .parts
            .iter()
            .map(|p| match p {
                naftiko_spec::expr::Part::Lit(s) => s.clone(),
                naftiko_spec::expr::Part::Var(_) => "{}".into(),
            })
            .collect(),
        Err(_) => trimmed.to_string(),
    }
}

fn summarize(h: &Handler) -> String {
    match &h.kind {
        handler::Kind::Simple(p) => format!("calls {}", p.call),
        handler::Kind::Orchestrated(o) => format!("runs {} steps", o.steps.len()),
        handler::Kind::Mock => "answers mock values".into(),
        handler::Kind::Unimplemented(_) => "is not implemented (501)".into(),
    }
}

fn compile_forward(
    f: &naftiko_spec::model::Forward,
    vars: &[String],
    consumes: &HashMap<String, Consumes>,
    vocab: &Vocabulary,
) -> Result<ForwardPlan, String> {
    let target = f.target_namespace.as_ref().ok_or("`forward` has no `targetNamespace`")?;
    let c =
        consumes.get(&target.value).ok_or_else(|| format!("`forward` targets unknown namespace `{}`", target.value))?;
    let base_text = c.base_uri.as_ref().map(|b| b.value.as_str()).unwrap_or_default();
    let base_tpl = vocab.compile(&naftiko_spec::expr::parse_path_template(base_text).map_err(|e| e.message)?)?;
    let inputs = crate::inputs::Inputs::new();
    let (base_uri, missing) = base_tpl.render(&crate::expr::Scope::of(&inputs));
    if let Some(m) = missing {
        return Err(format!("the forward target's `baseUri` needs `{m}`, which is not a bind variable"));
    }
    let base_shown = base_tpl
        .uses_binds()
        .then(|| base_tpl.render(&crate::expr::Scope { redact: true, ..crate::expr::Scope::of(&inputs) }).0);
    let headers = c
        .input_parameters
        .iter()
        .filter(|p| p.location.value == ParamIn::Header)
        .filter_map(|p| {
            let name = HeaderName::from_bytes(p.name.value.as_bytes()).ok()?;
            let text = p.value.as_ref().map(|v| crate::expr::value_text(&v.value).into_owned())?;
            Some(vocab.template(&text).map(|t| (name, t)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let auth = match &c.authentication {
        Some(a) => request::compile_auth(a, vocab)?,
        None => None,
    };
    let base_plain = crate::http::plain_url(&base_uri).map(crate::http::Plain::into_owned);
    Ok(ForwardPlan {
        namespace: target.value.clone(),
        base_plain,
        base_uri,
        base_shown,
        tail_var: vars.last().cloned(),
        trusted_headers: f
            .trusted_headers
            .iter()
            .filter_map(|h| HeaderName::from_bytes(h.value.to_ascii_lowercase().as_bytes()).ok())
            // Hop-by-hop fields are never forwarded, trusted or not; nor are `Host` and
            // `Content-Length`, which belong to the request the executor writes.
            .filter(|h| !crate::http::framing::is_hop_by_hop(h.as_str().as_bytes()))
            .filter(|h| *h != http::header::HOST && *h != http::header::CONTENT_LENGTH)
            .collect(),
        headers,
        auth,
    })
}
