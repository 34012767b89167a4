//! The persistent description of one sandbox and its JSON form (wire spec §3.1).

use std::time::Duration;

use serde::Serialize;

use crate::gotime::go_string;

/// Lifecycle phase, as the `status` field shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Just created, before the first lifecycle step (`""`).
    New,
    /// Workspace and processes being prepared.
    Creating,
    /// Ready for exec.
    Running,
    /// Processes ended, workspace kept.
    Stopped,
    /// The workspace or its processes could not be prepared.
    Error,
    /// Being removed.
    Deleting,
}

impl Phase {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Phase::New => "",
            Phase::Creating => "Creating",
            Phase::Running => "Running",
            Phase::Stopped => "Stopped",
            Phase::Error => "Error",
            Phase::Deleting => "Deleting",
        }
    }

    pub(crate) fn parse(s: &str) -> Phase {
        match s {
            "Creating" => Phase::Creating,
            "Running" => Phase::Running,
            "Stopped" => Phase::Stopped,
            "Error" => Phase::Error,
            "Deleting" => Phase::Deleting,
            _ => Phase::New,
        }
    }

    /// Whether the sandbox counts against quotas (all phases but Error and Deleting, §2.1).
    pub(crate) fn is_live(self) -> bool {
        !matches!(self, Phase::Error | Phase::Deleting)
    }
}

/// Who created a sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub sub: String,
    pub email: String,
    pub name: String,
}

/// Everything the router remembers about a sandbox across restarts.
#[derive(Debug, Clone)]
pub(crate) struct SandboxRecord {
    pub name: String,
    pub namespace: String,
    pub template: String,
    pub mode: String,
    pub phase: Phase,
    pub message: String,
    pub owner: Owner,
    pub created_at: i64,
    pub last_activity_at: Option<i64>,
    pub started_at: Option<i64>,
    pub timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub storage_size: Option<String>,
    /// Free-form state for later features (agent configuration), stored as a JSON object.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreatedBy<'a> {
    email: &'a str,
    display_name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SandboxJson<'a> {
    sandbox_id: &'a str,
    name: &'a str,
    namespace: &'a str,
    status: &'static str,
    pod_name: String,
    pvc_name: String,
    template_ref: &'a str,
    mode: &'a str,
    created_at: String,
    message: &'a str,
    created_by: CreatedBy<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_activity_at: Option<String>,
}

impl SandboxRecord {
    /// The §3.1 JSON object.
    pub(crate) fn to_json(&self) -> SandboxJson<'_> {
        let has_pod = self.phase == Phase::Running;
        SandboxJson {
            sandbox_id: &self.name,
            name: &self.name,
            namespace: &self.namespace,
            status: self.phase.as_str(),
            pod_name: if has_pod {
                format!("{}-pod", self.name)
            } else {
                String::new()
            },
            pvc_name: if self.phase == Phase::New {
                String::new()
            } else {
                format!("{}-workspace", self.name)
            },
            template_ref: if self.phase == Phase::New { "" } else { &self.template },
            mode: &self.mode,
            created_at: go_string(self.created_at),
            message: &self.message,
            created_by: CreatedBy {
                email: &self.owner.email,
                display_name: &self.owner.name,
            },
            last_activity_at: self.last_activity_at.map(go_string),
        }
    }
}
