//! The document model: one normalised shape for `naftiko` 1.0.0-alpha1, alpha2 and alpha3.
//!
//! Only what the runtime uses is modelled; everything carries the [`Span`] it was read from so
//! that later stages (checks, compilation) can point at it. Legacy spellings are normalised by
//! the reader (alpha1 `const` → `value`, `info.title` → `label`, object-form `call`, …).

use serde_json::Value;

use crate::source::Span;

/// A value with the position it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sp<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Sp<T> {
    /// Pairs a value with its position.
    pub fn new(value: T, span: Span) -> Sp<T> {
        Sp { value, span }
    }
}

impl Sp<String> {
    /// The string.
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

/// The specification version a document declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `1.0.0-alpha1`.
    Alpha1,
    /// `1.0.0-alpha2`.
    Alpha2,
    /// `1.0.0-alpha3` (the alpha2 shape with a new version string).
    Alpha3,
}

impl Version {
    /// Parses the `naftiko:` value.
    pub fn parse(s: &str) -> Option<Version> {
        match s.trim() {
            "1.0.0-alpha1" => Some(Version::Alpha1),
            "1.0.0-alpha2" => Some(Version::Alpha2),
            "1.0.0-alpha3" => Some(Version::Alpha3),
            _ => None,
        }
    }

    /// The version string.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Alpha1 => "1.0.0-alpha1",
            Version::Alpha2 => "1.0.0-alpha2",
            Version::Alpha3 => "1.0.0-alpha3",
        }
    }

    /// Every version we accept.
    pub const ALL: [Version; 3] = [Version::Alpha1, Version::Alpha2, Version::Alpha3];
}

/// A whole capability document, imports resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The declared version.
    pub version: Sp<Version>,
    /// Human metadata.
    pub info: Option<Info>,
    /// `binds` from the root and from `capability`, in that order.
    pub binds: Vec<Bind>,
    /// Consumed HTTP APIs: root-level ones, inline `capability.consumes`, then resolved imports.
    pub consumes: Vec<Consumes>,
    /// `capability.consumes` import declarations (already resolved into `consumes`).
    pub imports: Vec<Import>,
    /// What the capability serves.
    pub exposes: Vec<Exposes>,
    /// Shared domain functions referenced with `ref`.
    pub aggregates: Vec<Aggregate>,
    /// Where the `capability` block starts (the root when absent).
    pub capability_span: Option<Span>,
}

/// `info`: label and description shown to people and agents.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Info {
    /// `label` (or the legacy `title`).
    pub label: Option<Sp<String>>,
    /// `description`.
    pub description: Option<Sp<String>>,
}

/// A `binds` entry: where secret or configuration variables come from.
#[derive(Debug, Clone, PartialEq)]
pub struct Bind {
    /// The bind namespace (usable as `{{namespace.VAR}}`).
    pub namespace: Sp<String>,
    /// `location` URI (`file:///…`); none means environment variables.
    pub location: Option<Sp<String>>,
    /// `VAR: SOURCE` pairs, in order.
    pub keys: Vec<(Sp<String>, Sp<String>)>,
    /// The entry.
    pub span: Span,
}

/// A `consumes` import declaration (`location` + `import` + `as`).
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// Path or `file:` URI of the file to import from, relative to the importing file.
    pub location: Sp<String>,
    /// The namespace to take from that file.
    pub import: Sp<String>,
    /// The namespace to give it here.
    pub alias: Option<Sp<String>>,
    /// The entry.
    pub span: Span,
}

/// A consumed HTTP API (`type: http`).
#[derive(Debug, Clone, PartialEq)]
pub struct Consumes {
    /// The namespace `call`s use (after `as` for imports).
    pub namespace: Sp<String>,
    /// `type` (only `http` is defined).
    pub kind: Option<Sp<String>>,
    /// `baseUri`.
    pub base_uri: Option<Sp<String>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// Parameters applied to every operation.
    pub input_parameters: Vec<ConsumedParam>,
    /// Outbound credentials.
    pub authentication: Option<Auth>,
    /// Resources and their operations.
    pub resources: Vec<ConsumedResource>,
    /// The import this entry came from, when it was imported.
    pub imported_by: Option<Import>,
    /// The entry.
    pub span: Span,
}

