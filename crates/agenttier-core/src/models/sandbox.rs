//! Sandboxes: the summary the Router returns and the create request.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{nullable, string_enum};
use crate::{Error, Result, duration, timestamp};

/// Lifecycle phase of a sandbox.
///
/// `Pending` is the empty phase a brand-new sandbox reports before the platform's first pass.
/// Phases this SDK does not know yet decode as `Unknown`, never as an error.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SandboxPhase {
    /// Created, not yet picked up (the Router's empty status string).
    #[default]
    Pending,
    /// The pod (or local process tree) is being prepared.
    Creating,
    /// Ready for exec, files, ports and agent calls.
    Running,
    /// Stopped; the workspace is kept and `resume` brings it back.
    Stopped,
    /// Failed; the message says why. `resume` retries.
    Error,
    /// Being deleted.
    Deleting,
    /// A phase this SDK version does not know.
    Unknown(String),
}

string_enum!(SandboxPhase {
    Pending => "",
    Creating => "Creating",
    Running => "Running",
    Stopped => "Stopped",
    Error => "Error",
    Deleting => "Deleting",
});

/// Whether a sandbox runs plain code or an agent (`configure`/`invoke`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SandboxMode {
    /// An ordinary code sandbox (the default).
    #[default]
    Code,
    /// An agent-mode sandbox.
    Agent,
    /// A mode this SDK version does not know.
    Unknown(String),
}

string_enum!(SandboxMode {
    Code => "code",
    Agent => "agent",
});

/// Who created a sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct CreatedBy {
    /// Creator's e-mail.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub email: String,
    /// Creator's display name.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub display_name: String,
}

/// A sandbox as the Router describes it (`GET /sandboxes/{id}` and the list).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct SandboxInfo {
    /// The sandbox id (equal to its name on the platform).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub sandbox_id: String,
    /// The sandbox name.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub name: String,
    /// Kubernetes namespace.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub namespace: String,
    /// Lifecycle phase (`status` on the wire).
    #[serde(rename = "status")]
    pub phase: SandboxPhase,
    /// Name of the backing pod, empty when none.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub pod_name: String,
    /// Name of the workspace volume claim, empty until provisioned.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub pvc_name: String,
    /// Resolved template name, empty until resolved.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub template_ref: String,
    /// Code or agent mode.
    pub mode: SandboxMode,
    /// Creation time.
    #[serde(with = "timestamp::option")]
    pub created_at: Option<OffsetDateTime>,
    /// When the sandbox last became Running.
    #[serde(with = "timestamp::option")]
    pub last_activity_at: Option<OffsetDateTime>,
    /// Human-readable status text (`Resuming`, `User requested stop`, ...).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub message: String,
    /// The creator, when the Router knows it.
    pub created_by: Option<CreatedBy>,
}

impl SandboxInfo {
    /// The id to address the sandbox by: `sandboxId`, or the name when the server left it out.
    pub fn id(&self) -> &str {
        if self.sandbox_id.is_empty() {
            &self.name
        } else {
            &self.sandbox_id
        }
    }
}

/// Reference to the template a sandbox is created from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TemplateRef {
    /// Template name.
    pub name: String,
    /// `ClusterSandboxTemplate` (what `/templates` serves) or `SandboxTemplate`.
    pub kind: String,
    /// Namespace of a namespaced `SandboxTemplate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Workspace storage of a new sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StorageSpec {
    /// Kubernetes quantity, for example `20Gi`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// Storage class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// Where the workspace is mounted (the platform's default is `/workspace`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    /// Snapshot the workspace when the sandbox stops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_on_stop: Option<bool>,
    /// A shared (ReadWriteMany) workspace volume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared: Option<bool>,
}

/// Parameters of `create_sandbox`.
///
/// ```
/// use std::time::Duration;
/// use agenttier_core::models::CreateSandbox;
/// let req = CreateSandbox::new("general-coding", "demo")
///     .namespace("team-a")
///     .timeout(Duration::from_secs(8 * 3600))
///     .idle_timeout(Duration::from_secs(30 * 60))
///     .storage_size("20Gi");
/// assert_eq!(req.name(), "demo");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSandbox {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    template_ref: TemplateRef,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "go_duration")]
    timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "go_duration")]
    idle_timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage: Option<StorageSpec>,
}

