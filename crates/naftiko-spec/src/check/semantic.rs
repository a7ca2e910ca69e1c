//! Semantic checks (SEMANTICS §1): references resolve, names are unique, templates parse, bind
//! variables are declared, adapters do not collide, and unimplemented features are named.
//!
//! Everything reported as an error here would make the capability fail or misbehave at run
//! time; tolerated spellings are warnings.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::expr::{compile_jsonpath, has_template, parse_path_template, parse_template};
use crate::model::*;
use crate::source::Span;

/// HTTP methods an operation may use.
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
/// `outputRawFormat` values we decode.
pub const RAW_FORMATS: &[&str] = &["json", "xml", "yaml", "csv", "tsv", "psv", "html", "markdown", "text", "binary"];
/// Adapter types of `exposes`.
pub const ADAPTER_TYPES: &[&str] = &["rest", "mcp", "skill", "control"];

/// Runs every semantic check on a loaded document.
pub fn check(doc: &Document) -> Vec<Diagnostic> {
    let mut cx = Cx::new(doc);
    cx.binds();
    cx.consumes();
    cx.exposes();
    cx.aggregates();
    cx.out
}

struct Cx<'d> {
    doc: &'d Document,
    out: Vec<Diagnostic>,
    /// Declared bind variables: bare names and `namespace.NAME`.
    bind_vars: HashSet<String>,
    bind_namespaces: HashMap<&'d str, Vec<&'d str>>,
}

/// Where a handler runs, for reference classification.
struct Site<'a> {
    /// `operation`, `tool`, `resource`, `function`.
    what: &'static str,
    /// Prefixes that make a `with` value a reference.
    prefixes: Vec<&'a str>,
}

impl<'d> Cx<'d> {
    fn new(doc: &'d Document) -> Cx<'d> {
        let mut bind_vars = HashSet::new();
        let mut bind_namespaces: HashMap<&str, Vec<&str>> = HashMap::new();
        for (ns, var) in doc.bind_variables() {
            bind_vars.insert(var.to_string());
            bind_vars.insert(format!("{ns}.{var}"));
            bind_namespaces.entry(ns).or_default().push(var);
        }
        Cx { doc, out: Vec::new(), bind_vars, bind_namespaces }
    }

    fn push(&mut self, d: Diagnostic) {
        self.out.push(d);
    }

    // ---- binds ----------------------------------------------------------------------------

    fn binds(&mut self) {
        for b in &self.doc.binds {
            if let Some(loc) = &b.location
                && !loc.value.starts_with("file:")
            {
                let scheme = loc.value.split("://").next().unwrap_or("");
                self.push(
                    Diagnostic::new(
                        Code::Unsupported,
                        loc.span,
                        format!("unsupported bind location scheme `{scheme}://`"),
                    )
                    .help("use environment variables (omit `location`) or a `file:///./secrets.yaml` file"),
                );
            }
            if b.keys.is_empty() {
                self.push(
                    Diagnostic::new(
                        Code::MissingField,
                        b.span,
                        format!("bind `{}` declares no `keys`", b.namespace.value),
                    )
                    .help("add `keys: {VARIABLE: SOURCE_NAME}`"),
                );
            }
        }
    }

    // ---- consumes -------------------------------------------------------------------------

    fn consumes(&mut self) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for c in &self.doc.consumes {
            if let Some(first) = seen.get(c.namespace.value.as_str()) {
                self.push(
                    Diagnostic::new(
                        Code::DuplicateNamespace,
                        c.namespace.span,
                        format!("consumed namespace `{}` is declared twice", c.namespace.value),
                    )
                    .help(format!("the first declaration is at line {}; rename one of them", first.line)),
                );
            } else {
                seen.insert(&c.namespace.value, c.namespace.span);
            }
            self.consumes_entry(c);
        }
    }