/// A consumed resource: a path and the operations on it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumedResource {
    /// `name`.
    pub name: Option<Sp<String>>,
    /// `path`, with `{x}` or `{{x}}` placeholders.
    pub path: Option<Sp<String>>,
    /// Parameters applied to the resource's operations.
    pub input_parameters: Vec<ConsumedParam>,
    /// The operations.
    pub operations: Vec<ConsumedOperation>,
    /// The entry.
    pub span: Span,
}

/// One upstream HTTP operation.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumedOperation {
    /// `name`, what `call: ns.name` refers to.
    pub name: Option<Sp<String>>,
    /// HTTP method (`GET` when omitted).
    pub method: Option<Sp<String>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// Operation-level parameters.
    pub input_parameters: Vec<ConsumedParam>,
    /// `outputRawFormat` (`json` when omitted).
    pub output_raw_format: Option<Sp<String>>,
    /// `outputSchema`.
    pub output_schema: Option<Sp<String>>,
    /// Named extractions that shape a step's output.
    pub output_parameters: Vec<ConsumedOutput>,
    /// The request body template.
    pub body: Option<Body>,
    /// The entry.
    pub span: Span,
}

/// Where a parameter goes (consumed) or comes from (exposed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamIn {
    /// Query string.
    Query,
    /// HTTP header.
    Header,
    /// Path placeholder.
    Path,
    /// Cookie.
    Cookie,
    /// Request body.
    Body,
    /// Environment variable (alpha compatibility).
    Environment,
}

impl ParamIn {
    /// Parses an `in` value (case-insensitive).
    pub fn parse(s: &str) -> Option<ParamIn> {
        Some(match s.to_ascii_lowercase().as_str() {
            "query" => ParamIn::Query,
            "header" => ParamIn::Header,
            "path" => ParamIn::Path,
            "cookie" => ParamIn::Cookie,
            "body" => ParamIn::Body,
            "environment" | "env" => ParamIn::Environment,
            _ => return None,
        })
    }

    /// The spelling used in documents.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamIn::Query => "query",
            ParamIn::Header => "header",
            ParamIn::Path => "path",
            ParamIn::Cookie => "cookie",
            ParamIn::Body => "body",
            ParamIn::Environment => "environment",
        }
    }
}

/// A consumed operation's input parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumedParam {
    /// `name` (the query key, header name, placeholder, …).
    pub name: Sp<String>,
    /// `in` (`body` when omitted, as in the reference engine).
    pub location: Sp<ParamIn>,
    /// `value`: a template or literal that supplies the parameter.
    pub value: Option<Sp<Value>>,
    /// `type` (descriptive; used for MCP schemas).
    pub ty: Option<Sp<String>>,
    /// `required`.
    pub required: Option<bool>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// The entry.
    pub span: Span,
}

/// A consumed output parameter (`name` + `value: $.x`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumedOutput {
    /// `name`.
    pub name: Option<Sp<String>>,
    /// `type`.
    pub ty: Option<Sp<String>>,
    /// The JSONPath, when `value`/`mapping` starts with `$`.
    pub mapping: Option<Sp<String>>,
    /// A static value otherwise.
    pub value: Option<Sp<Value>>,
    /// The entry.
    pub span: Span,
}

/// A consumed operation's request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A raw string template, sent as JSON when it parses as JSON after rendering.
    Raw(Sp<String>),
    /// `{type, data}`: `json`, `text`, `xml`, `sparql`, `formUrlEncoded`, `multipartForm`.
    Typed {
        /// `type`.
        kind: Sp<String>,
        /// `data` (templates inside strings).
        data: Sp<Value>,
        /// The entry.
        span: Span,
    },
}

