//! Sandbox templates (wire spec §7): two built-ins, any `*.json` files of a directory (one
//! template per file in the shape `{"name": "...", "description": "...", "spec": {...}}`; a file
//! whose name matches a built-in replaces it), and the templates admins create through the API,
//! kept in SQLite.
//!
//! Built-in and directory templates are read-only through the API (`409`): they are the
//! operator's configuration, restored on every start, so an edit would silently vanish.
//! A directory file added later under the name of a stored template wins over it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::errors::RouterError;
use crate::store::Store;

/// Settings-table key prefix of templates created through the API.
const STORED_PREFIX: &str = "template:";

/// Where a template comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Compiled in.
    Builtin,
    /// A file of the `--templates` directory.
    File,
    /// Created through `POST /templates` (editable, persisted).
    Stored,
}

/// Name of the built-in general coding template (`spec.mode: code`).
pub const GENERAL_CODING: &str = "general-coding";
/// Name of the built-in agent-mode template (`spec.mode: agent`).
pub const AGENT_PYTHON: &str = "agent-python";

/// One template, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Template {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "empty_object")]
    pub spec: Value,
    /// Bumped by every update; reported as `resourceVersion`.
    #[serde(default = "first_version")]
    pub version: u64,
    #[serde(skip, default = "file_origin")]
    pub origin: Origin,
}

fn first_version() -> u64 {
    1
}

fn file_origin() -> Origin {
    Origin::File
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
    resource_version: String,
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
            resource_version: self.version.to_string(),
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
            version: 1,
            origin: Origin::Builtin,
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
            version: 1,
            origin: Origin::Builtin,
        },
    ]
}

/// Why a template could not be changed.
#[derive(Debug)]
pub(crate) enum EditError {
    /// No template has that name.
    NotFound,
    /// A template of that name exists already (create).
    Exists,
    /// The template is built in or comes from the templates directory.
    ReadOnly(Origin),
    /// A sandbox still uses the template (delete); its name.
    InUse(String),
    /// The database write failed.
    Store(RouterError),
}

/// The template catalogue: read-only built-ins and directory files, editable stored templates.
pub(crate) struct Templates {
    by_name: RwLock<BTreeMap<String, Template>>,
    store: Arc<Store>,
}

impl Templates {
    /// Built-ins, overlaid with the `*.json` files of `dir`, then the templates stored in `store`
    /// (those whose name a built-in or file already uses are skipped with a warning).
    pub(crate) fn load(dir: Option<&Path>, store: Arc<Store>) -> Result<Templates, RouterError> {
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
        for (key, doc) in store.settings_with_prefix(STORED_PREFIX)? {
            let mut t: Template = serde_json::from_str(&doc)
                .map_err(|e| RouterError::Config(format!("invalid stored template {key}: {e}")))?;
            t.origin = Origin::Stored;
            if by_name.contains_key(&t.name) {
                tracing::warn!(template = %t.name, "a built-in or directory template now has the name of a stored template; the stored one is hidden");
                continue;
            }
            by_name.insert(t.name.clone(), t);
        }
        Ok(Templates {
            by_name: RwLock::new(by_name),
            store,
        })
    }

    /// Adds a new template (`POST /templates`).
    pub(crate) fn create(&self, name: &str, description: &str, spec: Value) -> Result<Template, EditError> {
        let mut map = self.by_name.write().unwrap_or_else(|p| p.into_inner());
        if map.contains_key(name) {
            return Err(EditError::Exists);
        }
        let t = Template {
            name: name.to_owned(),
            description: description.to_owned(),
            spec,
            version: 1,
            origin: Origin::Stored,
        };
        self.persist(&t)?;
        map.insert(t.name.clone(), t.clone());
        Ok(t)
    }

    /// Replaces a stored template's description and spec (`PUT /templates/{name}`).
    pub(crate) fn update(&self, name: &str, description: &str, spec: Value) -> Result<Template, EditError> {
        let mut map = self.by_name.write().unwrap_or_else(|p| p.into_inner());
        let old = map.get(name).ok_or(EditError::NotFound)?;
        if old.origin != Origin::Stored {
            return Err(EditError::ReadOnly(old.origin));
        }
        let t = Template {
            name: name.to_owned(),
            description: description.to_owned(),
            spec,
            version: old.version + 1,
            origin: Origin::Stored,
        };
        self.persist(&t)?;
        map.insert(t.name.clone(), t.clone());
        Ok(t)
    }

    /// Removes a stored template unless `user_of` names a sandbox still using it.
    pub(crate) fn delete(&self, name: &str, user_of: impl FnOnce(&str) -> Option<String>) -> Result<(), EditError> {
        let mut map = self.by_name.write().unwrap_or_else(|p| p.into_inner());
        let old = map.get(name).ok_or(EditError::NotFound)?;
        if old.origin != Origin::Stored {
            return Err(EditError::ReadOnly(old.origin));
        }
        if let Some(sandbox) = user_of(name) {
            return Err(EditError::InUse(sandbox));
        }
        self.store
            .delete_setting(&format!("{STORED_PREFIX}{name}"))
            .map_err(EditError::Store)?;
        map.remove(name);
        Ok(())
    }

    fn persist(&self, t: &Template) -> Result<(), EditError> {
        let doc = serde_json::to_string(t).map_err(|e| EditError::Store(RouterError::Runtime(e.to_string())))?;
        self.store
            .put_setting(&format!("{STORED_PREFIX}{}", t.name), &doc)
            .map_err(EditError::Store)
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