    fn consumes_entry(&mut self, c: &'d Consumes) {
        if let Some(kind) = &c.kind
            && kind.value != "http"
        {
            self.push(
                Diagnostic::new(
                    Code::Unsupported,
                    kind.span,
                    format!("consumes type `{}` is not supported", kind.value),
                )
                .help("only `type: http` APIs can be consumed"),
            );
        }
        let env_params: HashSet<&str> = c.input_parameters.iter().map(|p| p.name.value.as_str()).collect();
        match &c.base_uri {
            None => self.push(
                Diagnostic::new(
                    Code::MissingField,
                    c.namespace.span,
                    format!("consumed namespace `{}` has no `baseUri`", c.namespace.value),
                )
                .help("add `baseUri: https://api.example.com/v1`"),
            ),
            Some(uri) => match parse_path_template(&uri.value) {
                Ok(t) => {
                    for var in t.vars() {
                        self.bind_var(var, uri.span, &env_params, true);
                    }
                    let literal: String = t
                        .parts
                        .iter()
                        .map(|p| match p {
                            crate::expr::Part::Lit(s) => s.as_str(),
                            crate::expr::Part::Var(_) => "x",
                        })
                        .collect();
                    let from_variable = matches!(t.parts.first(), Some(crate::expr::Part::Var(_)));
                    if uri.value.trim().is_empty() {
                        self.push(
                                Diagnostic::new(Code::InvalidValue, uri.span, format!("`baseUri` of `{}` is empty", c.namespace.value))
                                    .help("write the API's base URL, e.g. `https://api.example.com/v1`, or `{{API_BASE_URL}}` from `binds`"),
                            );
                    } else if !(from_variable || literal.starts_with("http://") || literal.starts_with("https://")) {
                        self.push(
                            Diagnostic::new(
                                Code::InvalidValue,
                                uri.span,
                                format!("`baseUri` `{}` is not an http(s) URL", uri.value),
                            )
                            .help("write an absolute URL such as `https://api.example.com/v1`"),
                        );
                    }
                }
                Err(e) => {
                    self.push(Diagnostic::new(Code::InvalidTemplate, uri.span, format!("in `baseUri`: {}", e.message)))
                }
            },
        }
        for p in &c.input_parameters {
            self.param_value(p, &env_params, true);
        }
        if let Some(auth) = &c.authentication {
            self.auth(auth, &env_params, false);
        }
        let mut ops: HashMap<&str, Span> = HashMap::new();
        for r in &c.resources {
            match &r.path {
                None if !r.operations.is_empty() => self.push(
                    Diagnostic::new(Code::MissingField, r.span, "consumed resource has no `path`")
                        .help("add `path: /things/{id}`"),
                ),
                None => {}
                Some(path) => {
                    if let Err(e) = parse_path_template(&path.value) {
                        self.push(Diagnostic::new(
                            Code::InvalidTemplate,
                            path.span,
                            format!("in `path`: {}", e.message),
                        ));
                    }
                }
            }
            for p in &r.input_parameters {
                self.param_value(p, &env_params, false);
            }
            for op in &r.operations {
                if let Some(name) = &op.name {
                    if let Some(first) = ops.get(name.value.as_str()) {
                        let called = self.called(&c.namespace.value, &name.value);
                        let code = if called { Code::DuplicateOperation } else { Code::Duplicate };
                        self.push(
                            Diagnostic::new(
                                code,
                                name.span,
                                format!(
                                    "operation `{}` is declared twice in namespace `{}`",
                                    name.value, c.namespace.value
                                ),
                            )
                            .help(format!(
                                "the first is at line {}; `call: {}.{}` must name one operation",
                                first.line, c.namespace.value, name.value
                            )),
                        );
                    } else {
                        ops.insert(&name.value, name.span);
                    }
                }
                self.consumed_operation(op, &env_params);
            }
        }
    }

    /// True when some `call` (operation, tool, step, function) names `ns.op`.
    fn called(&self, ns: &str, op: &str) -> bool {
        let target = format!("{ns}.{op}");
        let handlers = self.doc.exposes.iter().flat_map(|e| -> Vec<&Handler> {
            match &e.adapter {
                Adapter::Rest(r) => {
                    r.resources.iter().flat_map(|res| res.operations.iter().map(|o| &o.handler)).collect()
                }
                Adapter::Mcp(m) => {
                    m.tools.iter().map(|t| &t.handler).chain(m.resources.iter().map(|r| &r.handler)).collect()
                }
                _ => Vec::new(),
            }
        });
        let functions = self.doc.aggregates.iter().flat_map(|a| a.functions.iter().map(|f| &f.handler));
        handlers.chain(functions).any(|h| {
            h.call.as_ref().is_some_and(|c| c.value.trim() == target)
                || h.steps.iter().any(|s| s.call.as_ref().is_some_and(|c| c.value.trim() == target))
        })
    }