/// Credentials: outbound on `consumes`, inbound on exposed adapters.
#[derive(Debug, Clone, PartialEq)]
pub struct Auth {
    /// `type`.
    pub kind: Sp<String>,
    /// `username` (basic, digest).
    pub username: Option<Sp<String>>,
    /// `password` (basic, digest).
    pub password: Option<Sp<String>>,
    /// `token` (bearer).
    pub token: Option<Sp<String>>,
    /// `key` (apikey: header or query parameter name).
    pub key: Option<Sp<String>>,
    /// `value` (apikey).
    pub value: Option<Sp<String>>,
    /// `placement` (apikey: `header` or `query`).
    pub placement: Option<Sp<String>>,
    /// `authorizationServerUri` (oauth2).
    pub authorization_server_uri: Option<Sp<String>>,
    /// `resource` (oauth2).
    pub resource: Option<Sp<String>>,
    /// `audience` (oauth2).
    pub audience: Option<Sp<String>>,
    /// `scopes` (oauth2).
    pub scopes: Vec<Sp<String>>,
    /// The entry.
    pub span: Span,
}

/// The adapter types of `exposes`.
#[derive(Debug, Clone, PartialEq)]
pub enum Adapter {
    /// `type: rest`.
    Rest(RestAdapter),
    /// `type: mcp`.
    Mcp(McpAdapter),
    /// `type: skill`.
    Skill(SkillAdapter),
    /// `type: control`.
    Control(ControlAdapter),
    /// Anything else (reported as an error).
    Unknown,
}

/// `type: control`: the management endpoints (`management.health`, `management.info`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ControlAdapter {
    /// `management.health` (default true): `/health/live` and `/health/ready`.
    pub health: Option<bool>,
    /// `management.info` (default false): `/status`.
    pub info: Option<bool>,
}

/// An `exposes` entry: the fields all adapters share, and the adapter itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposes {
    /// `type`.
    pub kind: Option<Sp<String>>,
    /// `namespace`.
    pub namespace: Option<Sp<String>>,
    /// `address` to listen on.
    pub address: Option<Sp<String>>,
    /// `port` to listen on.
    pub port: Option<Sp<u16>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// Inbound credentials callers must present.
    pub authentication: Option<Auth>,
    /// The adapter-specific part.
    pub adapter: Adapter,
    /// The entry.
    pub span: Span,
}

/// A REST adapter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RestAdapter {
    /// Its resources (routes).
    pub resources: Vec<RestResource>,
}

/// A REST resource: a route and what it does.
#[derive(Debug, Clone, PartialEq)]
pub struct RestResource {
    /// `path`, with `{x}` / `{{x}}` parameters.
    pub path: Option<Sp<String>>,
    /// `name`.
    pub name: Option<Sp<String>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// Inputs shared by the resource's operations.
    pub input_parameters: Vec<ExposedParam>,
    /// The operations.
    pub operations: Vec<RestOperation>,
    /// Passthrough to a consumed namespace.
    pub forward: Option<Forward>,
    /// The entry.
    pub span: Span,
}

/// A REST operation.
#[derive(Debug, Clone, PartialEq)]
pub struct RestOperation {
    /// HTTP method (`GET` when omitted).
    pub method: Option<Sp<String>>,
    /// `name`.
    pub name: Option<Sp<String>>,
    /// `label`.
    pub label: Option<Sp<String>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// Declared inputs.
    pub input_parameters: Vec<ExposedParam>,
    /// What it executes.
    pub handler: Handler,
    /// The entry.
    pub span: Span,
}

/// `forward`: pass requests through to a consumed namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct Forward {
    /// `targetNamespace`.
    pub target_namespace: Option<Sp<String>>,
    /// `trustedHeaders`: request headers that may be passed upstream.
    pub trusted_headers: Vec<Sp<String>>,
    /// The entry.
    pub span: Span,
}

/// A declared input of a REST operation or resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ExposedParam {
    /// `name`.
    pub name: Sp<String>,
    /// `in` (`body` when omitted, as in the reference engine).
    pub location: Option<Sp<ParamIn>>,
    /// `type`.
    pub ty: Option<Sp<String>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// `pattern` the value must match.
    pub pattern: Option<Sp<String>>,
    /// `required`.
    pub required: Option<bool>,
    /// `value`: a default (or a JSONPath into the body when it starts with `$`).
    pub value: Option<Sp<Value>>,
    /// `mapping`: a JSONPath into the body.
    pub mapping: Option<Sp<String>>,
    /// The entry.
    pub span: Span,
}

