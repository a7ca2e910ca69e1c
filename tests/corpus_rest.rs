//! For every corpus file without errors: its REST adapters start (on free ports, base URIs
//! pointed at a local echo upstream) and every simple-mode REST operation, called with sample
//! values, reaches the upstream with the consumed operation's method and filled-in path.
//! Writes `target/reports/corpus-rest.md` with the totals and every failure with its reason.

mod support;

use std::collections::HashMap;
use std::fmt::Write;

use naftiko_engine::http::{ExecutorConfig, HttpExecutor};
use naftiko_engine::invoke::Engine;
use naftiko_engine::plan::handler::Kind;
use naftiko_engine::plan::{Capability, Options};
use naftiko_spec::corpus::CorpusFs;
use naftiko_spec::expr::{Part, parse_path_template};
use naftiko_spec::model::ParamIn;
use support::upstream::Upstream;

#[tokio::test(flavor = "multi_thread")]
async fn corpus_rest_operations_reach_the_upstream() {
    let Some(shared) = support::shared_dir() else { return };
    let corpus = CorpusFs::open(&shared.join("corpus")).expect("manifest");
    let upstream = Upstream::start().await;
    let engine = Engine::new(HttpExecutor::new(ExecutorConfig::default()), false);
    let client = reqwest::Client::new();
    let (mut files, mut adapters, mut exercised, mut correct) = (0, 0, 0, 0);
    let mut failures: Vec<String> = Vec::new();
    let mut skipped: HashMap<&'static str, usize> = HashMap::new();
    for entry in &corpus.entries {
        let v = naftiko_spec::validate_with(&entry.virtual_path, &corpus);
        if !v.is_ok() {
            continue;
        }
        let Some(mut doc) = v.document else { continue };
        // Every bind gets a dummy value; file binds are read as environment binds here.
        for b in &mut doc.binds {
            b.location = None;
        }
        let binds = naftiko_engine::binds::resolve(&doc, &entry.virtual_path, &|k| Some(format!("dummy-{k}")))
            .expect("env binds");
        let options =
            Options { base_uris: vec![("*".into(), format!("{}/base", upstream.url()))], ..Options::default() };
        let capability = match Capability::compile(&doc, &binds, &options) {
            Ok(c) => c,
            Err(diags) => {
                failures.push(format!("{}: does not compile: {}", entry.local_name, diags[0].message));
                continue;
            }
        };
        files += 1;
        for adapter in &capability.rest {
            adapters += 1;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (adapter_owned, engine_owned) = (adapter.clone(), engine.clone());
            let server = tokio::spawn(async move {
                let _ = naftiko_rest::serve(
                    listener,
                    &adapter_owned,
                    engine_owned,
                    naftiko_http::ConnectionPolicy::default(),
                    std::future::pending(),
                    false,
                )
                .await;
            });
            for route in &adapter.routes {
                for op in &route.operations {
                    let Kind::Simple(plan) = &op.handler.kind else {
                        *skipped.entry("not simple mode").or_default() += 1;
                        continue;
                    };
                    exercised += 1;
                    // Sample values: each route variable `v-<name>`, declared inputs typed.
                    let mut path = String::new();
                    for part in parse_path_template(&route.path).map(|t| t.parts).unwrap_or_default() {
                        match part {
                            Part::Lit(s) => path.push_str(&s),
                            Part::Var(v) => {
                                let numeric = op.declared.iter().any(|d| {
                                    d.name == v
                                        && matches!(
                                            d.ty,
                                            naftiko_engine::plan::shape::Ty::Number
                                                | naftiko_engine::plan::shape::Ty::Integer
                                        )
                                });
                                path.push_str(&if numeric { "1".to_string() } else { format!("v-{v}") })
                            }
                        }
                    }
                    let mut query = Vec::new();
                    let mut headers = Vec::new();
                    let mut body = serde_json::Map::new();
                    for d in &op.declared {
                        let sample = match d.ty {
                            naftiko_engine::plan::shape::Ty::Number | naftiko_engine::plan::shape::Ty::Integer => {
                                "1".to_string()
                            }
                            naftiko_engine::plan::shape::Ty::Boolean => "true".to_string(),
                            _ => format!("v-{}", d.name),
                        };
                        match d.location {
                            ParamIn::Query => query.push((d.name.clone(), sample)),
                            // Declared in the path but not a route variable: the caller passes it by name.
                            ParamIn::Path if !route.vars.contains(&d.name) => query.push((d.name.clone(), sample)),
                            ParamIn::Header => headers.push((d.name.clone(), sample)),
                            ParamIn::Body => {
                                body.insert(d.name.clone(), serde_json::Value::String(sample));
                            }
                            _ => {}
                        }
                    }
                    // What picks the operation on a path with a `#…` fragment (selector.rs).
                    for c in &op.selector.0 {
                        let value = c.value.clone().unwrap_or_else(|| format!("v-{}", c.name));
                        match naftiko_engine::plan::selector::default_location(&c.name) {
                            ParamIn::Header => headers.push((c.name.clone(), value)),
                            _ => query.push((c.name.clone(), value)),
                        }
                    }
                    // Values for consumed parameters the operation must send (required ones,
                    // unless the consumed path's fragment supplies them).
                    for p in &plan.params {
                        if p.required && p.value.is_none() && p.default.is_none() {
                            match p.location {
                                ParamIn::Query => query.push((p.name.clone(), format!("v-{}", p.name))),
                                ParamIn::Header => headers.push((p.name.clone(), format!("v-{}", p.name))),
                                ParamIn::Body => {
                                    body.entry(p.name.clone())
                                        .or_insert(serde_json::Value::String(format!("v-{}", p.name)));
                                }
                                _ => {}
                            }
                        }
                    }
                    // Values the caller supplies by name: `with` references and consumed
                    // placeholders that no route variable carries (sent as query parameters).
                    let mut by_name: Vec<String> = op
                        .handler
                        .with
                        .iter()
                        .filter_map(|(_, v)| match v {
                            naftiko_engine::plan::handler::WithValue::Ref(n) => Some(n.clone()),
                            _ => None,
                        })
                        .collect();
                    for piece in &plan.path {
                        if let naftiko_engine::plan::request::PathPiece::Var(name, None) = piece {
                            let fed = op.handler.with.iter().any(|(k, _)| k == name);
                            if !fed {
                                by_name.push(name.clone());
                            }
                        }
                    }
                    let loose = |s: &str| s.replace('_', "-").to_ascii_lowercase();
                    for name in by_name {
                        let on_route = route.vars.iter().any(|v| loose(v) == loose(&name));
                        let declared = op.declared.iter().any(|d| loose(&d.name) == loose(&name));
                        if !on_route && !declared && !query.iter().any(|(k, _)| k == &name) && name != "body" {
                            query.push((name.clone(), format!("v-{name}")));
                        }
                    }
                    upstream.clear();
                    let mut req = client.request(op.method.clone(), format!("http://{addr}{path}")).query(&query);
                    for (k, v) in &headers {
                        req = req.header(k.as_str(), v.as_str());
                    }
                    if !body.is_empty() {
                        req = req.json(&body);
                    }
                    let what = format!("{}: {} {}", entry.local_name, op.method, route.path);
                    let resp = match req.send().await {
                        Ok(r) => r,
                        Err(e) => {
                            failures.push(format!("{what}: request failed: {e}"));
                            continue;
                        }
                    };
                    let status = resp.status();
                    let text = resp.text().await.unwrap_or_default();
                    let requests = upstream.requests();
                    let Some(sent) = requests.first() else {
                        failures.push(format!(
                            "{what}: nothing reached the upstream; answered {status}: {}",
                            text.chars().take(200).collect::<String>()
                        ));
                        continue;
                    };
                    match check_request(plan, sent) {
                        Ok(()) => correct += 1,
                        Err(why) => failures.push(format!("{what}: {why}")),
                    }
                }
            }
            server.abort();
        }
    }
    let mut report = String::new();
    writeln!(report, "# Corpus REST operations\n").unwrap();
    writeln!(report, "{files} runnable files, {adapters} REST adapters; {exercised} simple-mode operations exercised, {correct} correct").unwrap();
    for (k, n) in &skipped {
        writeln!(report, "- skipped ({k}): {n}").unwrap();
    }
    writeln!(report, "\n## Failures ({})\n", failures.len()).unwrap();
    for f in &failures {
        writeln!(report, "- {f}").unwrap();
    }
    let path = support::report_dir().join("corpus-rest.md");
    std::fs::write(&path, &report).unwrap();
    println!("{report}\nreport: {}", path.display());
    assert!(files > 200, "only {files} files compiled");
    assert_eq!(correct, exercised, "see {}", path.display());
}