    fn consumed_operation(&mut self, op: &ConsumedOperation, env_params: &HashSet<&str>) {
        if let Some(m) = &op.method {
            self.method(m);
        }
        if let Some(f) = &op.output_raw_format {
            let lower = f.value.to_ascii_lowercase();
            if lower == "avro" || lower == "protobuf" {
                self.push(
                    Diagnostic::new(
                        Code::Unsupported,
                        f.span,
                        format!("`outputRawFormat: {}` is not supported yet", f.value),
                    )
                    .help("use json, xml, yaml, csv, tsv, psv, html or markdown"),
                );
            } else if !RAW_FORMATS.contains(&lower.as_str()) {
                self.push(
                    Diagnostic::new(Code::InvalidValue, f.span, format!("unknown `outputRawFormat: {}`", f.value))
                        .help(format!("use one of {}", RAW_FORMATS.join(", "))),
                );
            } else if lower == "text" || lower == "binary" {
                self.push(
                    Diagnostic::new(
                        Code::Tolerated,
                        f.span,
                        format!("`outputRawFormat: {lower}` is not in the specification"),
                    )
                    .help(if lower == "text" {
                        "read as text: the body becomes one JSON string"
                    } else {
                        "read as binary: the body is passed through unchanged and not mapped"
                    }),
                );
            }
        }
        for p in &op.input_parameters {
            self.param_value(p, env_params, false);
        }
        for o in &op.output_parameters {
            if let Some(m) = &o.mapping {
                self.jsonpath(m);
            }
        }
        match &op.body {
            Some(Body::Raw(s)) => self.template(s.as_str(), s.span, "body"),
            Some(Body::Typed { kind, data, .. }) => {
                const KINDS: &[&str] = &["json", "text", "xml", "sparql", "formUrlEncoded", "multipartForm"];
                if !KINDS.contains(&kind.value.as_str()) {
                    self.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            kind.span,
                            format!("unknown request body type `{}`", kind.value),
                        )
                        .help(format!("use one of {}", KINDS.join(", "))),
                    );
                }
                self.json_templates(&data.value, data.span, "body");
            }
            None => {}
        }
    }

    fn param_value(&mut self, p: &ConsumedParam, env_params: &HashSet<&str>, strict_binds: bool) {
        if let Some(v) = &p.value
            && let Value::String(s) = &v.value
        {
            match parse_template(s) {
                Ok(t) => {
                    for var in t.vars() {
                        self.bind_var(var, v.span, env_params, strict_binds);
                    }
                }
                Err(e) => self.push(Diagnostic::new(
                    Code::InvalidTemplate,
                    v.span,
                    format!("in parameter `{}`: {}", p.name.value, e.message),
                )),
            }
        }
    }

    /// Checks a variable used in a template. `strict` (auth, baseUri, consumes-level values):
    /// an UPPER_CASE name must be a declared bind variable. Everywhere: `ns.VAR` with a bind
    /// namespace must name one of its keys.
    fn bind_var(&mut self, var: &str, span: Span, env_params: &HashSet<&str>, strict: bool) {
        if self.bind_vars.contains(var) || env_params.contains(var) {
            return;
        }
        if let Some((ns, name)) = var.split_once('.')
            && let Some(keys) = self.bind_namespaces.get(ns)
        {
            let help = did_you_mean(name, keys.iter().copied())
                .map(|s| format!("did you mean `{ns}.{s}`?"))
                .unwrap_or_else(|| format!("bind `{ns}` declares: {}", keys.join(", ")));
            self.push(
                Diagnostic::new(
                    Code::UndeclaredBind,
                    span,
                    format!("`{{{{{var}}}}}` names bind variable `{name}`, which bind `{ns}` does not declare"),
                )
                .help(help),
            );
            return;
        }
        let looks_like_env = var.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && var.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if strict && looks_like_env {
            let declared: Vec<&str> = self.doc.bind_variables().map(|(_, v)| v).collect();
            let help = match did_you_mean(var, declared.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("declare it: `binds: [{{namespace: env, keys: {{{var}: {var}}}}}]`"),
            };
            self.push(
                Diagnostic::new(
                    Code::UndeclaredBind,
                    span,
                    format!("`{{{{{var}}}}}` uses bind variable `{var}`, which no `binds` entry declares"),
                )
                .help(help),
            );
        }
    }

    fn auth(&mut self, a: &Auth, env_params: &HashSet<&str>, inbound: bool) {
        let kind = a.kind.value.as_str();
        let require = |cx: &mut Cx, field: &Option<Sp<String>>, name: &str| {
            if field.is_none() {
                cx.push(
                    Diagnostic::new(Code::MissingField, a.kind.span, format!("`{kind}` authentication needs `{name}`"))
                        .help(format!("add `{name}: \"{{{{MY_SECRET}}}}\"` and declare MY_SECRET in `binds`")),
                );
            }
        };
        match kind {
            "bearer" => require(self, &a.token, "token"),
            "basic" => {
                require(self, &a.username, "username");
                require(self, &a.password, "password");
            }
            "digest" if !inbound => {
                require(self, &a.username, "username");
                require(self, &a.password, "password");
            }
            "apikey" => {
                require(self, &a.key, "key");
                require(self, &a.value, "value");
                if let Some(p) = &a.placement
                    && !matches!(p.value.as_str(), "header" | "query")
                {
                    self.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            p.span,
                            format!("apikey `placement: {}` is not `header` or `query`", p.value),
                        )
                        .help("use `placement: header` (the default) or `placement: query`"),
                    );
                }
            }
            "none" => self.push(
                Diagnostic::new(
                    Code::Tolerated,
                    a.kind.span,
                    "`authentication: {type: none}` is read as no authentication",
                )
                .help("remove the `authentication` block"),
            ),
            "oauth2" | "digest" => {
                let side = if inbound { "inbound" } else { "outbound" };
                self.push(
                    Diagnostic::new(
                        Code::Unsupported,
                        a.kind.span,
                        format!("{side} `{kind}` authentication is not supported yet"),
                    )
                    .help(if inbound {
                        "use bearer, apikey or basic"
                    } else {
                        "use bearer, basic, apikey or digest"
                    }),
                );
            }
            other => {
                let known = ["bearer", "basic", "apikey", "digest", "oauth2"];
                let help = did_you_mean(other, known)
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("use one of {}", known.join(", ")));
                self.push(
                    Diagnostic::new(Code::InvalidValue, a.kind.span, format!("unknown authentication type `{other}`"))
                        .help(help),
                );
            }
        }
        for field in [&a.username, &a.password, &a.token, &a.key, &a.value].into_iter().flatten() {
            match parse_template(&field.value) {
                Ok(t) => {
                    for var in t.vars() {
                        self.bind_var(var, field.span, env_params, true);
                    }
                }
                Err(e) => self.push(Diagnostic::new(
                    Code::InvalidTemplate,
                    field.span,
                    format!("in authentication: {}", e.message),
                )),
            }
        }
    }

    fn method(&mut self, m: &Sp<String>) {
        if !METHODS.iter().any(|k| k.eq_ignore_ascii_case(m.value.trim())) {
            self.push(
                Diagnostic::new(Code::InvalidValue, m.span, format!("unknown HTTP method `{}`", m.value))
                    .help(format!("use one of {}", METHODS.join(", "))),
            );
        }
    }

    fn template(&mut self, s: &str, span: Span, what: &str) {
        match parse_template(s) {
            Ok(t) => {
                for var in t.vars() {
                    self.bind_var(var, span, &HashSet::new(), false);
                }
            }
            Err(e) => self.push(Diagnostic::new(Code::InvalidTemplate, span, format!("in {what}: {}", e.message))),
        }
    }

    fn json_templates(&mut self, v: &Value, span: Span, what: &str) {
        match v {
            Value::String(s) if has_template(s) => self.template(s, span, what),
            Value::Array(items) => items.iter().for_each(|i| self.json_templates(i, span, what)),
            Value::Object(m) => m.values().for_each(|i| self.json_templates(i, span, what)),
            _ => {}
        }
    }

    fn jsonpath(&mut self, p: &Sp<String>) {
        if let Err(e) = compile_jsonpath(&p.value) {
            self.push(
                Diagnostic::new(Code::InvalidJsonPath, p.span, e)
                    .help("JSONPath looks like `$.items[0].name`; `$.` is the whole body"),
            );
        }
    }

    // ---- exposes --------------------------------------------------------------------------

    fn exposes(&mut self) {
        let mut namespaces: HashMap<&str, Span> = HashMap::new();
        let mut listeners: Vec<(String, u16, Span)> = Vec::new();
        let mut stdio = 0;
        for e in &self.doc.exposes {
            match &e.kind {
                None => {
                    self.push(
                        Diagnostic::new(Code::MissingField, e.span, "exposes entry has no `type`")
                            .help(format!("use one of {}", ADAPTER_TYPES.join(", "))),
                    );
                    continue;
                }
                Some(k) if matches!(e.adapter, Adapter::Unknown) => {
                    let help = did_you_mean(&k.value, ADAPTER_TYPES.iter().copied())
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| format!("this runtime serves {}", ADAPTER_TYPES.join(", ")));
                    self.push(
                        Diagnostic::new(
                            Code::UnknownAdapterType,
                            k.span,
                            format!("unknown adapter type `{}`", k.value),
                        )
                        .help(help),
                    );
                    continue;
                }
                Some(_) => {}
            }
            if let Some(ns) = &e.namespace {
                if let Some(first) = namespaces.get(ns.value.as_str()) {
                    self.push(
                        Diagnostic::new(
                            Code::DuplicateNamespace,
                            ns.span,
                            format!("adapter namespace `{}` is used twice", ns.value),
                        )
                        .help(format!("the first is at line {}; give each adapter its own namespace", first.line)),
                    );
                } else {
                    namespaces.insert(&ns.value, ns.span);
                }
            }
            let is_stdio =
                matches!(&e.adapter, Adapter::Mcp(m) if m.transport.as_ref().is_some_and(|t| t.value == "stdio"));
            if is_stdio {
                stdio += 1;
                if stdio > 1 {
                    self.push(
                        Diagnostic::new(
                            Code::PortConflict,
                            e.span,
                            "more than one MCP adapter uses `transport: stdio`",
                        )
                        .help("only one adapter can own standard input and output"),
                    );
                }
            } else if let Some(port) = &e.port
                && port.value != 0
            {
                let addr = normalize_address(e.address.as_ref().map(|a| a.value.as_str()));
                if let Some((_, _, first)) = listeners
                    .iter()
                    .find(|(a, p, _)| *p == port.value && (a == &addr || a == "0.0.0.0" || addr == "0.0.0.0"))
                {
                    self.push(
                        Diagnostic::new(
                            Code::PortConflict,
                            port.span,
                            format!("port {} is already used by the adapter at line {}", port.value, first.line),
                        )
                        .help("give each adapter its own port"),
                    );
                } else {
                    listeners.push((addr, port.value, port.span));
                }
            }
            if let Some(a) = &e.authentication {
                self.auth(a, &HashSet::new(), true);
            }
            let ns = e.namespace.as_ref().map(|n| n.value.as_str());
            match &e.adapter {
                Adapter::Rest(r) => self.rest(r, ns),
                Adapter::Mcp(m) => self.mcp(m, ns),
                Adapter::Skill(s) => self.skill(s),
                Adapter::Control(_) | Adapter::Unknown => {}
            }
        }
    }

    fn rest(&mut self, r: &'d RestAdapter, ns: Option<&'d str>) {
        let site = Site { what: "operation", prefixes: ns.into_iter().chain(["rest"]).collect() };
        let mut routes: HashMap<(String, String), Span> = HashMap::new();
        for res in &r.resources {
            let Some(path) = &res.path else {
                self.push(
                    Diagnostic::new(Code::MissingField, res.span, "REST resource has no `path`")
                        .help("add `path: /things/{id}`"),
                );
                continue;
            };
            let route_key = match parse_path_template(&path.value) {
                Ok(t) => t
                    .parts
                    .iter()
                    .map(|p| match p {
                        crate::expr::Part::Lit(s) => s.trim_end_matches('/').to_string(),
                        crate::expr::Part::Var(_) => "{}".to_string(),
                    })
                    .collect::<String>(),
                Err(e) => {
                    self.push(Diagnostic::new(Code::InvalidTemplate, path.span, format!("in `path`: {}", e.message)));
                    continue;
                }
            };
            if path.value.contains('#') {
                self.push(
                    Diagnostic::new(
                        Code::Tolerated,
                        path.span,
                        format!("REST path `{}` holds a URL fragment (`#…`), which requests never carry", path.value),
                    )
                    .help(
                        "served at the path before `#`; requests pick this operation by carrying what the \
                         fragment names (`#Name=value`: a header or query parameter with that value)",
                    ),
                );
            }
            if !path.value.starts_with('/') {
                self.push(
                    Diagnostic::new(
                        Code::Tolerated,
                        path.span,
                        format!("REST path `{}` does not start with `/`; served as `/{}`", path.value, path.value),
                    )
                    .help(format!("write `path: /{}`", path.value)),
                );
            }
            if let Some(f) = &res.forward {
                match &f.target_namespace {
                    None => self.push(
                        Diagnostic::new(Code::MissingField, f.span, "`forward` has no `targetNamespace`")
                            .help("add `targetNamespace: <consumed namespace>`"),
                    ),
                    Some(t) if self.doc.consumes(&t.value).is_none() => {
                        let names: Vec<&str> = self.doc.consumes.iter().map(|c| c.namespace.value.as_str()).collect();
                        let help = did_you_mean(&t.value, names.iter().copied())
                            .map(|s| format!("did you mean `{s}`?"))
                            .unwrap_or_else(|| format!("consumed namespaces: {}", names.join(", ")));
                        self.push(
                            Diagnostic::new(
                                Code::UnknownForwardTarget,
                                t.span,
                                format!("`forward` targets `{}`, which no `consumes` entry declares", t.value),
                            )
                            .help(help),
                        );
                    }
                    Some(_) => {}
                }
            }
            for op in &res.operations {
                let method =
                    op.method.as_ref().map(|m| m.value.trim().to_ascii_uppercase()).unwrap_or_else(|| "GET".into());
                if let Some(m) = &op.method {
                    self.method(m);
                }
                let key = (route_key.clone(), method.clone());
                let span = op.method.as_ref().map(|m| m.span).unwrap_or(op.span);
                if let Some(first) = routes.get(&key) {
                    self.push(
                        Diagnostic::new(
                            Code::Duplicate,
                            span,
                            format!(
                                "`{method} {}` is declared twice; the first (line {}) is served",
                                path.value, first.line
                            ),
                        )
                        .help("remove or rename one of the two operations"),
                    );
                } else {
                    routes.insert(key, span);
                }
                for p in op.input_parameters.iter().chain(&res.input_parameters) {
                    if let Some(pat) = &p.pattern
                        && let Err(e) = regex_check(&pat.value)
                    {
                        self.push(Diagnostic::new(
                            Code::InvalidValue,
                            pat.span,
                            format!("`pattern` of `{}` is not a valid regular expression: {e}", p.name.value),
                        ));
                    }
                    if let Some(m) = &p.mapping {
                        self.jsonpath(m);
                    }
                }
                let nothing = self.handler(&op.handler, &site, op.span);
                if nothing && res.forward.is_none() {
                    self.push(
                        Diagnostic::new(
                            Code::NoHandler,
                            span,
                            format!("`{method} {}` has no `call`, `steps`, `ref` or mock `value`s", path.value),
                        )
                        .help("add `call: namespace.operation`; without it the route answers 501"),
                    );
                }
            }
        }
    }

    fn mcp(&mut self, m: &'d McpAdapter, ns: Option<&'d str>) {
        if let Some(t) = &m.transport
            && !matches!(t.value.as_str(), "http" | "stdio")
        {
            self.push(
                Diagnostic::new(Code::InvalidValue, t.span, format!("unknown MCP transport `{}`", t.value))
                    .help("use `http` (the default) or `stdio`"),
            );
        }
        let site = Site { what: "tool", prefixes: ns.into_iter().chain(["tools", "mcp"]).collect() };
        let mut names: HashMap<&str, Span> = HashMap::new();
        for tool in &m.tools {
            let Some(name) = &tool.name else {
                self.push(
                    Diagnostic::new(Code::MissingField, tool.span, "MCP tool has no `name`")
                        .help("add `name: my-tool`; agents call tools by name"),
                );
                continue;
            };
            if let Some(first) = names.get(name.value.as_str()) {
                self.push(
                    Diagnostic::new(
                        Code::Duplicate,
                        name.span,
                        format!("tool `{}` is declared twice; the first (line {}) is served", name.value, first.line),
                    )
                    .help("give each tool its own name"),
                );
            } else {
                names.insert(&name.value, name.span);
            }
            let nothing = self.handler(&tool.handler, &site, tool.span);
            if nothing {
                self.push(
                    Diagnostic::new(
                        Code::NoHandler,
                        name.span,
                        format!("tool `{}` has no `call`, `steps`, `ref` or mock `value`s", name.value),
                    )
                    .help("add `call: namespace.operation`"),
                );
            }
        }
        let rsite = Site { what: "resource", prefixes: site.prefixes.clone() };
        for r in &m.resources {
            if r.uri.is_none() {
                self.push(
                    Diagnostic::new(Code::MissingField, r.span, "MCP resource has no `uri`")
                        .help("add `uri: data://my-resource`"),
                );
            }
            match &r.location {
                Some(loc) if !loc.value.starts_with("file:") => self.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        loc.span,
                        format!("resource `location` `{}` is not a `file:///` directory", loc.value),
                    )
                    .help("write `location: file:///./docs`"),
                ),
                Some(_) => {}
                None => {
                    let nothing = self.handler(&r.handler, &rsite, r.span);
                    if nothing {
                        self.push(
                            Diagnostic::new(
                                Code::NoHandler,
                                r.span,
                                "MCP resource has neither `location` nor `call`/`steps`",
                            )
                            .help("add `location: file:///./dir` for files, or `call: namespace.operation`"),
                        );
                    }
                }
            }
        }
        for p in &m.prompts {
            if p.name.is_none() {
                self.push(
                    Diagnostic::new(Code::MissingField, p.span, "MCP prompt has no `name`")
                        .help("add `name: my-prompt`"),
                );
            }
            for msg in &p.template {
                if !matches!(msg.role.value.as_str(), "user" | "assistant") {
                    self.push(Diagnostic::new(
                        Code::InvalidValue,
                        msg.role.span,
                        format!("prompt role `{}` is not `user` or `assistant`", msg.role.value),
                    ));
                }
                if let Err(e) = parse_template(&msg.content.value) {
                    self.push(Diagnostic::new(
                        Code::InvalidTemplate,
                        msg.content.span,
                        format!("in prompt: {}", e.message),
                    ));
                }
            }
            if p.template.is_empty() && p.location.is_none() {
                self.push(
                    Diagnostic::new(Code::MissingField, p.span, "MCP prompt has neither `template` nor `location`")
                        .help("add `template: [{role: user, content: …}]`"),
                );
            }
        }
    }

    fn skill(&mut self, s: &SkillAdapter) {
        for skill in &s.skills {
            if skill.name.is_none() {
                self.push(
                    Diagnostic::new(Code::MissingField, skill.span, "skill has no `name`").help("add `name: my-skill`"),
                );
            }
            for t in &skill.tools {
                match (&t.source_namespace, &t.instruction) {
                    (Some(src), None) => self.skill_source(src, t.action.as_ref(), t.span),
                    (None, Some(instr)) => {
                        if skill.location.is_none() {
                            self.push(
                                Diagnostic::new(
                                    Code::MissingField,
                                    instr.span,
                                    "an `instruction` tool needs the skill to have a `location`",
                                )
                                .help("add `location: file:///./skills/my-skill` to the skill"),
                            );
                        }
                    }
                    (Some(_), Some(_)) => self.push(
                        Diagnostic::new(Code::InvalidValue, t.span, "skill tool has both `from` and `instruction`")
                            .help("keep one of them"),
                    ),
                    (None, None) => self.push(
                        Diagnostic::new(Code::MissingField, t.span, "skill tool has neither `from` nor `instruction`")
                            .help("add `from: {sourceNamespace: <adapter>, action: <tool or operation>}`"),
                    ),
                }
            }
        }
    }

    fn skill_source(&mut self, src: &Sp<String>, action: Option<&Sp<String>>, span: Span) {
        let adapter = self.doc.exposes.iter().find(|e| e.namespace.as_ref().is_some_and(|n| n.value == src.value));
        let Some(adapter) = adapter.filter(|a| matches!(a.adapter, Adapter::Rest(_) | Adapter::Mcp(_))) else {
            let names: Vec<&str> = self
                .doc
                .exposes
                .iter()
                .filter(|e| matches!(e.adapter, Adapter::Rest(_) | Adapter::Mcp(_)))
                .filter_map(|e| e.namespace.as_ref().map(|n| n.value.as_str()))
                .collect();
            let help = did_you_mean(&src.value, names.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("REST and MCP adapters here: {}", names.join(", ")));
            self.push(
                Diagnostic::new(
                    Code::UnknownTarget,
                    src.span,
                    format!("`sourceNamespace` `{}` is not a REST or MCP adapter of this capability", src.value),
                )
                .help(help),
            );
            return;
        };
        let Some(action) = action else {
            self.push(
                Diagnostic::new(Code::MissingField, span, "skill tool `from` has no `action`")
                    .help("name the tool or operation it derives from"),
            );
            return;
        };
        let actions: Vec<&str> = match &adapter.adapter {
            Adapter::Mcp(m) => m.tools.iter().filter_map(|t| t.name.as_ref().map(|n| n.value.as_str())).collect(),
            Adapter::Rest(r) => r
                .resources
                .iter()
                .flat_map(|res| res.operations.iter())
                .filter_map(|o| o.name.as_ref().map(|n| n.value.as_str()))
                .collect(),
            _ => Vec::new(),
        };
        if !actions.contains(&action.value.as_str()) {
            let help = did_you_mean(&action.value, actions.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("available: {}", actions.join(", ")));
            self.push(
                Diagnostic::new(
                    Code::UnknownTarget,
                    action.span,
                    format!("adapter `{}` has no tool or operation `{}`", src.value, action.value),
                )
                .help(help),
            );
        }
    }

    fn aggregates(&mut self) {
        for a in &self.doc.aggregates {
            let ns = a.namespace.as_ref().map(|n| n.value.as_str());
            let site = Site { what: "function", prefixes: ns.into_iter().collect() };
            for f in &a.functions {
                let nothing = self.handler(&f.handler, &site, f.span);
                if nothing {
                    let name = f.name.as_ref().map(|n| n.value.as_str()).unwrap_or("?");
                    self.push(Diagnostic::new(
                        Code::NoHandler,
                        f.span,
                        format!("aggregate function `{name}` has no `call`, `steps` or mock `value`s"),
                    ));
                }
                if f.handler.reference.is_some() {
                    self.push(Diagnostic::new(Code::InvalidValue, f.span, "an aggregate function cannot use `ref`"));
                }
            }
        }
    }

    // ---- handlers -------------------------------------------------------------------------

    /// Checks a handler; returns true when it has nothing to execute.
    fn handler(&mut self, h: &Handler, site: &Site, span: Span) -> bool {
        if let Some(call) = &h.call {
            self.call(call);
        }
        let step_names: Vec<&str> = h.steps.iter().filter_map(|s| s.name.as_ref().map(|n| n.value.as_str())).collect();
        self.with(&h.with, site, &step_names);
        if let Some(r) = &h.reference
            && self.doc.resolve_ref(&r.value).is_none()
        {
            let names: Vec<String> = self
                .doc
                .aggregates
                .iter()
                .flat_map(|a| {
                    let ns = a.namespace.as_ref().map(|n| n.value.clone()).unwrap_or_default();
                    a.functions.iter().filter_map(move |f| f.name.as_ref().map(|n| format!("{ns}.{}", n.value)))
                })
                .collect();
            let help = did_you_mean(&r.value, names.iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| {
                    if names.is_empty() {
                        "this capability declares no `aggregates`".into()
                    } else {
                        format!("aggregate functions: {}", names.join(", "))
                    }
                });
            self.push(
                Diagnostic::new(Code::UnknownRef, r.span, format!("`ref: {}` names no aggregate function", r.value))
                    .help(help),
            );
        }
        let mut earlier: Vec<&str> = Vec::new();
        for step in &h.steps {
            match step.kind.value.as_str() {
                "call" => match &step.call {
                    Some(c) => self.call(c),
                    None => self.push(
                        Diagnostic::new(Code::MissingField, step.span, "call step has no `call`")
                            .help("add `call: namespace.operation`"),
                    ),
                },
                "lookup" => {
                    match &step.index {
                        Some(ix) if !earlier.contains(&ix.value.as_str()) => {
                            let help = did_you_mean(&ix.value, earlier.iter().copied())
                                .map(|s| format!("did you mean `{s}`?"))
                                .unwrap_or_else(|| "`index` must name an earlier call step".into());
                            self.push(
                                Diagnostic::new(
                                    Code::UnknownTarget,
                                    ix.span,
                                    format!("lookup `index: {}` names no earlier step", ix.value),
                                )
                                .help(help),
                            );
                        }
                        Some(_) => {}
                        None => self.push(
                            Diagnostic::new(Code::MissingField, step.span, "lookup step has no `index`")
                                .help("name the earlier step whose output is searched"),
                        ),
                    }
                    if step.match_field.is_none() {
                        self.push(
                            Diagnostic::new(Code::MissingField, step.span, "lookup step has no `match`")
                                .help("name the field compared with `lookupValue`"),
                        );
                    }
                    if step.lookup_value.is_none() {
                        self.push(
                            Diagnostic::new(Code::MissingField, step.span, "lookup step has no `lookupValue`")
                                .help("e.g. `lookupValue: $.get-ship.assignedCrew`"),
                        );
                    }
                }
                "script" => self.push(
                    Diagnostic::new(Code::Unsupported, step.kind.span, "unsupported: script steps")
                        .help("this runtime does not execute scripts; express the logic with call and lookup steps"),
                ),
                other => self.push(
                    Diagnostic::new(Code::InvalidValue, step.kind.span, format!("unknown step type `{other}`"))
                        .help("use `call` or `lookup`"),
                ),
            }
            self.with(&step.with, site, &step_names);
            if let Some(n) = &step.name {
                earlier.push(&n.value);
            }
        }
        for m in &h.mappings {
            self.jsonpath(&m.value);
        }
        let mut mock = false;
        for o in &h.output_parameters {
            mock |= self.output(o);
        }
        let _ = span;
        h.call.is_none() && h.steps.is_empty() && h.reference.is_none() && !mock
    }

    /// Checks an output parameter tree; true when it carries a static value (mock mode).
    fn output(&mut self, o: &OutputParam) -> bool {
        let mut has_value = false;
        if let Some(m) = &o.mapping {
            self.jsonpath(m);
        }
        if let Some(v) = &o.value {
            match &v.value {
                Value::String(s) if s.trim_start().starts_with('$') && o.mapping.is_none() && o.name.is_some() => {
                    // `value: $.x` on a named parameter is a mapping (as in the reference engine).
                    self.jsonpath(&Sp::new(s.clone(), v.span));
                }
                Value::String(s) => {
                    has_value = true;
                    if let Err(e) = parse_template(s) {
                        self.push(Diagnostic::new(
                            Code::InvalidTemplate,
                            v.span,
                            format!("in output `value`: {}", e.message),
                        ));
                    }
                }
                _ => has_value = true,
            }
        }
        for (_, p) in &o.properties {
            has_value |= self.output(p);
        }
        match &o.items {
            Some(Items::One(p)) => has_value |= self.output(p),
            Some(Items::List(ps)) => {
                for p in ps {
                    has_value |= self.output(p);
                }
            }
            None => {}
        }
        has_value
    }

    fn call(&mut self, call: &Sp<String>) {
        match self.doc.resolve_call(&call.value) {
            Ok(r) if r.tolerated.is_some() => self.push(
                Diagnostic::new(
                    Code::Tolerated,
                    call.span,
                    format!("`call: {}` {}", call.value, r.tolerated.unwrap_or_default()),
                )
                .help(format!(
                    "write `call: {}.{}`",
                    r.consumes.namespace.value,
                    r.operation.name.as_ref().map(|n| n.value.as_str()).unwrap_or("")
                )),
            ),
            Ok(_) => {}
            Err(CallError::Malformed) => self.push(
                Diagnostic::new(
                    Code::UnknownCall,
                    call.span,
                    format!("`call: {}` is not `namespace.operation`", call.value),
                )
                .help("write `call: <consumed namespace>.<operation name>`"),
            ),
            Err(CallError::UnknownNamespace(ns, _)) if self.failed_import(&ns) => {
                // The unresolved import is already reported; do not repeat it for every call.
            }
            Err(CallError::UnknownNamespace(ns, names)) => {
                let help = did_you_mean(&ns, names.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| {
                        if names.is_empty() {
                            "this capability consumes no APIs".into()
                        } else {
                            format!("consumed namespaces: {}", names.join(", "))
                        }
                    });
                self.push(
                    Diagnostic::new(
                        Code::UnknownCall,
                        call.span,
                        format!("`call: {}` names namespace `{ns}`, which no `consumes` entry declares", call.value),
                    )
                    .help(help),
                );
            }
            Err(CallError::UnknownOperation(ns, op, names)) => {
                let help = did_you_mean(&op, names.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{ns}.{s}`?"))
                    .unwrap_or_else(|| format!("`{ns}` has {} operations, none named `{op}`", names.len()));
                self.push(
                    Diagnostic::new(
                        Code::UnknownCall,
                        call.span,
                        format!("`call: {}`: namespace `{ns}` has no operation `{op}`", call.value),
                    )
                    .help(help),
                );
            }
        }
    }

    /// True when `ns` is the namespace an import should have provided but did not.
    fn failed_import(&self, ns: &str) -> bool {
        self.doc.imports.iter().any(|i| {
            let name = i.alias.as_ref().filter(|a| !a.value.is_empty()).unwrap_or(&i.import);
            name.value == ns && self.doc.consumes(ns).is_none()
        })
    }

    fn with(&mut self, with: &[WithEntry], site: &Site, steps: &[&str]) {
        for w in with {
            let Value::String(s) = &w.value.value else { continue };
            if has_template(s) {
                self.template(s, w.value.span, "`with`");
                continue;
            }
            let looks_dotted = s.split_once('.').is_some_and(|(a, b)| {
                !a.is_empty()
                    && !b.is_empty()
                    && a.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    && b.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            });
            if !looks_dotted {
                continue;
            }
            let prefix = s.split('.').next().unwrap_or("");
            let known = site.prefixes.contains(&prefix)
                || steps.contains(&prefix)
                || self.doc.aggregate(prefix).is_some()
                || self.bind_namespaces.contains_key(prefix);
            if !known {
                let name = s.split_once('.').map(|x| x.1).unwrap_or("");
                let suggestion = site
                    .prefixes
                    .first()
                    .map(|p| format!("`{p}.{name}`"))
                    .unwrap_or_else(|| format!("`{{{{{name}}}}}`"));
                self.push(
                    Diagnostic::new(
                        Code::SuspiciousLiteral,
                        w.value.span,
                        format!("`{}: {s}` is sent as the literal text \"{s}\"", w.key.value),
                    )
                    .help(format!(
                        "`{prefix}` is not a known prefix here; to pass the {}'s input `{name}`, write {suggestion}",
                        site.what
                    )),
                );
            }
        }
    }
}

fn normalize_address(a: Option<&str>) -> String {
    match a.map(str::trim) {
        None | Some("") | Some("localhost") | Some("127.0.0.1") | Some("::1") => "127.0.0.1".into(),
        Some("0.0.0.0") | Some("::") | Some("*") => "0.0.0.0".into(),
        Some(other) => other.to_ascii_lowercase(),
    }
}

/// Cheap structural check of a `pattern` (balanced groups and classes); the engine compiles it.
fn regex_check(p: &str) -> Result<(), String> {
    let mut depth = 0i32;
    let mut in_class = false;
    let mut escaped = false;
    for c in p.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced `)`".into());
                }
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unbalanced `(`".into());
    }
    if in_class {
        return Err("unterminated `[`".into());
    }
    Ok(())
}
