//! [`Node`] tree → [`Document`] model, collecting every type error instead of stopping at the
//! first.
//!
//! The reader reads only what the runtime uses. A used field with the wrong YAML type is an
//! error; a descriptive field (descriptions, labels) with the wrong type is left to the schema
//! check, which warns. Scalars are accepted where strings are expected (`value: 5` is `"5"`), as
//! real files rely on it. Legacy spellings are normalised here, each with a warning.

use serde_json::Value;

use crate::diag::{Code, Diagnostic};
use crate::model::*;
use crate::source::Span;
use crate::yaml::{Node, NodeKind};

/// Reads a document body (the `naftiko` version is checked by the caller).
pub(crate) struct Reader<'d> {
    pub diags: &'d mut Vec<Diagnostic>,
}

/// A mapping node being read.
#[derive(Clone, Copy)]
struct Obj<'n> {
    node: &'n Node,
}

impl<'n> Obj<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.node.get(key).filter(|n| n.kind != NodeKind::Null)
    }
    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    fn span(&self) -> Span {
        self.node.span
    }
}

fn sp_str(n: &Node) -> Option<Sp<String>> {
    n.scalar_text().map(|s| Sp::new(s, n.span))
}

impl<'d> Reader<'d> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn type_error(&mut self, n: &Node, field: &str, expected: &str) {
        self.push(
            Diagnostic::new(
                Code::InvalidType,
                n.span,
                format!("`{field}` must be {expected}, found {}", n.kind_name()),
            )
            .help(format!("write `{field}` as {expected}")),
        );
    }

    fn obj<'n>(&mut self, n: &'n Node, what: &str) -> Option<Obj<'n>> {
        match n.kind {
            NodeKind::Map(_) => Some(Obj { node: n }),
            NodeKind::Null => None,
            _ => {
                self.type_error(n, what, "a mapping");
                None
            }
        }
    }

    /// A string the runtime uses: other scalars are taken as their text, collections are errors.
    fn string(&mut self, o: Obj, key: &str) -> Option<Sp<String>> {
        let n = o.get(key)?;
        match sp_str(n) {
            Some(s) => Some(s),
            None => {
                self.type_error(n, key, "a string");
                None
            }
        }
    }

    /// A descriptive string: a wrong type is left to the schema check.
    fn text(&mut self, o: Obj, key: &str) -> Option<Sp<String>> {
        o.get(key).and_then(sp_str)
    }

    fn boolean(&mut self, o: Obj, key: &str) -> Option<bool> {
        let n = o.get(key)?;
        match &n.kind {
            NodeKind::Bool(b) => Some(*b),
            NodeKind::Str(s) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {
                self.push(
                    Diagnostic::new(
                        Code::Deprecated,
                        n.span,
                        format!("`{key}` is the string \"{s}\", read as a boolean"),
                    )
                    .help(format!("write `{key}: {}` without quotes", s.to_ascii_lowercase())),
                );
                Some(s.eq_ignore_ascii_case("true"))
            }
            _ => {
                self.type_error(n, key, "a boolean (`true` or `false`)");
                None
            }
        }
    }

    fn value(&mut self, o: Obj, key: &str) -> Option<Sp<Value>> {
        o.get(key).map(|n| Sp::new(n.to_json(), n.span))
    }

    fn list<'n>(&mut self, o: Obj<'n>, key: &str) -> &'n [Node] {
        match o.get(key) {
            Some(Node { kind: NodeKind::Seq(items), .. }) => items,
            Some(n) => {
                self.type_error(n, key, "a list");
                &[]
            }
            None => &[],
        }
    }

    fn port(&mut self, o: Obj) -> Option<Sp<u16>> {
        let n = o.get("port")?;
        let parsed = match &n.kind {
            NodeKind::Int(i) => u16::try_from(*i).ok(),
            NodeKind::Str(s) => {
                let p = s.trim().parse::<u16>().ok();
                if p.is_some() {
                    self.push(
                        Diagnostic::new(
                            Code::Deprecated,
                            n.span,
                            format!("`port` is the string \"{s}\", read as a number"),
                        )
                        .help(format!("write `port: {}` without quotes", s.trim())),
                    );
                }
                p
            }
            _ => None,
        };
        match parsed {
            Some(p) => Some(Sp::new(p, n.span)),
            None => {
                self.push(
                    Diagnostic::new(Code::InvalidValue, n.span, "`port` must be an integer between 0 and 65535")
                        .help("use a port number such as 8080"),
                );
                None
            }
        }
    }

    // ---- document -------------------------------------------------------------------------

    /// Reads everything but the version (already checked) from the root mapping.
    pub fn document(&mut self, root: &Node, version: Sp<Version>) -> Document {
        let o = Obj { node: root };
        let info = o.get("info").and_then(|n| self.obj(n, "info")).map(|i| self.info(i));
        let mut binds: Vec<Bind> = self.list(o, "binds").iter().filter_map(|n| self.bind(n)).collect();
        let mut consumes = Vec::new();
        let mut imports = Vec::new();
        for n in self.list(o, "consumes") {
            self.consumes_entry(n, &mut consumes, &mut imports);
        }
        let mut exposes = Vec::new();
        let mut aggregates = Vec::new();
        let cap = o.get("capability").and_then(|n| self.obj(n, "capability"));
        if let Some(cap) = cap {
            binds.extend(self.list(cap, "binds").iter().filter_map(|n| self.bind(n)));
            for n in self.list(cap, "consumes") {
                self.consumes_entry(n, &mut consumes, &mut imports);
            }
            exposes = self.list(cap, "exposes").iter().filter_map(|n| self.exposes(n)).collect();
            aggregates = self.list(cap, "aggregates").iter().filter_map(|n| self.aggregate(n)).collect();
        }
        Document {
            version,
            info,
            binds,
            consumes,
            imports,
            exposes,
            aggregates,
            capability_span: cap.map(|c| c.span()),
        }
    }

    fn info(&mut self, o: Obj) -> Info {
        let mut label = self.text(o, "label");
        if label.is_none()
            && let Some(title) = self.text(o, "title")
        {
            self.push(
                Diagnostic::new(Code::Deprecated, title.span, "`info.title` is read as `info.label`")
                    .help("rename `title` to `label`"),
            );
            label = Some(title);
        }
        Info { label, description: self.text(o, "description") }
    }

    fn bind(&mut self, n: &Node) -> Option<Bind> {
        let o = self.obj(n, "binds entry")?;
        let namespace = self.string(o, "namespace").unwrap_or_else(|| Sp::new(String::new(), o.span()));
        let keys = match o.get("keys") {
            Some(k) => match k.as_map() {
                Some(entries) => entries
                    .iter()
                    .filter_map(|(key, v)| match sp_str(v) {
                        Some(src) => Some((Sp::new(key.name.clone(), key.span), src)),
                        None => {
                            self.type_error(v, &key.name, "a string naming the source key");
                            None
                        }
                    })
                    .collect(),
                None => {
                    self.type_error(k, "keys", "a mapping of VARIABLE: source-key");
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        Some(Bind { namespace, location: self.string(o, "location"), keys, span: o.span() })
    }

    // ---- consumes -------------------------------------------------------------------------

    fn consumes_entry(&mut self, n: &Node, consumes: &mut Vec<Consumes>, imports: &mut Vec<Import>) {
        let Some(o) = self.obj(n, "consumes entry") else { return };
        if o.has("location") || o.has("import") {
            let location = self.string(o, "location");
            let import = self.string(o, "import");
            match (location, import) {
                (Some(location), Some(import)) => {
                    imports.push(Import { location, import, alias: self.string(o, "as"), span: o.span() })
                }
                (None, _) => self.push(
                    Diagnostic::new(Code::MissingField, o.span(), "consumes import has `import` but no `location`")
                        .help("add `location: ./path/to/shared-consumes.yaml`"),
                ),
                (_, None) => self.push(
                    Diagnostic::new(Code::MissingField, o.span(), "consumes import has `location` but no `import`")
                        .help("add `import: <namespace in that file>`"),
                ),
            }
            return;
        }
        if let Some(c) = self.consumes(o) {
            consumes.push(c);
        }
    }

    /// Reads an inline `type: http` consumes block (also used for imported files).
    pub(crate) fn consumes_node(&mut self, n: &Node) -> Option<Consumes> {
        let o = self.obj(n, "consumes entry")?;
        self.consumes(o)
    }

    fn consumes(&mut self, o: Obj) -> Option<Consumes> {
        let namespace = match self.string(o, "namespace") {
            Some(ns) => ns,
            None => {
                self.push(
                    Diagnostic::new(Code::MissingField, o.span(), "consumes entry has no `namespace`")
                        .help("add `namespace: my-api`; operations are called as `my-api.<operation>`"),
                );
                return None;
            }
        };
        let mut input_parameters = self.consumed_params(o);
        // Some files write consumes-level headers as a `headers:` mapping.
        if let Some(h) = o.get("headers").and_then(|h| h.as_map()) {
            for (k, v) in h {
                if let Some(val) = sp_str(v) {
                    input_parameters.push(ConsumedParam {
                        name: Sp::new(k.name.clone(), k.span),
                        location: Sp::new(ParamIn::Header, k.span),
                        value: Some(Sp::new(Value::String(val.value), val.span)),
                        ty: None,
                        required: None,
                        description: None,
                        span: k.span,
                    });
                }
            }
            if let Some(k) = o.node.get_key("headers") {
                self.push(
                    Diagnostic::new(Code::Deprecated, k.span, "`headers` is read as header `inputParameters`")
                        .help("declare each header as `inputParameters: [{name: X, in: header, value: …}]`"),
                );
            }
        }
        let mut authentication = o.get("authentication").and_then(|a| self.auth(a));
        if authentication.is_none()
            && let Some(a) = o.get("auth")
        {
            if let Some(k) = o.node.get_key("auth") {
                self.push(
                    Diagnostic::new(Code::Deprecated, k.span, "`auth` is read as `authentication`")
                        .help("rename `auth` to `authentication`"),
                );
            }
            authentication = self.auth(a);
        }
        let resources = self.list(o, "resources").iter().filter_map(|n| self.consumed_resource(n)).collect();
        Some(Consumes {
            namespace,
            kind: self.string(o, "type"),
            base_uri: self.string(o, "baseUri"),
            description: self.text(o, "description"),
            input_parameters,
            authentication,
            resources,
            imported_by: None,
            span: o.span(),
        })
    }

    fn consumed_resource(&mut self, n: &Node) -> Option<ConsumedResource> {
        let o = self.obj(n, "resource")?;
        let operations = self.list(o, "operations").iter().filter_map(|n| self.consumed_operation(n)).collect();
        Some(ConsumedResource {
            name: self.string(o, "name"),
            path: self.string(o, "path"),
            input_parameters: self.consumed_params(o),
            operations,
            span: o.span(),
        })
    }

    fn consumed_operation(&mut self, n: &Node) -> Option<ConsumedOperation> {
        let o = self.obj(n, "operation")?;
        let output_parameters =
            self.list(o, "outputParameters").iter().filter_map(|n| self.consumed_output(n)).collect();
        Some(ConsumedOperation {
            name: self.string(o, "name"),
            method: self.string(o, "method"),
            description: self.text(o, "description"),
            input_parameters: self.consumed_params(o),
            output_raw_format: self.string(o, "outputRawFormat"),
            output_schema: self.string(o, "outputSchema"),
            output_parameters,
            body: o.get("body").and_then(|b| self.body(b)),
            span: o.span(),
        })
    }

    fn consumed_params(&mut self, o: Obj) -> Vec<ConsumedParam> {
        self.list(o, "inputParameters").iter().filter_map(|n| self.consumed_param(n)).collect()
    }

    fn param_in(&mut self, o: Obj) -> Option<Sp<ParamIn>> {
        let s = self.string(o, "in")?;
        match ParamIn::parse(&s.value) {
            Some(p) => Some(Sp::new(p, s.span)),
            None if s.value == "formData" => {
                self.push(
                    Diagnostic::new(
                        Code::Tolerated,
                        s.span,
                        "`in: formData` (an OpenAPI 2 location) is read as `in: body`",
                    )
                    .help("write `in: body`; give the operation a `formUrlEncoded` body to send a form"),
                );
                Some(Sp::new(ParamIn::Body, s.span))
            }
            None => {
                self.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        s.span,
                        format!("unknown parameter location `in: {}`", s.value),
                    )
                    .help("use one of query, header, path, cookie, body, environment"),
                );
                None
            }
        }
    }

    fn consumed_param(&mut self, n: &Node) -> Option<ConsumedParam> {
        let o = self.obj(n, "input parameter")?;
        let Some(name) = self.string(o, "name") else {
            self.push(
                Diagnostic::new(Code::MissingField, o.span(), "input parameter has no `name`")
                    .help("add `name: <parameter>`"),
            );
            return None;
        };
        let location = self.param_in(o).unwrap_or(Sp::new(ParamIn::Body, o.span()));
        let value = self.value(o, "value").or_else(|| self.value(o, "const"));
        Some(ConsumedParam {
            name,
            location,
            value,
            ty: self.text(o, "type"),
            required: self.boolean(o, "required"),
            description: self.text(o, "description"),
            span: o.span(),
        })
    }

    fn consumed_output(&mut self, n: &Node) -> Option<ConsumedOutput> {
        let o = self.obj(n, "output parameter")?;
        let raw = self.value(o, "value").or_else(|| self.value(o, "const"));
        let mut mapping = self.string(o, "mapping");
        let mut value = None;
        if let Some(v) = raw {
            match &v.value {
                Value::String(s) if s.trim_start().starts_with('$') && mapping.is_none() => {
                    mapping = Some(Sp::new(s.clone(), v.span))
                }
                _ => value = Some(v),
            }
        }
        Some(ConsumedOutput { name: self.string(o, "name"), ty: self.text(o, "type"), mapping, value, span: o.span() })
    }

    fn body(&mut self, n: &Node) -> Option<Body> {
        match &n.kind {
            NodeKind::Map(_) => {
                let o = Obj { node: n };
                let mut kind = self.string(o, "type");
                if let Some(k) = kind.as_mut()
                    && k.value == "form"
                {
                    self.push(
                        Diagnostic::new(
                            Code::Tolerated,
                            k.span,
                            "request body `type: form` is read as `formUrlEncoded`",
                        )
                        .help("write `type: formUrlEncoded`"),
                    );
                    k.value = "formUrlEncoded".into();
                }
                match (kind, o.get("data")) {
                    (Some(kind), Some(data)) => {
                        Some(Body::Typed { kind, data: Sp::new(data.to_json(), data.span), span: n.span })
                    }
                    (None, Some(data)) => {
                        self.push(
                            Diagnostic::new(
                                Code::Tolerated,
                                n.span,
                                "request body has `data` but no `type`; sent as JSON",
                            )
                            .help("add `type: json` (or text, xml, sparql, formUrlEncoded, multipartForm)"),
                        );
                        Some(Body::Typed {
                            kind: Sp::new("json".into(), n.span),
                            data: Sp::new(data.to_json(), data.span),
                            span: n.span,
                        })
                    }
                    _ => {
                        // A bare mapping is a JSON body.
                        Some(Body::Typed {
                            kind: Sp::new("json".into(), n.span),
                            data: Sp::new(n.to_json(), n.span),
                            span: n.span,
                        })
                    }
                }
            }
            NodeKind::Str(s) => Some(Body::Raw(Sp::new(s.clone(), n.span))),
            NodeKind::Null => None,
            _ => Some(Body::Typed {
                kind: Sp::new("json".into(), n.span),
                data: Sp::new(n.to_json(), n.span),
                span: n.span,
            }),
        }
    }

    fn auth(&mut self, n: &Node) -> Option<Auth> {
        let o = self.obj(n, "authentication")?;
        let Some(kind) = self.string(o, "type") else {
            self.push(
                Diagnostic::new(Code::MissingField, o.span(), "authentication has no `type`")
                    .help("use one of bearer, basic, apikey, digest, oauth2"),
            );
            return None;
        };
        let mut key = self.string(o, "key");
        let mut placement = self.string(o, "placement");
        if kind.value == "apikey" {
            // Some files write apikey as `{in: header, name: X-Api-Key, value: …}`.
            if key.is_none()
                && let Some(name) = self.string(o, "name")
            {
                self.push(
                    Diagnostic::new(Code::Deprecated, name.span, "apikey `name` is read as `key`")
                        .help("rename `name` to `key`"),
                );
                key = Some(name);
            }
            if placement.is_none()
                && let Some(p) = self.string(o, "in")
            {
                self.push(
                    Diagnostic::new(Code::Deprecated, p.span, "apikey `in` is read as `placement`")
                        .help("rename `in` to `placement`"),
                );
                placement = Some(p);
            }
        }
        let scopes = self.list(o, "scopes").iter().filter_map(sp_str).collect();
        Some(Auth {
            username: self.string(o, "username"),
            password: self.string(o, "password"),
            token: self.string(o, "token"),
            key,
            value: self.string(o, "value"),
            placement,
            authorization_server_uri: self.string(o, "authorizationServerUri"),
            resource: self.string(o, "resource"),
            audience: self.string(o, "audience"),
            scopes,
            kind,
            span: o.span(),
        })
    }

    // ---- exposes --------------------------------------------------------------------------

    fn exposes(&mut self, n: &Node) -> Option<Exposes> {
        let o = self.obj(n, "exposes entry")?;
        let kind = self.string(o, "type");
        let adapter = match kind.as_ref().map(|k| k.value.as_str()) {
            Some("rest") => Adapter::Rest(RestAdapter {
                resources: self.list(o, "resources").iter().filter_map(|n| self.rest_resource(n)).collect(),
            }),
            Some("mcp") => Adapter::Mcp(McpAdapter {
                transport: self.string(o, "transport"),
                tools: self.list(o, "tools").iter().filter_map(|n| self.mcp_tool(n)).collect(),
                resources: self.list(o, "resources").iter().filter_map(|n| self.mcp_resource(n)).collect(),
                prompts: self.list(o, "prompts").iter().filter_map(|n| self.mcp_prompt(n)).collect(),
            }),
            Some("skill") => Adapter::Skill(SkillAdapter {
                skills: self.list(o, "skills").iter().filter_map(|n| self.skill(n)).collect(),
            }),
            Some("control") => {
                let management = o.get("management").and_then(|m| self.obj(m, "management"));
                Adapter::Control(ControlAdapter {
                    health: management.and_then(|m| self.boolean(m, "health")),
                    info: management.and_then(|m| self.boolean(m, "info")),
                })
            }
            _ => Adapter::Unknown,
        };
        Some(Exposes {
            kind,
            namespace: self.string(o, "namespace"),
            address: self.string(o, "address"),
            port: self.port(o),
            description: self.text(o, "description"),
            authentication: o.get("authentication").and_then(|a| self.auth(a)),
            adapter,
            span: o.span(),
        })
    }

    fn rest_resource(&mut self, n: &Node) -> Option<RestResource> {
        let o = self.obj(n, "resource")?;
        let forward = o.get("forward").and_then(|f| self.obj(f, "forward")).map(|f| Forward {
            target_namespace: self.string(f, "targetNamespace"),
            trusted_headers: self.list(f, "trustedHeaders").iter().filter_map(sp_str).collect(),
            span: f.span(),
        });
        let operations = self.list(o, "operations").iter().filter_map(|n| self.rest_operation(n)).collect();
        Some(RestResource {
            path: self.string(o, "path"),
            name: self.string(o, "name"),
            description: self.text(o, "description"),
            input_parameters: self.exposed_params(o),
            operations,
            forward,
            span: o.span(),
        })
    }

    fn rest_operation(&mut self, n: &Node) -> Option<RestOperation> {
        let o = self.obj(n, "operation")?;
        Some(RestOperation {
            method: self.string(o, "method"),
            name: self.string(o, "name"),
            label: self.text(o, "label"),
            description: self.text(o, "description"),
            input_parameters: self.exposed_params(o),
            handler: self.handler(o),
            span: o.span(),
        })
    }

    fn exposed_params(&mut self, o: Obj) -> Vec<ExposedParam> {
        self.list(o, "inputParameters").iter().filter_map(|n| self.exposed_param(n)).collect()
    }

    fn exposed_param(&mut self, n: &Node) -> Option<ExposedParam> {
        let o = self.obj(n, "input parameter")?;
        let Some(name) = self.string(o, "name") else {
            self.push(
                Diagnostic::new(Code::MissingField, o.span(), "input parameter has no `name`")
                    .help("add `name: <parameter>`"),
            );
            return None;
        };
        Some(ExposedParam {
            name,
            location: self.param_in(o),
            ty: self.string(o, "type"),
            description: self.text(o, "description"),
            pattern: self.string(o, "pattern"),
            required: self.boolean(o, "required"),
            value: self.value(o, "value").or_else(|| self.value(o, "const")),
            mapping: self.string(o, "mapping"),
            span: o.span(),
        })
    }

    /// `call`/`with`/`ref`/`steps`/`mappings`/`outputParameters`, shared by operations, tools,
    /// resources and aggregate functions.
    fn handler(&mut self, o: Obj) -> Handler {
        let mut with = self.with(o);
        let call = match o.get("call") {
            Some(c @ Node { kind: NodeKind::Map(_), .. }) => {
                // Object form `call: {operation: ns.op, with: {...}}`, which the reference engine accepts.
                let co = Obj { node: c };
                with.extend(self.with(co));
                let op = self.string(co, "operation");
                if op.is_none() {
                    self.push(
                        Diagnostic::new(Code::MissingField, c.span, "`call` object has no `operation`")
                            .help("write `call: namespace.operation`"),
                    );
                }
                op
            }
            _ => self.string(o, "call"),
        };
        let output_parameters = self.list(o, "outputParameters").iter().filter_map(|n| self.output_param(n)).collect();
        Handler {
            call,
            with,
            reference: self.string(o, "ref"),
            steps: self.list(o, "steps").iter().filter_map(|n| self.step(n)).collect(),
            mappings: self.list(o, "mappings").iter().filter_map(|n| self.mapping(n)).collect(),
            output_parameters,
        }
    }

    fn with(&mut self, o: Obj) -> Vec<WithEntry> {
        match o.get("with") {
            Some(w) => match w.as_map() {
                Some(entries) => entries
                    .iter()
                    .map(|(k, v)| WithEntry {
                        key: Sp::new(k.name.clone(), k.span),
                        value: Sp::new(v.to_json(), v.span),
                    })
                    .collect(),
                None => {
                    self.type_error(w, "with", "a mapping of parameter: value");
                    Vec::new()
                }
            },
            None => Vec::new(),
        }
    }

    fn step(&mut self, n: &Node) -> Option<Step> {
        let o = self.obj(n, "step")?;
        let kind = match self.string(o, "type") {
            Some(k) => k,
            None => {
                let inferred = if o.has("index") || o.has("lookupValue") {
                    "lookup"
                } else if o.has("call") {
                    "call"
                } else if o.has("file") || o.has("language") {
                    "script"
                } else {
                    ""
                };
                Sp::new(inferred.to_string(), o.span())
            }
        };
        let output_fields = self.list(o, "outputParameters").iter().filter_map(sp_str).collect();
        Some(Step {
            kind,
            name: self.string(o, "name"),
            call: self.string(o, "call"),
            with: self.with(o),
            index: self.string(o, "index"),
            match_field: self.string(o, "match"),
            lookup_value: self.string(o, "lookupValue"),
            output_fields,
            span: o.span(),
        })
    }

    fn mapping(&mut self, n: &Node) -> Option<Mapping> {
        let o = self.obj(n, "mapping")?;
        match (self.string(o, "targetName"), self.string(o, "value")) {
            (Some(target_name), Some(value)) => Some(Mapping { target_name, value }),
            _ => {
                self.push(
                    Diagnostic::new(Code::MissingField, o.span(), "mapping needs both `targetName` and `value`")
                        .help("write `- targetName: field` and `value: $.step-name.path`"),
                );
                None
            }
        }
    }

    fn output_param(&mut self, n: &Node) -> Option<OutputParam> {
        let o = self.obj(n, "output parameter")?;
        let mut value = self.value(o, "value");
        if value.is_none()
            && let Some(c) = self.value(o, "const")
        {
            // alpha1 `const` means alpha2 `value`.
            value = Some(c);
        }
        let properties = match o.get("properties") {
            Some(p) => match p.as_map() {
                Some(entries) => entries
                    .iter()
                    .filter_map(|(k, v)| self.output_param(v).map(|op| (Sp::new(k.name.clone(), k.span), op)))
                    .collect(),
                None => {
                    self.type_error(p, "properties", "a mapping of property name: output parameter");
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        let items = match o.get("items") {
            Some(i @ Node { kind: NodeKind::Seq(list), .. }) => {
                let _ = i;
                Some(Items::List(list.iter().filter_map(|n| self.output_param(n)).collect()))
            }
            Some(i) => self.output_param(i).map(|p| Items::One(Box::new(p))),
            None => None,
        };
        Some(OutputParam {
            name: self.string(o, "name"),
            ty: self.string(o, "type"),
            mapping: self.string(o, "mapping"),
            value,
            description: self.text(o, "description"),
            properties,
            items,
            span: o.span(),
        })
    }

    fn mcp_tool(&mut self, n: &Node) -> Option<McpTool> {
        let o = self.obj(n, "tool")?;
        let hints = o.get("hints").and_then(|h| self.obj(h, "hints")).map(|h| Hints {
            read_only: self.boolean(h, "readOnly").or_else(|| self.boolean(h, "readOnlyHint")),
            destructive: self.boolean(h, "destructive").or_else(|| self.boolean(h, "destructiveHint")),
            idempotent: self.boolean(h, "idempotent").or_else(|| self.boolean(h, "idempotentHint")),
            open_world: self.boolean(h, "openWorld").or_else(|| self.boolean(h, "openWorldHint")),
        });
        Some(McpTool {
            name: self.string(o, "name"),
            label: self.text(o, "label"),
            description: self.text(o, "description"),
            input_parameters: self.tool_params(o),
            hints,
            handler: self.handler(o),
            span: o.span(),
        })
    }

    fn tool_params(&mut self, o: Obj) -> Vec<ToolParam> {
        self.list(o, "inputParameters")
            .iter()
            .filter_map(|n| {
                let p = self.obj(n, "input parameter")?;
                let Some(name) = self.string(p, "name") else {
                    self.push(
                        Diagnostic::new(Code::MissingField, p.span(), "input parameter has no `name`")
                            .help("add `name: <argument>`"),
                    );
                    return None;
                };
                Some(ToolParam {
                    name,
                    ty: self.string(p, "type"),
                    description: self.text(p, "description"),
                    required: self.boolean(p, "required"),
                    span: p.span(),
                })
            })
            .collect()
    }

    fn mcp_resource(&mut self, n: &Node) -> Option<McpResource> {
        let o = self.obj(n, "resource")?;
        Some(McpResource {
            name: self.string(o, "name"),
            label: self.text(o, "label"),
            uri: self.string(o, "uri"),
            description: self.text(o, "description"),
            mime_type: self.string(o, "mimeType"),
            location: self.string(o, "location"),
            handler: self.handler(o),
            span: o.span(),
        })
    }

    fn mcp_prompt(&mut self, n: &Node) -> Option<McpPrompt> {
        let o = self.obj(n, "prompt")?;
        let arguments = self
            .list(o, "arguments")
            .iter()
            .filter_map(|n| {
                let a = self.obj(n, "prompt argument")?;
                let name = self.string(a, "name")?;
                Some(PromptArgument {
                    name,
                    label: self.text(a, "label"),
                    description: self.text(a, "description"),
                    required: self.boolean(a, "required"),
                })
            })
            .collect();
        let template = self
            .list(o, "template")
            .iter()
            .filter_map(|n| {
                let m = self.obj(n, "prompt message")?;
                Some(PromptMessage {
                    role: self.string(m, "role").unwrap_or_else(|| Sp::new("user".into(), m.span())),
                    content: self.string(m, "content")?,
                })
            })
            .collect();
        Some(McpPrompt {
            name: self.string(o, "name"),
            label: self.text(o, "label"),
            description: self.text(o, "description"),
            arguments,
            template,
            location: self.string(o, "location"),
            span: o.span(),
        })
    }

    fn skill(&mut self, n: &Node) -> Option<Skill> {
        let o = self.obj(n, "skill")?;
        let mut metadata = serde_json::Map::new();
        if let Some(entries) = o.node.as_map() {
            for (k, v) in entries {
                if !matches!(k.name.as_str(), "name" | "description" | "location" | "tools") {
                    metadata.insert(k.name.clone(), v.to_json());
                }
            }
        }
        let tools = self
            .list(o, "tools")
            .iter()
            .filter_map(|n| {
                let t = self.obj(n, "skill tool")?;
                let from = t.get("from").and_then(|f| self.obj(f, "from"));
                Some(SkillTool {
                    name: self.string(t, "name"),
                    description: self.text(t, "description"),
                    source_namespace: from.and_then(|f| self.string(f, "sourceNamespace")),
                    action: from.and_then(|f| self.string(f, "action")),
                    instruction: self.string(t, "instruction"),
                    span: t.span(),
                })
            })
            .collect();
        Some(Skill {
            name: self.string(o, "name"),
            description: self.text(o, "description"),
            location: self.string(o, "location"),
            metadata,
            tools,
            span: o.span(),
        })
    }

    fn aggregate(&mut self, n: &Node) -> Option<Aggregate> {
        let o = self.obj(n, "aggregate")?;
        let functions = self
            .list(o, "functions")
            .iter()
            .filter_map(|n| {
                let f = self.obj(n, "function")?;
                let semantics = f.get("semantics").and_then(|s| self.obj(s, "semantics")).map(|s| Semantics {
                    safe: self.boolean(s, "safe"),
                    idempotent: self.boolean(s, "idempotent"),
                    cacheable: self.boolean(s, "cacheable"),
                });
                Some(AggregateFunction {
                    name: self.string(f, "name"),
                    description: self.text(f, "description"),
                    semantics,
                    input_parameters: self.tool_params(f),
                    handler: self.handler(f),
                    span: f.span(),
                })
            })
            .collect();
        Some(Aggregate {
            namespace: self.string(o, "namespace"),
            label: self.text(o, "label"),
            functions,
            span: o.span(),
        })
    }
}
