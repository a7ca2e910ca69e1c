//! `naftiko validate` end to end: exit codes, output formats, and bad input — each bad input
//! gets a precise diagnostic, within bounded time (a hang guard) and memory (`ulimit -v`).

mod support;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `naftiko validate ARGS` under a 1 GiB address-space limit; kills it after 60 s.
fn validate(args: &[&str]) -> (i32, String) {
    let bin = support::naftiko_bin();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1048576; exec \"$0\" validate \"$@\"")
        .arg(&bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn naftiko");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut out = String::new();
            child.stdout.take().expect("stdout").read_to_string(&mut out).expect("read stdout");
            return (status.code().unwrap_or(-1), out);
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("naftiko validate {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write fixture");
    p.display().to_string()
}

const HEADER: &str = "naftiko: 1.0.0-alpha2\ninfo:\n  label: Test\n  description: A test capability.\n";

fn capability(body: &str) -> String {
    format!("{HEADER}{body}")
}

/// A small valid capability: one consumed API, REST and MCP adapters.
fn valid() -> String {
    capability(
        r#"binds:
  - namespace: env
    keys:
      API_TOKEN: API_TOKEN
capability:
  consumes:
    - type: http
      namespace: things
      baseUri: https://api.example.com/v1
      authentication:
        type: bearer
        token: "{{API_TOKEN}}"
      resources:
        - name: thing
          path: /things/{id}
          operations:
            - name: get-thing
              method: GET
  exposes:
    - type: rest
      port: 8080
      namespace: api
      resources:
        - path: /things/{id}
          operations:
            - method: GET
              call: things.get-thing
              with:
                id: rest.id
    - type: mcp
      port: 9090
      namespace: tools
      tools:
        - name: get-thing
          description: Get a thing.
          call: things.get-thing
          with:
            id: tools.id
"#,
    )
}

#[test]
fn a_valid_capability_exits_zero_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "ok.yaml", valid());
    let (code, out) = validate(&[&f]);
    assert_eq!(code, 0, "{out}");
    assert!(out.trim_end().ends_with(&format!("{f}: ok")), "{out}");
}

#[test]
fn kombo_capability_is_valid() {
    let kombo = support::workspace_root().join("capabilities/kombo-general.yaml");
    let (code, out) = validate(&[kombo.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("error["), "{out}");
    assert!(out.contains("kombo-general.yaml: ok ("), "{out}");
}

#[test]
fn shipyard_tutorial_steps_have_no_errors() {
    let Some(shared) = support::shared_dir() else { return };
    let dir = shared.join("conformance/shipyard");
    let mut steps: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("step-")))
        .collect();
    steps.sort();
    assert_eq!(steps.len(), 11);
    for step in steps {
        let (code, out) = validate(&[step.to_str().unwrap()]);
        assert_eq!(code, 0, "{}:\n{out}", step.display());
        assert!(!out.contains("unresolved-import"), "{out}");
    }
}

#[test]
fn json_format_prints_one_object_per_diagnostic_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "bad.yaml",
        valid().replace("call: things.get-thing\n              with", "call: things.get-thin\n              with"),
    );
    let (code, out) = validate(&["--format", "json", &f]);
    assert_eq!(code, 1, "{out}");
    let lines: Vec<serde_json::Value> =
        out.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    let d = lines.iter().find(|l| l["code"] == "unknown-call").expect("unknown-call reported");
    assert_eq!(d["severity"], "error");
    assert!(d["line"].as_u64().unwrap() > 0 && d["column"].as_u64().unwrap() > 0);
    assert_eq!(d["help"], "did you mean `things.get-thing`?");
    let summary = &lines.last().unwrap()["summary"];
    assert_eq!(summary["ok"], false);
    assert_eq!(summary["errors"], 1);
}

#[test]
fn strict_turns_warnings_into_errors() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "warn.yaml",
        valid().replace("      namespace: api\n", "      namespace: api\n      descripton: typo\n"),
    );
    let (code, out) = validate(&[&f]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warning[unknown-key]: unknown key `descripton`"), "{out}");
    let (code, out) = validate(&["--strict", &f]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("error[unknown-key]"), "{out}");
}

