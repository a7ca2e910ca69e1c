//! Prompts: inline message templates or a file template, listed in declaration order, with
//! required arguments enforced and `{{argument}}` placeholders filled.

use std::path::Path;

use naftiko_spec::model::McpPrompt;
use serde_json::{Map, Value, json};

struct Arg {
    name: String,
    title: Option<String>,
    description: Option<String>,
    required: bool,
}

struct Prompt {
    name: String,
    title: Option<String>,
    description: Option<String>,
    args: Vec<Arg>,
    /// (role, template) messages; a file template is one `user` message.
    messages: Result<Vec<(String, String)>, String>,
}

/// Every prompt of an adapter.
pub(crate) struct Prompts {
    prompts: Vec<Prompt>,
}

impl Prompts {
    pub fn new(declared: &[McpPrompt], base_dir: &Path) -> Prompts {
        let prompts = declared
            .iter()
            .map(|p| {
                let messages = match &p.location {
                    Some(loc) => {
                        let path = naftiko_spec::load::resolve_location(&loc.value, &base_dir.join("capability.yaml"));
                        std::fs::read_to_string(&path)
                            .map(|text| vec![("user".to_string(), text)])
                            .map_err(|e| format!("prompt file `{}`: {e}", path.display()))
                    }
                    None => Ok(p.template.iter().map(|m| (m.role.value.clone(), m.content.value.clone())).collect()),
                };
                Prompt {
                    name: p.name.as_ref().map(|n| n.value.clone()).unwrap_or_default(),
                    title: p.label.as_ref().map(|l| l.value.clone()),
                    description: p.description.as_ref().map(|d| d.value.clone()),
                    args: p
                        .arguments
                        .iter()
                        .map(|a| Arg {
                            name: a.name.value.clone(),
                            title: a.label.as_ref().map(|l| l.value.clone()),
                            description: a.description.as_ref().map(|d| d.value.clone()),
                            required: a.required != Some(false),
                        })
                        .collect(),
                    messages,
                }
            })
            .collect();
        Prompts { prompts }
    }

    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }

    /// `prompts/list`.
    pub fn list(&self) -> Vec<Value> {
        self.prompts
            .iter()
            .map(|p| {
                let mut v = json!({"name": p.name});
                if let Some(t) = &p.title {
                    v["title"] = json!(t);
                }
                if let Some(d) = &p.description {
                    v["description"] = json!(d);
                }
                if !p.args.is_empty() {
                    v["arguments"] = Value::Array(
                        p.args
                            .iter()
                            .map(|a| {
                                let mut x = json!({"name": a.name, "required": a.required});
                                if let Some(t) = &a.title {
                                    x["title"] = json!(t);
                                }
                                if let Some(d) = &a.description {
                                    x["description"] = json!(d);
                                }
                                x
                            })
                            .collect(),
                    );
                }
                v
            })
            .collect()
    }

    /// `prompts/get`: `Err(Some(msg))` for invalid params, `Err(None)` for an unknown prompt.
    pub fn get(&self, name: &str, args: &Map<String, Value>) -> Result<Value, String> {
        let Some(p) = self.prompts.iter().find(|p| p.name == name) else {
            return Err(format!("unknown prompt `{name}`"));
        };
        let missing: Vec<&str> = p
            .args
            .iter()
            .filter(|a| a.required && args.get(&a.name).is_none_or(Value::is_null))
            .map(|a| a.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(format!("prompt `{name}` needs the argument(s): {}", missing.join(", ")));
        }
        let messages = p.messages.as_ref().map_err(Clone::clone)?;
        let rendered: Vec<Value> = messages
            .iter()
            .map(|(role, text)| json!({"role": role, "content": {"type": "text", "text": render(text, args)}}))
            .collect();
        let mut v = json!({"messages": rendered});
        if let Some(d) = &p.description {
            v["description"] = json!(d);
        }
        Ok(v)
    }
}

/// Replaces `{{name}}` (letters, digits, `_`, `-`) with the argument's text; unknown
/// placeholders stay as written.
fn render(template: &str, args: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        match after.find("}}") {
            Some(close) => {
                let name = after[..close].trim();
                let valid = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-');
                match args.get(name).filter(|_| valid) {
                    Some(Value::String(s)) => out.push_str(s),
                    Some(Value::Null) | None => out.push_str(&rest[open..open + 2 + close + 2]),
                    Some(other) => out.push_str(&other.to_string()),
                }
                rest = &after[close + 2..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_unknown_ones_kept() {
        let args = json!({"ship": "Northern Star", "n": 3}).as_object().cloned().unwrap();
        assert_eq!(
            render("Inspect {{ship}} ({{n}} crew) {{other}}", &args),
            "Inspect Northern Star (3 crew) {{other}}"
        );
    }
}
