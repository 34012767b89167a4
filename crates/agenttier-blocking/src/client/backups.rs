//! The backups (workspace snapshots) of one sandbox (wire spec §3.11): `sandbox.backups()`.

use agenttier_core::models::{Backup, CloneResult};
use agenttier_core::{Result, api};

use super::{Sandbox, exchange};
use crate::maybe;

/// The backups (workspace snapshots) of one sandbox: `sandbox.backups()`.
#[derive(Clone, Debug)]
pub struct Backups {
    sandbox: Sandbox,
}

impl Sandbox {
    /// The sandbox's backups.
    pub fn backups(&self) -> Backups {
        Backups { sandbox: self.clone() }
    }
}

#[maybe]
impl Backups {
    /// Every backup and clone snapshot of the workspace. (The Router has no pagination; if it
    /// gains one, list calls are where it will go.)
    pub async fn list(&self) -> Result<Vec<Backup>> {
        let req = api::backups::list(self.sandbox.id())?;
        exchange::list(&self.sandbox.client.transport, &req, "backups", "list backups").await
    }

    /// Snapshots the workspace now.
    pub async fn create(&self) -> Result<Backup> {
        self.create_with_class(None).await
    }

    /// Snapshots the workspace with a VolumeSnapshotClass.
    pub async fn create_with_class(&self, snapshot_class: Option<&str>) -> Result<Backup> {
        let req = api::backups::create(self.sandbox.id(), snapshot_class)?;
        exchange::json(&self.sandbox.client.transport, &req, "create backup").await
    }

    /// Restores a backup into a new sandbox (`name` defaults to `<id>-restore-<unix>`) and
    /// returns its handle; the source is untouched.
    pub async fn restore(&self, snapshot: &str, name: Option<&str>) -> Result<Sandbox> {
        let req = api::backups::restore(self.sandbox.id(), snapshot, name)?;
        let result: CloneResult = exchange::json(&self.sandbox.client.transport, &req, "restore backup").await?;
        Ok(self.sandbox.made_from(&result))
    }

    /// Deletes a backup.
    pub async fn delete(&self, snapshot: &str) -> Result<()> {
        let req = api::backups::delete(self.sandbox.id(), snapshot)?;
        exchange::send(&self.sandbox.client.transport, &req).await?;
        Ok(())
    }
}
