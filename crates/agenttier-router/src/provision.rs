//! Making sandboxes: from a template (create, bulk create), from another sandbox's workspace
//! (clone, §3.9) and from one of its snapshots (restore, §3.11).
//!
//! Every new record comes from [`SandboxRecord::new`]. Create and restore are checked against
//! governance; clone is not, as on the platform. A clone or a restore copies the source's spec
//! (template, mode, namespace, timeouts, storage size, labels, annotations, resources) and
//! belongs to the caller; its workspace starts as a copy of the snapshot.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::Identity;
use crate::errors::{ApiError, Violation};
use crate::events::Events;
use crate::gotime::now_unix;
use crate::governance::{CreateCheck, Governance};
use crate::sandbox::record::{Phase, SandboxRecord};
use crate::sandbox::{Sandboxes, Usage};
use crate::snapshots::Snapshots;
use crate::templates::Templates;
use crate::validate::{is_rfc1123_label, rfc1123_error};

/// What a create asks for, decoded and checked (before the template lookup).
pub(crate) struct CreateFields {
    pub(crate) name: String,
    pub(crate) namespace: String,
    pub(crate) template_name: String,
    pub(crate) timeout: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) storage_size: Option<String>,
}

/// A sandbox made from another one's workspace: its name, namespace and the snapshot it was
/// seeded from.
pub(crate) struct Copied {
    pub name: String,
    pub namespace: String,
    pub snapshot: String,
}

/// The parts of the router a new sandbox touches.
pub(crate) struct Provision<'a> {
    pub sandboxes: &'a Arc<Sandboxes>,
    pub templates: &'a Templates,
    pub governance: &'a Governance,
    pub snapshots: &'a Snapshots,
    pub events: &'a Events,
}

impl Provision<'_> {
    /// Creates the sandbox `fields` describe for `who` (404 for an unknown template, the
    /// governance refusals, 409 for a taken name) and starts it.
    pub(crate) fn create(&self, who: &Identity, fields: CreateFields) -> Result<SandboxRecord, ApiError> {
        let Some(template) = self.templates.get(&fields.template_name) else {
            return Err(ApiError::not_found("template not found"));
        };
        let rec = SandboxRecord {
            timeout: fields.timeout,
            idle_timeout: fields.idle_timeout,
            storage_size: fields.storage_size,
            ..SandboxRecord::new(
                &fields.name,
                &fields.namespace,
                &fields.template_name,
                template.mode(),
                who,
            )
        };
        self.sandboxes
            .create(rec.clone(), |usage| governed(self.governance, &rec, usage))?;
        Ok(rec)
    }

    /// Clones `source` (already access-checked) into a new sandbox of `who`'s, named `name` or
    /// `<source>-clone-<unix>`, through a fresh snapshot of kind `clone`.
    pub(crate) async fn clone_sandbox(
        &self,
        who: &Identity,
        source: &SandboxRecord,
        name: Option<String>,
    ) -> Result<Copied, ApiError> {
        let id = &source.name;
        let name = new_name(name, id, "clone")?;
        let workspace = self.sandboxes.workspace_dir(id);
        if source.phase == Phase::New || !workspace.is_dir() {
            return Err(ApiError::bad_request(format!(
                "sandbox {id} has no PVC to clone (phase={})",
                source.phase.as_str()
            )));
        }
        if self.sandboxes.exists(&name) {
            return Err(ApiError::conflict(format!("sandbox {name} already exists")));
        }
        let snapshot = self.snapshots.fresh_name(&format!("{id}-snap"));
        self.snapshots.take(&snapshot, id, "clone", workspace).await?;
        let rec = copy_of(source, &name, who);
        self.seed(rec, &snapshot, false).await?;
        self.events.sandbox(
            source,
            "Cloned",
            &format!("cloned to {name} from snapshot {snapshot}"),
            Some(who),
        );
        Ok(copied(source, name, snapshot))
    }

    /// Restores `snapshot` of `source` (both already checked) into a new sandbox of `who`'s,
    /// named `name` or `<source>-restore-<unix>`, checked against governance.
    pub(crate) async fn restore(
        &self,
        who: &Identity,
        source: &SandboxRecord,
        snapshot: &str,
        name: Option<String>,
    ) -> Result<Copied, ApiError> {
        let name = new_name(name, &source.name, "restore")?;
        if self.sandboxes.exists(&name) {
            return Err(ApiError::conflict(format!("sandbox {name} already exists")));
        }
        self.seed(copy_of(source, &name, who), snapshot, true).await?;
        self.events.sandbox(
            source,
            "BackupRestored",
            &format!("snapshot {snapshot} restored to {name}"),
            Some(who),
        );
        Ok(copied(source, name, snapshot.to_owned()))
    }

    /// Creates `rec` with a copy of `snapshot` as its workspace; `checked` applies governance.
    async fn seed(&self, rec: SandboxRecord, snapshot: &str, checked: bool) -> Result<(), ApiError> {
        let staged = self.snapshots.stage(snapshot).await?;
        let check = |usage: &Usage| {
            if checked {
                governed(self.governance, &rec, usage)
            } else {
                Vec::new()
            }
        };
        let created = self.sandboxes.create_seeded(rec.clone(), check, Some(&staged));
        if created.is_err() {
            let _ = std::fs::remove_dir_all(&staged);
        }
        created
    }
}

fn copied(source: &SandboxRecord, name: String, snapshot: String) -> Copied {
    Copied {
        name,
        namespace: source.namespace.clone(),
        snapshot,
    }
}

/// What governance says of creating `rec` with the namespace's current `usage`.
fn governed(governance: &Governance, rec: &SandboxRecord, usage: &Usage) -> Vec<Violation> {
    governance.check_create(&CreateCheck {
        namespace: &rec.namespace,
        template: &rec.template,
        agent_mode: rec.mode == "agent",
        timeout: rec.timeout,
        idle_timeout: rec.idle_timeout,
        storage_size: rec.storage_size.as_deref(),
        user_count: usage.user,
        namespace_count: usage.namespace,
        agent_count: usage.agents,
    })
}

/// A new sandbox record that copies `source`'s spec, owned by `who`.
fn copy_of(source: &SandboxRecord, name: &str, who: &Identity) -> SandboxRecord {
    SandboxRecord {
        timeout: source.timeout,
        idle_timeout: source.idle_timeout,
        storage_size: source.storage_size.clone(),
        spec: source.spec.clone(),
        ..SandboxRecord::new(name, &source.namespace, &source.template, &source.mode, who)
    }
}

/// The name of a new sandbox: the given one (an RFC 1123 label) or `<source>-<what>-<unix>`.
fn new_name(given: Option<String>, source: &str, what: &str) -> Result<String, ApiError> {
    match given.filter(|n| !n.is_empty()) {
        Some(n) if is_rfc1123_label(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(rfc1123_error("name", &n))),
        None => Ok(format!("{source}-{what}-{}", now_unix())),
    }
}
