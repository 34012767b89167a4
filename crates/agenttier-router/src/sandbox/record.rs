//! The persistent description of one sandbox and its JSON form (wire spec §3.1).

use std::time::Duration;

use serde::Serialize;

use super::access::SharingInfo;
use super::agent_state::AgentConfigure;
use super::spec::Spec;
use crate::auth::Identity;
use crate::gotime::{go_string, now_unix};

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
    /// Labels, annotations and resources.
    pub spec: Spec,
    /// Who else may read it.
    pub sharing: SharingInfo,
    /// The last successful configure (agent mode).
    pub agent: Option<AgentConfigure>,
    /// Keys of the stored `extra` object this version does not know, kept as they were.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Keys of the typed parts in the stored `extra` JSON object (one column, as before they were
/// typed, so databases of earlier versions open unchanged).
const SPEC_KEY: &str = "spec";
const SHARING_KEY: &str = "sharing";
const AGENT_KEY: &str = "agentConfigure";

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
    /// A sandbox that has not started yet (`Phase::New`), owned by `who`, created now.
    pub(crate) fn new(name: &str, namespace: &str, template: &str, mode: &str, who: &Identity) -> SandboxRecord {
        SandboxRecord {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            template: template.to_owned(),
            mode: mode.to_owned(),
            phase: Phase::New,
            message: String::new(),
            owner: Owner {
                sub: who.sub.clone(),
                email: who.email.clone(),
                name: who.name.clone(),
            },
            created_at: now_unix(),
            last_activity_at: None,
            started_at: None,
            timeout: None,
            idle_timeout: None,
            storage_size: None,
            spec: Spec::default(),
            sharing: SharingInfo::default(),
            agent: None,
            extra: serde_json::Map::new(),
        }
    }

    /// The stored `extra` object: the typed parts under their keys, plus the unknown keys.
    pub(crate) fn extra_json(&self) -> serde_json::Value {
        let mut map = self.extra.clone();
        if !self.spec.is_empty() {
            map.insert(SPEC_KEY.into(), serde_json::to_value(&self.spec).unwrap_or_default());
        }
        if !self.sharing.is_empty() {
            map.insert(SHARING_KEY.into(), self.sharing.to_stored());
        }
        if let Some(agent) = &self.agent {
            map.insert(AGENT_KEY.into(), serde_json::to_value(agent).unwrap_or_default());
        }
        serde_json::Value::Object(map)
    }

    /// Sets the typed parts and the unknown keys from a stored `extra` object; a part that does
    /// not decode is treated as unset.
    pub(crate) fn set_extra_json(&mut self, mut map: serde_json::Map<String, serde_json::Value>) {
        let mut take = |key: &str| map.remove(key);
        self.spec = take(SPEC_KEY)
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        self.sharing = take(SHARING_KEY).map(SharingInfo::from_stored).unwrap_or_default();
        self.agent = take(AGENT_KEY).and_then(|v| serde_json::from_value(v).ok());
        self.extra = map;
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    /// An `extra` column as versions before the typed record wrote it.
    const STORED_BEFORE: &str = r#"{
        "spec": {"labels": {"team": "ml"}, "annotations": {"a": "b"}, "resources": {"limits": {"cpu": "2", "memory": "1Gi"}}},
        "sharing": {"users": [{"identity": "bob", "level": "viewer"}], "groups": [{"identity": "ops", "level": "editor"}],
                    "shareLinks": [{"id": "l1", "level": "viewer", "expiresAt": null, "maxUses": 3, "usedCount": 0, "tokenSha256": "ab12"}]},
        "agentConfigure": {"lastConfiguredAt": "2026-12-01T00:00:00Z", "installCommandHash": "h", "entrypoint": ["python3", "a.py"],
                           "installExitCode": 0, "installLog": "ok", "maxConcurrentInvokes": 2, "defaultInvokeTimeoutSeconds": 60},
        "future": {"kept": true}
    }"#;

    fn who() -> Identity {
        Identity::dev()
    }

    #[test]
    fn an_earlier_extra_column_loads_into_typed_fields_and_saves_back_the_same() {
        let before: serde_json::Value = serde_json::from_str(STORED_BEFORE).unwrap();
        let mut rec = SandboxRecord::new("s", "default", "general-coding", "standard", &who());
        rec.set_extra_json(before.as_object().unwrap().clone());
        assert_eq!(rec.spec.labels["team"], "ml");
        assert_eq!(rec.spec.resource("cpu").as_deref(), Some("2"));
        assert_eq!(rec.sharing.users[0].identity, "bob");
        assert_eq!(
            rec.sharing.share_links[0].token_sha256, "ab12",
            "token hashes survive a load"
        );
        assert_eq!(rec.agent.as_ref().unwrap().entrypoint, ["python3", "a.py"]);
        assert_eq!(rec.extra["future"]["kept"], true, "unknown keys are kept");
        assert_eq!(rec.extra_json(), before);
    }

    #[test]
    fn empty_parts_are_not_stored_and_garbage_parts_read_as_unset() {
        let rec = SandboxRecord::new("s", "default", "general-coding", "standard", &who());
        assert_eq!(rec.extra_json(), serde_json::json!({}));
        let mut rec = rec;
        let garbage = serde_json::json!({"spec": 3, "sharing": "x", "agentConfigure": "x"});
        rec.set_extra_json(garbage.as_object().unwrap().clone());
        assert!(rec.spec.is_empty() && rec.sharing.is_empty() && rec.agent.is_none());
        assert!(rec.extra.is_empty());
    }
}