fn go_duration<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&duration::format(*d)),
        None => s.serialize_none(),
    }
}

impl CreateSandbox {
    /// A sandbox named `name` from the cluster template `template`, in the Router's default
    /// namespace (no `namespace` is sent, unlike the Python SDK, which always sends `default`).
    pub fn new(template: impl Into<String>, name: impl Into<String>) -> Self {
        CreateSandbox {
            name: name.into(),
            namespace: None,
            template_ref: TemplateRef {
                name: template.into(),
                kind: "ClusterSandboxTemplate".to_owned(),
                namespace: None,
            },
            timeout: None,
            idle_timeout: None,
            storage: None,
        }
    }

    /// Namespace to create the sandbox in (default: the Router's sandbox namespace).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Maximum runtime; the platform stops the sandbox after it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Idle time after which the platform stops the sandbox.
    pub fn idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = Some(idle_timeout);
        self
    }

    /// Workspace size as a Kubernetes quantity (`"20Gi"`).
    pub fn storage_size(mut self, size: impl Into<String>) -> Self {
        self.storage.get_or_insert_with(StorageSpec::default).size = Some(size.into());
        self
    }

    /// Storage class of the workspace volume.
    pub fn storage_class(mut self, class: impl Into<String>) -> Self {
        self.storage.get_or_insert_with(StorageSpec::default).storage_class = Some(class.into());
        self
    }

    /// Where the workspace is mounted (the platform's default is `/workspace`).
    pub fn mount_path(mut self, path: impl Into<String>) -> Self {
        self.storage.get_or_insert_with(StorageSpec::default).mount_path = Some(path.into());
        self
    }

    /// Snapshot the workspace whenever the sandbox stops.
    pub fn snapshot_on_stop(mut self, yes: bool) -> Self {
        self.storage.get_or_insert_with(StorageSpec::default).snapshot_on_stop = Some(yes);
        self
    }

    /// Put the workspace on a shared (ReadWriteMany) volume.
    pub fn shared_storage(mut self, yes: bool) -> Self {
        self.storage.get_or_insert_with(StorageSpec::default).shared = Some(yes);
        self
    }

    /// Use a namespaced `SandboxTemplate` instead of a cluster template.
    pub fn namespaced_template(mut self, namespace: impl Into<String>) -> Self {
        self.template_ref.kind = "SandboxTemplate".to_owned();
        self.template_ref.namespace = Some(namespace.into());
        self
    }

    /// The requested sandbox name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The requested namespace, if one was set.
    pub fn namespace_name(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// Checks what the Router would refuse, before sending anything.
    pub fn validate(&self) -> Result<()> {
        if self.name.is_empty() {
            return Err(Error::invalid_input("sandbox name must not be empty"));
        }
        check_name(&self.name)?;
        if self.template_ref.name.is_empty() {
            return Err(Error::invalid_input("template name must not be empty"));
        }
        for (what, value) in [("timeout", self.timeout), ("idle timeout", self.idle_timeout)] {
            if value.is_some_and(|d| d.as_nanos() == 0) {
                return Err(Error::invalid_input(format!("{what} must be positive")));
            }
        }
        Ok(())
    }
}

/// Refuses a sandbox name that is not an RFC 1123 label (the Router's rule for new names).
pub(crate) fn check_name(name: &str) -> Result<()> {
    if is_rfc1123_label(name) {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "sandbox name {name:?} must be an RFC 1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
        )))
    }
}

/// Whether `name` is an RFC 1123 label (`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`).
pub fn is_rfc1123_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    let ok_inner = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
    let ok_edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.iter().all(ok_inner)
        && bytes.first().is_some_and(ok_edge)
        && bytes.last().is_some_and(ok_edge)
}

/// Filters of `list_sandboxes`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SandboxFilter {
    /// Only sandboxes in this namespace.
    pub namespace: Option<String>,
    /// Only sandboxes in this exact phase.
    pub phase: Option<SandboxPhase>,
}

impl SandboxFilter {
    /// No filter: every sandbox the caller may see.
    pub fn all() -> Self {
        Self::default()
    }