/// What an exposed operation, tool, resource or aggregate function executes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Handler {
    /// `call: namespace.operation` (simple mode).
    pub call: Option<Sp<String>>,
    /// `with`: values injected into the call, in order.
    pub with: Vec<WithEntry>,
    /// `ref: aggregate.function`.
    pub reference: Option<Sp<String>>,
    /// Orchestration steps.
    pub steps: Vec<Step>,
    /// Orchestration mappings.
    pub mappings: Vec<Mapping>,
    /// Output shaping (or mock values).
    pub output_parameters: Vec<OutputParam>,
}

/// One `with` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct WithEntry {
    /// The parameter it feeds.
    pub key: Sp<String>,
    /// A reference (`rest.x`), a template or a literal.
    pub value: Sp<Value>,
}

/// An orchestration step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// `type`: `call`, `lookup` or `script` (inferred when omitted).
    pub kind: Sp<String>,
    /// `name`: where its output is stored.
    pub name: Option<Sp<String>>,
    /// `call` (call steps).
    pub call: Option<Sp<String>>,
    /// `with` (call steps).
    pub with: Vec<WithEntry>,
    /// `index`: the step whose output is searched (lookup steps).
    pub index: Option<Sp<String>>,
    /// `match`: the field compared (lookup steps).
    pub match_field: Option<Sp<String>>,
    /// `lookupValue`: the value(s) looked up (lookup steps).
    pub lookup_value: Option<Sp<String>>,
    /// Fields kept from the matched entry (lookup steps).
    pub output_fields: Vec<Sp<String>>,
    /// The entry.
    pub span: Span,
}

/// An orchestration mapping: `value` (a JSONPath over step outputs) into `targetName`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// `targetName` (dotted names build nested objects).
    pub target_name: Sp<String>,
    /// `value`.
    pub value: Sp<String>,
}

/// An output parameter: mapped (JSONPath), static/mock (`value`), or orchestrated (name + type).
#[derive(Debug, Clone, PartialEq)]
pub struct OutputParam {
    /// `name`.
    pub name: Option<Sp<String>>,
    /// `type`.
    pub ty: Option<Sp<String>>,
    /// `mapping`: a JSONPath.
    pub mapping: Option<Sp<String>>,
    /// `value` (alpha1 `const`): a static value or template.
    pub value: Option<Sp<Value>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// `properties` of an object, in order.
    pub properties: Vec<(Sp<String>, OutputParam)>,
    /// `items` of an array.
    pub items: Option<Items>,
    /// The entry.
    pub span: Span,
}

/// `items` of an array output: one shape, or (orchestrated form) a list of named fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Items {
    /// `items: {type, mapping, properties…}`.
    One(Box<OutputParam>),
    /// `items: [{name, type}, …]`.
    List(Vec<OutputParam>),
}

/// An MCP adapter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct McpAdapter {
    /// `transport`: `http` (default) or `stdio`.
    pub transport: Option<Sp<String>>,
    /// Tools.
    pub tools: Vec<McpTool>,
    /// Resources.
    pub resources: Vec<McpResource>,
    /// Prompts.
    pub prompts: Vec<McpPrompt>,
}

/// An MCP tool.
#[derive(Debug, Clone, PartialEq)]
pub struct McpTool {
    /// `name`.
    pub name: Option<Sp<String>>,
    /// `label` (the tool title).
    pub label: Option<Sp<String>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// Declared arguments.
    pub input_parameters: Vec<ToolParam>,
    /// Behaviour hints.
    pub hints: Option<Hints>,
    /// What it executes.
    pub handler: Handler,
    /// The entry.
    pub span: Span,
}

/// A declared tool (or aggregate function) argument.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolParam {
    /// `name`.
    pub name: Sp<String>,
    /// `type`.
    pub ty: Option<Sp<String>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// `required` (defaults to true).
    pub required: Option<bool>,
    /// The entry.
    pub span: Span,
}

/// MCP tool hints.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hints {
    /// `readOnly`.
    pub read_only: Option<bool>,
    /// `destructive`.
    pub destructive: Option<bool>,
    /// `idempotent`.
    pub idempotent: Option<bool>,
    /// `openWorld`.
    pub open_world: Option<bool>,
}

