//! Sandbox templates (wire spec §7): two built-ins plus any `*.json` files of a directory, one
//! template per file in the shape `{"name": "...", "description": "...", "spec": {...}}`.
//! A file whose name matches a built-in replaces it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::errors::RouterError;

/// Name of the built-in general coding template (`spec.mode: code`).
pub const GENERAL_CODING: &str = "general-coding";
/// Name of the built-in agent-mode template (`spec.mode: agent`).
pub const AGENT_PYTHON: &str = "agent-python";

/// One template, as stored.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Template {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "empty_object")]
    pub spec: Value,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// The §7 JSON form.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TemplateJson<'a> {
    name: &'a str,
    description: &'a str,
    image: &'a str,
    resource_version: &'static str,
    spec: &'a Value,
}

impl Template {
    /// `spec.mode`, `code` when unset.
    pub(crate) fn mode(&self) -> &str {
        self.spec
            .get("mode")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
            .unwrap_or("code")
    }

    pub(crate) fn to_json(&self) -> TemplateJson<'_> {
        TemplateJson {
            name: &self.name,
            description: &self.description,
            image: self
                .spec
                .pointer("/image/repository")
                .and_then(Value::as_str)
                .unwrap_or(""),
            resource_version: "1",
            spec: &self.spec,
        }
    }
}

fn builtins() -> Vec<Template> {
    vec![
        Template {
            name: GENERAL_CODING.into(),
            description: "General-purpose coding sandbox: a shell with a persistent /workspace".into(),
            spec: json!({
                "mode": "code",
                "description": "General-purpose coding sandbox: a shell with a persistent /workspace",
                "storage": {"size": "10Gi", "mountPath": "/workspace"},
                "harness": {"shell": "/bin/sh", "workingDir": "/workspace"}
            }),
        },
        Template {
            name: AGENT_PYTHON.into(),
            description: "Agent-mode sandbox: configure code once, invoke it many times".into(),
            spec: json!({
                "mode": "agent",
                "description": "Agent-mode sandbox: configure code once, invoke it many times",
                "storage": {"size": "10Gi", "mountPath": "/workspace"},
                "harness": {
                    "shell": "/bin/sh",
                    "workingDir": "/workspace",
                    "agent": {"workingDir": "/workspace", "maxConcurrentInvokes": 4, "defaultInvokeTimeout": "30m0s"}
                }
            }),
        },
    ]
}

/// The template catalogue; editable at runtime for the template routes to come.
pub(crate) struct Templates {
    by_name: RwLock<BTreeMap<String, Template>>,
}

impl Templates {
    /// Built-ins, overlaid with the `*.json` files of `dir`.
    pub(crate) fn load(dir: Option<&Path>) -> Result<Templates, RouterError> {
        let mut by_name: BTreeMap<String, Template> = builtins().into_iter().map(|t| (t.name.clone(), t)).collect();
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir)
                .map_err(|e| RouterError::Config(format!("cannot read templates directory {}: {e}", dir.display())))?;
            let mut paths: Vec<_> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            paths.sort();
            for path in paths {
                let text = std::fs::read_to_string(&path)?;
                let t: Template = serde_json::from_str(&text)
                    .map_err(|e| RouterError::Config(format!("invalid template file {}: {e}", path.display())))?;
                if t.name.is_empty() || !t.spec.is_object() {
                    return Err(RouterError::Config(format!(
                        "invalid template file {}: name is required and spec must be an object",
                        path.display()
                    )));
                }
                by_name.insert(t.name.clone(), t);
            }
        }
        Ok(Templates {
            by_name: RwLock::new(by_name),
        })
    }

    pub(crate) fn get(&self, name: &str) -> Option<Template> {
        self.by_name
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// Runs `f` over all templates in name order.
    pub(crate) fn with_all<R>(&self, f: impl FnOnce(&mut dyn Iterator<Item = &Template>) -> R) -> R {
        let map = self.by_name.read().unwrap_or_else(|p| p.into_inner());
        f(&mut map.values())
    }
}