    /// Restrict to one namespace.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Restrict to one phase.
    pub fn phase(mut self, phase: SandboxPhase) -> Self {
        self.phase = Some(phase);
        self
    }

    /// The query parameters the Router takes.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(ns) = self.namespace.as_ref().filter(|ns| !ns.is_empty()) {
            q.push(("namespace", ns.clone()));
        }
        if let Some(phase) = self.phase.as_ref().filter(|p| !p.as_str().is_empty()) {
            q.push(("status", phase.as_str().to_owned()));
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_router_sandbox_with_go_timestamps_and_unknowns() {
        let body = r#"{"sandboxId":"demo","name":"demo","namespace":"default","status":"Hibernating",
            "podName":"demo-pod","pvcName":"demo-workspace","templateRef":"general-coding","mode":"wasm",
            "createdAt":"2026-07-22 16:29:45 +0000 UTC","message":"","createdBy":{"email":"a@b.c","displayName":"A"},
            "lastActivityAt":"2026-07-22 16:30:00 +0000 UTC","futureField":{"x":1}}"#;
        let s: SandboxInfo = serde_json::from_str(body).unwrap();
        assert_eq!(s.phase, SandboxPhase::Unknown("Hibernating".into()));
        assert_eq!(s.mode, SandboxMode::Unknown("wasm".into()));
        assert_eq!(s.created_at.unwrap().unix_timestamp(), 1_784_737_785);
        assert_eq!(s.last_activity_at.unwrap().unix_timestamp(), 1_784_737_800);
        assert_eq!(s.created_by.unwrap().display_name, "A");
    }

    #[test]
    fn decodes_minimal_and_null_fields() {
        let s: SandboxInfo =
            serde_json::from_str(r#"{"sandboxId":"x","name":"x","namespace":null,"status":"","createdAt":"weird"}"#)
                .unwrap();
        assert_eq!(s.phase, SandboxPhase::Pending);
        assert_eq!(s.mode, SandboxMode::Code);
        assert_eq!(s.namespace, "");
        assert!(s.created_at.is_none());
    }

    #[test]
    fn create_body_matches_the_wire() {
        let req = CreateSandbox::new("general-coding", "demo")
            .timeout(Duration::from_secs(8 * 3600))
            .idle_timeout(Duration::from_secs(1800))
            .storage_size("20Gi")
            .storage_class("gp3")
            .mount_path("/work")
            .snapshot_on_stop(true)
            .shared_storage(false)
            .namespace("team-a");
        let json = serde_json::to_value(&req).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"name":"demo","namespace":"team-a",
                "templateRef":{"name":"general-coding","kind":"ClusterSandboxTemplate"},
                "timeout":"8h0m0s","idleTimeout":"30m0s",
                "storage":{"size":"20Gi","storageClass":"gp3","mountPath":"/work","snapshotOnStop":true,"shared":false}})
        );
        // No namespace unless asked: the Router's own default applies.
        let minimal = serde_json::to_value(CreateSandbox::new("t", "n")).unwrap();
        assert_eq!(
            minimal,
            serde_json::json!({"name":"n","templateRef":{"name":"t","kind":"ClusterSandboxTemplate"}})
        );
    }

    #[test]
    fn validation_names_the_problem() {
        assert!(CreateSandbox::new("t", "ok-name-1").validate().is_ok());
        for bad in ["", "Upper", "-lead", "trail-", "under_score", &"a".repeat(64)] {
            let err = CreateSandbox::new("t", bad).validate().unwrap_err();
            assert!(matches!(err, Error::InvalidInput { .. }), "{bad}");
        }
        assert!(CreateSandbox::new("", "x").validate().is_err());
        assert!(CreateSandbox::new("t", "x").timeout(Duration::ZERO).validate().is_err());
    }

    #[test]
    fn filter_query() {
        assert!(SandboxFilter::all().query().is_empty());
        let q = SandboxFilter::all()
            .namespace("ns")
            .phase(SandboxPhase::Running)
            .query();
        assert_eq!(
            q,
            vec![("namespace", "ns".to_owned()), ("status", "Running".to_owned())]
        );
    }
}