#[test]
fn a_missing_file_exits_two() {
    let (code, out) = validate(&["/nonexistent/cap.yaml"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("error[io]: cannot read `/nonexistent/cap.yaml`: no such file"), "{out}");
}

#[test]
fn usage_errors_exit_two() {
    let (code, _) = validate(&[]);
    assert_eq!(code, 2);
}

/// Asserts that validating `content` exits 1 and reports `code` with `needle` at `line:col`.
fn rejects(name: &str, content: impl AsRef<[u8]>, code: &str, needle: &str, line_col: Option<(u32, u32)>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), name, content);
    let (status, out) = validate(&[&f]);
    assert_eq!(status, 1, "{out}");
    let header = format!("error[{code}]: ");
    let block = out
        .split("\n\n")
        .find(|b| b.starts_with(&header) && b.contains(needle))
        .unwrap_or_else(|| panic!("no {header}…{needle} in:\n{out}"));
    if let Some((l, c)) = line_col {
        assert!(block.contains(&format!("{f}:{l}:{c}")), "expected {f}:{l}:{c} in:\n{block}");
    }
    block.to_string()
}

#[test]
fn empty_file() {
    rejects("empty.yaml", "", "not-a-document", "the document is empty", Some((1, 1)));
}

#[test]
fn binary_garbage() {
    let mut bytes = b"naftiko: 1.0.0-alpha2\n".to_vec();
    bytes.extend([0xff, 0xfe, 0x00, 0x01, 0x80, 0x81]);
    rejects(
        "garbage.yaml",
        bytes,
        "not-a-document",
        "not a UTF-8 text file (invalid byte 0xff at offset 22)",
        Some((2, 1)),
    );
    rejects("nul.yaml", b"naftiko: x\0\0\0", "not-a-document", "binary data", Some((1, 11)));
}

#[test]
fn yaml_alias_bomb() {
    let mut s = String::from("a: &a [x,x,x,x,x,x,x,x,x]\n");
    for i in 1..10u8 {
        let prev = (b'a' + i - 1) as char;
        let cur = (b'a' + i) as char;
        s.push_str(&format!("{cur}: &{cur} [{}]\n", vec![format!("*{prev}"); 9].join(",")));
    }
    let block = rejects("bomb.yaml", s, "yaml-syntax", "parser limit", None);
    assert!(block.contains("alias"), "{block}");
}

#[test]
fn ten_thousand_deep_nesting() {
    let s = format!("naftiko: {}{}", "[".repeat(10_000), "]".repeat(10_000));
    let block = rejects("deep.yaml", s, "yaml-syntax", "nesting deeper than", None);
    assert!(block.lines().all(|l| l.chars().count() < 200), "long lines are cropped:\n{block}");
    let block = format!(
        "naftiko: 1.0.0-alpha2\nx:\n{}",
        (0..3_000).map(|i| format!("{}- \n", " ".repeat(i))).collect::<String>()
    );
    rejects("deep-block.yaml", block, "yaml-syntax", "nesting deeper than 128 levels", None);
}

#[test]
fn wrong_version() {
    let block = rejects(
        "v.yaml",
        "naftiko: 0.5\ninfo: {}\n",
        "unsupported-version",
        "unsupported `naftiko` version `0.5`",
        Some((1, 10)),
    );
    assert!(block.contains("help: supported versions: 1.0.0-alpha1, 1.0.0-alpha2, 1.0.0-alpha3"), "{block}");
    rejects("none.yaml", "info: {}\n", "unsupported-version", "does not declare `naftiko:`", Some((1, 1)));
}

#[test]
fn ikanos_document() {
    rejects("ikanos.yaml", "ikanos: 1.0.0-alpha3\nconsumes: {}\n", "unsupported-version", "Ikanos", Some((1, 1)));
}

#[test]
fn unknown_adapter_type() {
    let block = rejects(
        "t.yaml",
        valid().replace("- type: mcp", "- type: mpc"),
        "unknown-adapter-type",
        "unknown adapter type `mpc`",
        None,
    );
    assert!(block.contains("help: did you mean `mcp`?"), "{block}");
}