/// An MCP resource: static files (`location`) or dynamic (`call`/`steps`).
#[derive(Debug, Clone, PartialEq)]
pub struct McpResource {
    /// `name`.
    pub name: Option<Sp<String>>,
    /// `label`.
    pub label: Option<Sp<String>>,
    /// `uri` (may be a URI template).
    pub uri: Option<Sp<String>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// `mimeType`.
    pub mime_type: Option<Sp<String>>,
    /// `location`: a `file:///` directory.
    pub location: Option<Sp<String>>,
    /// What a dynamic resource executes.
    pub handler: Handler,
    /// The entry.
    pub span: Span,
}

/// An MCP prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct McpPrompt {
    /// `name`.
    pub name: Option<Sp<String>>,
    /// `label`.
    pub label: Option<Sp<String>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// Arguments.
    pub arguments: Vec<PromptArgument>,
    /// Inline messages.
    pub template: Vec<PromptMessage>,
    /// A `file:///` template instead of inline messages.
    pub location: Option<Sp<String>>,
    /// The entry.
    pub span: Span,
}

/// A prompt argument.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptArgument {
    /// `name`.
    pub name: Sp<String>,
    /// `label`.
    pub label: Option<Sp<String>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// `required` (defaults to true).
    pub required: Option<bool>,
}

/// An inline prompt message.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptMessage {
    /// `role`: `user` or `assistant`.
    pub role: Sp<String>,
    /// `content` with `{{argument}}` placeholders.
    pub content: Sp<String>,
}

/// A Skill adapter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SkillAdapter {
    /// The skills it serves.
    pub skills: Vec<Skill>,
}

/// One skill.
#[derive(Debug, Clone, PartialEq)]
pub struct Skill {
    /// `name`.
    pub name: Option<Sp<String>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// `location`: a `file:///` directory with the skill's files.
    pub location: Option<Sp<String>>,
    /// Every other field (license, metadata, …), as written.
    pub metadata: serde_json::Map<String, Value>,
    /// Its tools.
    pub tools: Vec<SkillTool>,
    /// The entry.
    pub span: Span,
}

/// A skill tool: derived from an adapter's operation, or an instruction.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillTool {
    /// `name`.
    pub name: Option<Sp<String>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// `from.sourceNamespace`.
    pub source_namespace: Option<Sp<String>>,
    /// `from.action`.
    pub action: Option<Sp<String>>,
    /// `instruction`: a file in the skill's location.
    pub instruction: Option<Sp<String>>,
    /// The entry.
    pub span: Span,
}

/// An aggregate: a namespace of domain functions.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// `namespace`.
    pub namespace: Option<Sp<String>>,
    /// `label`.
    pub label: Option<Sp<String>>,
    /// The functions.
    pub functions: Vec<AggregateFunction>,
    /// The entry.
    pub span: Span,
}

/// A domain function shared by REST operations and MCP tools through `ref`.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateFunction {
    /// `name`.
    pub name: Option<Sp<String>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// `semantics`.
    pub semantics: Option<Semantics>,
    /// Declared arguments.
    pub input_parameters: Vec<ToolParam>,
    /// What it executes.
    pub handler: Handler,
    /// The entry.
    pub span: Span,
}

/// Aggregate function semantics (hints are derived from them).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Semantics {
    /// `safe`: no side effects.
    pub safe: Option<bool>,
    /// `idempotent`.
    pub idempotent: Option<bool>,
    /// `cacheable`.
    pub cacheable: Option<bool>,
}

impl Document {
    /// The consumed namespace with this name.
    pub fn consumes(&self, namespace: &str) -> Option<&Consumes> {
        self.consumes.iter().find(|c| c.namespace.value == namespace)
    }

    /// The aggregate with this namespace.
    pub fn aggregate(&self, namespace: &str) -> Option<&Aggregate> {
        self.aggregates.iter().find(|a| a.namespace.as_ref().is_some_and(|n| n.value == namespace))
    }
}

impl Consumes {
    /// Every operation with the resource it belongs to, in declaration order.
    pub fn operations(&self) -> impl Iterator<Item = (&ConsumedResource, &ConsumedOperation)> {
        self.resources.iter().flat_map(|r| r.operations.iter().map(move |o| (r, o)))
    }

    /// The first operation named `name` and its resource.
    pub fn operation(&self, name: &str) -> Option<(&ConsumedResource, &ConsumedOperation)> {
        self.operations().find(|(_, o)| o.name.as_ref().is_some_and(|n| n.value == name))
    }
}

