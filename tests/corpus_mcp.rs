//! Resources and prompts declared in the shared corpus (the framework's MCP test capability
//! among them) list, read and render: every runnable file with an MCP adapter that declares
//! resources or prompts is served (upstream pointed at a local echo), each resource is read
//! (templates filled with sample values) and each prompt rendered with sample arguments.

mod support;

use naftiko_engine::http::{ExecutorConfig, HttpExecutor};
use naftiko_engine::invoke::Engine;
use naftiko_engine::plan::{Capability, Options};
use naftiko_spec::corpus::CorpusFs;
use serde_json::{Value, json};
use support::mcp::McpHttp;
use support::upstream::Upstream;

#[tokio::test(flavor = "multi_thread")]
async fn corpus_resources_and_prompts_list_read_and_render() {
    let Some(shared) = support::shared_dir() else { return };
    let corpus = CorpusFs::open(&shared.join("corpus")).expect("manifest");
    let upstream = Upstream::start().await;
    let engine = Engine::new(HttpExecutor::new(ExecutorConfig::default()), false);
    let (mut adapters, mut resources_read, mut prompts_rendered) = (0, 0, 0);
    let placeholder = regex::Regex::new(r"\{([^}]+)\}").unwrap();
    for entry in &corpus.entries {
        let v = naftiko_spec::validate_with(&entry.virtual_path, &corpus);
        let Some(mut doc) = v.document.filter(|_| v.diagnostics.iter().all(|d| !d.is_error())) else { continue };
        for b in &mut doc.binds {
            b.location = None;
        }
        let binds = naftiko_engine::binds::resolve(&doc, &entry.virtual_path, &|k| Some(format!("dummy-{k}"))).unwrap();
        let options = Options { base_uris: vec![("*".into(), upstream.url())], ..Options::default() };
        let capability =
            Capability::compile(&doc, &binds, &options).unwrap_or_else(|e| panic!("{}: {:?}", entry.local_name, e));
        for adapter in capability.mcp.iter().filter(|a| !a.resources.is_empty() || !a.prompts.is_empty()) {
            adapters += 1;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = naftiko_mcp::server(adapter, engine.clone(), std::path::Path::new("."));
            let app = naftiko_mcp::http_app(server, addr, None, Default::default());
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            let mcp = McpHttp::new(format!("http://{addr}/mcp"));
            let info = mcp.initialize().await;
            let what = &entry.local_name;

            if !adapter.resources.is_empty() {
                assert!(info["capabilities"]["resources"].is_object(), "{what}: resources advertised");
                let listed = mcp.request("resources/list", json!({})).await["result"]["resources"].clone();
                let templates =
                    mcp.request("resources/templates/list", json!({})).await["result"]["resourceTemplates"].clone();
                let total = listed.as_array().unwrap().len() + templates.as_array().unwrap().len();
                assert!(total >= 1, "{what}: resources listed");
                let mut uris: Vec<String> =
                    listed.as_array().unwrap().iter().map(|r| r["uri"].as_str().unwrap().to_string()).collect();
                for t in templates.as_array().unwrap() {
                    let template = t["uriTemplate"].as_str().unwrap();
                    let filled = placeholder.replace_all(template, "sample-$1").to_string();
                    uris.push(filled);
                }
                for uri in uris {
                    upstream.clear();
                    let read = mcp.request("resources/read", json!({"uri": uri})).await;
                    let contents = &read["result"]["contents"];
                    assert!(contents[0]["text"].is_string(), "{what}: read {uri}: {read}");
                    assert_eq!(contents[0]["uri"], json!(uri), "{what}");
                    if uri.contains("sample-") {
                        // Template values reach the upstream.
                        let sent = upstream.requests();
                        assert!(sent.iter().any(|r| r.path.contains("sample-")), "{what}: {uri} → {sent:?}");
                    }
                    resources_read += 1;
                }
            }
            if !adapter.prompts.is_empty() {
                let listed = mcp.request("prompts/list", json!({})).await["result"]["prompts"].clone();
                let names: Vec<&str> = listed.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
                let declared: Vec<&str> =
                    adapter.prompts.iter().filter_map(|p| p.name.as_ref().map(|n| n.value.as_str())).collect();
                assert_eq!(names, declared, "{what}: prompts in declaration order");
                for p in listed.as_array().unwrap() {
                    let mut args = serde_json::Map::new();
                    for a in p["arguments"].as_array().into_iter().flatten() {
                        let n = a["name"].as_str().unwrap();
                        args.insert(n.to_string(), Value::String(format!("<{n}>")));
                    }
                    let got = mcp.request("prompts/get", json!({"name": p["name"], "arguments": args})).await;
                    let messages = got["result"]["messages"].as_array().unwrap_or_else(|| panic!("{what}: {got}"));
                    assert!(!messages.is_empty());
                    for m in messages {
                        let text = m["content"]["text"].as_str().unwrap();
                        for n in args.keys() {
                            assert!(!text.contains(&format!("{{{{{n}}}}}")), "{what}: `{n}` left unfilled in {text}");
                        }
                    }
                    let required: Vec<&str> = p["arguments"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|a| a["required"] == true)
                        .map(|a| a["name"].as_str().unwrap())
                        .collect();
                    if !required.is_empty() {
                        let missing = mcp.request("prompts/get", json!({"name": p["name"], "arguments": {}})).await;
                        assert_eq!(missing["error"]["code"], -32602, "{what}: required arguments are enforced");
                    }
                    prompts_rendered += 1;
                }
            }
            task.abort();
        }
    }
    println!(
        "corpus MCP: {adapters} adapters with resources or prompts; {resources_read} resources read, {prompts_rendered} prompts rendered"
    );
    assert!(
        adapters >= 1 && resources_read >= 2 && prompts_rendered >= 2,
        "{adapters} {resources_read} {prompts_rendered}"
    );
}
