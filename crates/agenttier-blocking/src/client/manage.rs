//! Clone, update and bulk calls (wire spec §3.8–§3.10), and the sandbox's backups and sharing
//! handles (§3.11, §6.5).

use agenttier_core::Result;
use agenttier_core::models::{
    Backup, BulkAction, BulkActionResult, BulkCreateResult, CloneResult, CloneSandbox, CreateSandbox, CreateShareLink,
    GrantShare, ShareLinkCreated, SharingInfo, UpdateResult, UpdateSandbox, bulk_action_body, bulk_create_body,
    create_backup_body, restore_body,
};
use agenttier_core::request::{Request, segment};
use http::Method;

use super::handle::non_empty;
use super::{Client, Sandbox, exchange};
use crate::maybe;

/// The backups (workspace snapshots) of one sandbox: `sandbox.backups()`.
#[derive(Clone, Debug)]
pub struct Backups {
    sandbox: Sandbox,
}

/// Who one sandbox is shared with: `sandbox.sharing()`.
#[derive(Clone, Debug)]
pub struct Sharing {
    sandbox: Sandbox,
}

impl Sandbox {
    /// The sandbox's backups.
    pub fn backups(&self) -> Backups {
        Backups { sandbox: self.clone() }
    }

    /// The sandbox's sharing.
    pub fn sharing(&self) -> Sharing {
        Sharing { sandbox: self.clone() }
    }
}

#[maybe]
impl Sandbox {
    /// Clones the sandbox: its workspace is snapshotted and a new sandbox with the same template
    /// and spec starts from a copy (202 on the platform; the clone starts `Creating`). `name`
    /// defaults to `<id>-clone-<unix>`. Returns a handle on the clone; wait for it to be Running.
    pub async fn clone_sandbox(&self, name: Option<&str>) -> Result<Sandbox> {
        let params = name.map_or_else(CloneSandbox::new, |n| CloneSandbox::new().name(n));
        Ok(self.clone_with(params).await?.0)
    }

    /// [`clone_sandbox`](Self::clone_sandbox) with every option (snapshot class), also returning
    /// the Router's answer (snapshot name, ...).
    pub async fn clone_with(&self, params: CloneSandbox) -> Result<(Sandbox, CloneResult)> {
        params.validate()?;
        let req = Request::post(self.path("/clone")).json(&params)?;
        let result: CloneResult = exchange::json(&self.client.transport, &req, "clone sandbox").await?;
        let namespace = if result.namespace.is_empty() {
            self.namespace().to_owned()
        } else {
            result.namespace.clone()
        };
        let handle = Sandbox::new(self.client.clone(), result.name.clone(), result.name.clone(), namespace);
        Ok((handle, result))
    }

    /// Changes the mutable fields (idle timeout, resources, labels, annotations); see
    /// [`UpdateResult::applied`] for when each takes effect.
    pub async fn update(&self, update: UpdateSandbox) -> Result<UpdateResult> {
        update.validate()?;
        let req = Request::new(Method::PATCH, self.path("")).json(&update)?;
        exchange::json(&self.client.transport, &req, "update sandbox").await
    }
}

#[maybe]
impl Client {
    /// Creates several sandboxes in one call. When the items together would exceed a count
    /// quota, nothing is created and the error is [`agenttier_core::Error::Conflict`]
    /// (`quota_would_exceed`, see [`agenttier_core::models::QuotaWouldExceed`]); otherwise each
    /// item has its own result.
    pub async fn bulk_create(&self, items: &[CreateSandbox]) -> Result<Vec<BulkCreateResult>> {
        let req = Request::post("/sandboxes/bulk").json(&bulk_create_body(items)?)?;
        exchange::list(&self.transport, &req, "results", "bulk create").await
    }

    /// Stops, resumes or deletes several sandboxes; each id has its own result.
    pub async fn bulk_action<S: AsRef<str> + Sync>(
        &self,
        action: BulkAction,
        ids: &[S],
    ) -> Result<Vec<BulkActionResult>> {
        let req = Request::post("/sandboxes/bulk-action").json(&bulk_action_body(action, ids)?)?;
        exchange::list(&self.transport, &req, "results", "bulk action").await
    }
}

#[maybe]
impl Backups {
    /// Every backup and clone snapshot of the workspace. (The Router has no pagination; if it
    /// gains one, list calls are where it will go.)
    pub async fn list(&self) -> Result<Vec<Backup>> {
        let req = Request::get(self.sandbox.path("/backups"));
        exchange::list(&self.sandbox.client.transport, &req, "backups", "list backups").await
    }

    /// Snapshots the workspace now.
    pub async fn create(&self) -> Result<Backup> {
        self.create_with_class(None).await
    }

    /// Snapshots the workspace with a VolumeSnapshotClass.
    pub async fn create_with_class(&self, snapshot_class: Option<&str>) -> Result<Backup> {
        let req = Request::post(self.sandbox.path("/backups")).json(&create_backup_body(snapshot_class))?;
        exchange::json(&self.sandbox.client.transport, &req, "create backup").await
    }

    /// Restores a backup into a new sandbox (`name` defaults to `<id>-restore-<unix>`) and
    /// returns its handle; the source is untouched.
    pub async fn restore(&self, snapshot: &str, name: Option<&str>) -> Result<Sandbox> {
        non_empty(snapshot, "snapshot name")?;
        let req = Request::post(self.sandbox.path(&format!("/backups/{}/restore", segment(snapshot))))
            .json(&restore_body(name)?)?;
        let result: CloneResult = exchange::json(&self.sandbox.client.transport, &req, "restore backup").await?;
        let namespace = if result.namespace.is_empty() {
            self.sandbox.namespace().to_owned()
        } else {
            result.namespace
        };
        Ok(Sandbox::new(
            self.sandbox.client.clone(),
            result.name.clone(),
            result.name,
            namespace,
        ))
    }

    /// Deletes a backup.
    pub async fn delete(&self, snapshot: &str) -> Result<()> {
        non_empty(snapshot, "snapshot name")?;
        let req = Request::delete(self.sandbox.path(&format!("/backups/{}", segment(snapshot))));
        exchange::send(&self.sandbox.client.transport, &req).await?;
        Ok(())
    }
}

#[maybe]
impl Sharing {
    /// The grants and share links.
    pub async fn get(&self) -> Result<SharingInfo> {
        let req = Request::get(self.sandbox.path("/share"));
        exchange::json(&self.sandbox.client.transport, &req, "get sharing").await
    }

    /// Grants a user or a group access (an existing grant's level is replaced).
    pub async fn grant(&self, grant: GrantShare) -> Result<SharingInfo> {
        grant.validate()?;
        let req = Request::post(self.sandbox.path("/share")).json(&grant)?;
        exchange::json(&self.sandbox.client.transport, &req, "share sandbox").await
    }

    /// Revokes every grant of `identity` (user or group); revoking nothing is not an error.
    pub async fn revoke(&self, identity: &str) -> Result<()> {
        non_empty(identity, "identity")?;
        let req = Request::delete(self.sandbox.path(&format!("/share/{}", segment(identity))));
        exchange::send(&self.sandbox.client.transport, &req).await?;
        Ok(())
    }

    /// Mints a share link; its token is shown only in the answer.
    pub async fn create_link(&self, link: CreateShareLink) -> Result<ShareLinkCreated> {
        link.validate()?;
        let req = Request::post(self.sandbox.path("/share-links")).json(&link)?;
        exchange::json(&self.sandbox.client.transport, &req, "create share link").await
    }
}