#[test]
fn call_to_missing_operation_or_namespace() {
    let src = valid().replace(
        "          call: things.get-thing\n          with:\n            id: tools.id",
        "          call: thing.get-thing\n          with:\n            id: tools.id",
    );
    let block = rejects(
        "ns.yaml",
        src,
        "unknown-call",
        "names namespace `thing`, which no `consumes` entry declares",
        Some((40, 17)),
    );
    assert!(block.contains("help: did you mean `things`?"), "{block}");
    let src =
        valid().replace("call: things.get-thing\n              with", "call: things.delete-thing\n              with");
    let block =
        rejects("op.yaml", src, "unknown-call", "namespace `things` has no operation `delete-thing`", Some((31, 21)));
    assert!(block.contains("has 1 operations, none named `delete-thing`"), "{block}");
}

#[test]
fn duplicate_namespaces() {
    let dup =
        "    - type: http\n      namespace: things\n      baseUri: https://other.example.com\n      resources: []\n";
    let src = valid().replace("  exposes:\n", &format!("{dup}  exposes:\n"));
    rejects("dup.yaml", src, "duplicate-namespace", "consumed namespace `things` is declared twice", Some((24, 18)));
}

#[test]
fn bind_variable_used_but_not_declared() {
    let src = valid().replace("token: \"{{API_TOKEN}}\"", "token: \"{{API_TOKN}}\"");
    let block =
        rejects("bind.yaml", src, "undeclared-bind", "`{{API_TOKN}}` uses bind variable `API_TOKN`", Some((16, 16)));
    assert!(block.contains("did you mean `API_TOKEN`?"), "{block}");
    let src = valid().replace("token: \"{{API_TOKEN}}\"", "token: \"{{env.API_KEY}}\"");
    rejects("bind-ns.yaml", src, "undeclared-bind", "bind `env` does not declare", Some((16, 16)));
}

#[test]
fn missing_import_file() {
    let src = valid()
        .replace("  consumes:\n", "  consumes:\n    - import: shared-api\n      location: ./shared/missing.yaml\n");
    let block = rejects("imp.yaml", src, "unresolved-import", "missing.yaml`: no such file", Some((12, 17)));
    assert!(block.contains("relative to the importing file"), "{block}");
}

#[test]
fn imports_resolve_relative_to_the_importing_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("shared")).unwrap();
    write(
        dir.path(),
        "shared/things.yaml",
        "naftiko: 1.0.0-alpha2\nconsumes:\n  - type: http\n    namespace: things-api\n    baseUri: https://api.example.com\n    resources:\n      - name: t\n        path: /t\n        operations:\n          - name: get-thing\n            method: GET\n",
    );
    let src = valid().replace(
        "    - type: http\n      namespace: things\n",
        "    - import: things-api\n      location: ./shared/things.yaml\n      as: things\n    - type: http\n      namespace: unused\n",
    );
    let f = write(dir.path(), "main.yaml", src);
    let (code, out) = validate(&[&f]);
    assert_eq!(code, 0, "{out}");
    // An import of a namespace the file does not declare is named precisely.
    let f2 = write(
        dir.path(),
        "main2.yaml",
        std::fs::read_to_string(&f).unwrap().replace("import: things-api", "import: thing-api"),
    );
    let (code, out) = validate(&[&f2]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("has no consumes namespace `thing-api`"), "{out}");
    assert!(out.contains("did you mean `things-api`?"), "{out}");
}

#[test]
fn script_steps_are_named_unsupported() {
    let src = valid().replace(
        "          call: things.get-thing\n          with:\n            id: tools.id\n",
        "          steps:\n            - type: script\n              name: s\n              file: x.js\n",
    );
    rejects("script.yaml", src, "unsupported", "unsupported: script steps", None);
}

#[test]
fn port_conflicts_are_errors() {
    let src = valid().replace("port: 9090", "port: 8080");
    rejects("ports.yaml", src, "port-conflict", "port 8080 is already used by the adapter at line 25", None);
}