impl Exposes {
    /// The `type` as text.
    pub fn kind_str(&self) -> &str {
        self.kind.as_ref().map(|k| k.value.as_str()).unwrap_or("")
    }
}

/// A `call` resolved to the consumed operation it names.
#[derive(Debug, Clone)]
pub struct ResolvedCall<'d> {
    /// The consumed namespace.
    pub consumes: &'d Consumes,
    /// The resource holding the operation.
    pub resource: &'d ConsumedResource,
    /// The operation.
    pub operation: &'d ConsumedOperation,
    /// How the call was resolved when it did not match exactly (reported as a warning).
    pub tolerated: Option<String>,
}

/// A name compared loosely: lower case, without `-` and `_`.
pub fn loose_name(s: &str) -> String {
    s.chars().filter(|c| *c != '-' && *c != '_').flat_map(char::to_lowercase).collect()
}

/// Why a `call` does not resolve, with the names that exist (for suggestions).
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// Not `namespace.operation`.
    Malformed,
    /// No consumed namespace has this name; the existing ones follow.
    UnknownNamespace(String, Vec<String>),
    /// The namespace has no such operation; its operations follow.
    UnknownOperation(String, String, Vec<String>),
}

impl Document {
    /// Resolves `call: namespace.operation` (also `namespace.resource.operation`).
    pub fn resolve_call(&self, call: &str) -> Result<ResolvedCall<'_>, CallError> {
        let call = call.trim();
        let Some((ns, rest)) = call.split_once('.') else { return Err(CallError::Malformed) };
        if ns.is_empty() || rest.is_empty() {
            return Err(CallError::Malformed);
        }
        let Some(consumes) = self.consumes(ns) else {
            return Err(CallError::UnknownNamespace(
                ns.to_string(),
                self.consumes.iter().map(|c| c.namespace.value.clone()).collect(),
            ));
        };
        if let Some((resource, operation)) = consumes.operation(rest) {
            return Ok(ResolvedCall { consumes, resource, operation, tolerated: None });
        }
        if let Some((res_name, op_name)) = rest.split_once('.')
            && let Some((resource, operation)) = consumes.operations().find(|(r, o)| {
                r.name.as_ref().is_some_and(|n| n.value == res_name)
                    && o.name.as_ref().is_some_and(|n| n.value == op_name)
            })
        {
            return Ok(ResolvedCall {
                consumes,
                resource,
                operation,
                tolerated: Some(format!("read as `{ns}.{op_name}` (the resource name is not part of a call)")),
            });
        }
        // Tolerant match: the same name ignoring case, `-` and `_` — when exactly one operation fits.
        let key = loose_name(rest);
        let mut loose =
            consumes.operations().filter(|(_, o)| o.name.as_ref().is_some_and(|n| loose_name(&n.value) == key));
        if let (Some((resource, operation)), None) = (loose.next(), loose.next()) {
            let actual = operation.name.as_ref().map(|n| n.value.as_str()).unwrap_or_default();
            return Ok(ResolvedCall {
                consumes,
                resource,
                operation,
                tolerated: Some(format!("matched operation `{ns}.{actual}` ignoring case, `-` and `_`")),
            });
        }
        Err(CallError::UnknownOperation(
            ns.to_string(),
            rest.to_string(),
            consumes.operations().filter_map(|(_, o)| o.name.as_ref().map(|n| n.value.clone())).collect(),
        ))
    }

    /// Resolves `ref: aggregate.function`.
    pub fn resolve_ref(&self, reference: &str) -> Option<(&Aggregate, &AggregateFunction)> {
        let (ns, name) = reference.trim().split_once('.')?;
        let agg = self.aggregate(ns)?;
        let f = agg.functions.iter().find(|f| f.name.as_ref().is_some_and(|n| n.value == name))?;
        Some((agg, f))
    }

    /// Every bind variable name declared, with the namespace that declares it.
    pub fn bind_variables(&self) -> impl Iterator<Item = (&str, &str)> {
        self.binds.iter().flat_map(|b| b.keys.iter().map(move |(k, _)| (b.namespace.value.as_str(), k.value.as_str())))
    }
}
