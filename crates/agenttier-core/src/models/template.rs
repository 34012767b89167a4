//! Sandbox templates: as listed, and as created or replaced by admins.

use serde::{Deserialize, Serialize};

use super::{SandboxMode, nullable};
use crate::{Error, Result};

/// A cluster sandbox template.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Template {
    /// Template name, used in `create_sandbox`.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub name: String,
    /// What the template is for.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub description: String,
    /// Container image repository, empty when unset.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub image: String,
    /// Kubernetes resource version.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub resource_version: String,
    /// The full template spec, as free-form JSON (its shape grows with the platform).
    pub spec: serde_json::Value,
}

impl Template {
    /// The mode of sandboxes made from this template (`spec.mode`, `code` when unset).
    pub fn mode(&self) -> SandboxMode {
        self.spec
            .get("mode")
            .and_then(|m| m.as_str())
            .map(SandboxMode::from)
            .unwrap_or_default()
    }
}

/// A template to create or replace (`POST /templates`, `PUT /templates/{name}`; admin only).
///
/// ```
/// use agenttier_core::models::TemplateDefinition;
/// let t = TemplateDefinition::new("my-agent", serde_json::json!({"mode": "agent"})).description("mine");
/// assert_eq!(t.name(), "my-agent");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateDefinition {
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    spec: serde_json::Value,
}

impl TemplateDefinition {
    /// A template named `name` with the given spec (the §7 `SandboxTemplateSpec` as JSON).
    pub fn new(name: impl Into<String>, spec: serde_json::Value) -> Self {
        TemplateDefinition {
            name: name.into(),
            description: String::new(),
            spec,
        }
    }

    /// Reads a definition from a document shaped like a template as the Router lists it
    /// (`{"name": ..., "description": ..., "spec": {...}}`; other keys such as `image` or
    /// `resourceVersion` are ignored), so a template fetched from one Router can be fed back.
    pub fn from_value(doc: serde_json::Value) -> Result<Self> {
        #[derive(Deserialize)]
        struct Doc {
            #[serde(default)]
            name: String,
            #[serde(default)]
            description: String,
            #[serde(default)]
            spec: Option<serde_json::Value>,
        }
        let doc: Doc = serde_json::from_value(doc).map_err(|e| {
            Error::invalid_input(format!(
                "a template document is an object with \"name\", \"description\" and \"spec\": {e}"
            ))
        })?;
        Ok(TemplateDefinition {
            name: doc.name,
            description: doc.description,
            spec: doc
                .spec
                .unwrap_or_else(|| serde_json::Value::Object(Default::default())),
        })
    }

    /// Sets the description (else the Router uses `spec.description`).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Replaces the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The template name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The spec.
    pub fn spec(&self) -> &serde_json::Value {
        &self.spec
    }

    /// The spec, to edit in place.
    pub fn spec_mut(&mut self) -> &mut serde_json::Value {
        &mut self.spec
    }

    /// Checks what the Router would refuse: an empty name, a spec that is not an object.
    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid_input("template name must not be empty"));
        }
        if !self.spec.is_object() {
            return Err(Error::invalid_input("template spec must be a JSON object"));
        }
        Ok(())
    }
}