/// The upstream request matches the consumed operation: method, and a path that fills every
/// placeholder with a non-empty value.
fn check_request(plan: &naftiko_engine::plan::RequestPlan, sent: &support::upstream::Recorded) -> Result<(), String> {
    if !sent.method.eq_ignore_ascii_case(plan.method.as_str()) {
        return Err(format!("method {} instead of {}", sent.method, plan.method));
    }
    // The expected path: `/base` joined with the consumed path (exactly one `/`), placeholders
    // as capture groups; a URL fragment (`#…`) is never sent.
    let mut pattern = String::new();
    for piece in &plan.path {
        match piece {
            naftiko_engine::plan::request::PathPiece::Lit(s) => pattern.push_str(&regex_escape(s)),
            naftiko_engine::plan::request::PathPiece::Var(..) => pattern.push_str("([^/]+)"),
        }
    }
    let pattern = format!("^/base/{}/?$", pattern.trim_start_matches('/')).replace("//", "/");
    let re = regex::Regex::new(&pattern).map_err(|e| e.to_string())?;
    let path = sent.path.replace("//", "/");
    let Some(caps) = re.captures(&path).or_else(|| re.captures(path.trim_end_matches('/'))) else {
        return Err(format!("path `{}` does not fill `{}`", sent.path, pattern));
    };
    // What the consumed path's fragment names is sent (unless the caller's value replaced it).
    for p in plan.params.iter().filter(|p| p.default.is_some()) {
        let sent_it = match p.location {
            ParamIn::Header => sent.header(&p.name).is_some(),
            _ => sent.query.as_deref().unwrap_or("").split('&').any(|kv| kv.split('=').next() == Some(&p.name)),
        };
        if !sent_it {
            return Err(format!("`{}` ({}) from the path's fragment was not sent", p.name, p.location.as_str()));
        }
    }
    // Placeholders must carry the sample values (not a reference's literal text).
    for value in caps.iter().skip(1).flatten() {
        let v = value.as_str();
        if !(v.starts_with("v-") || v.starts_with("dummy-") || v == "1" || v == "true") {
            return Err(format!("path `{}`: a placeholder was filled with `{v}`", sent.path));
        }
    }
    Ok(())
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
