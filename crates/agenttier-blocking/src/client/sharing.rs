//! Who one sandbox is shared with (wire spec §6.5): `sandbox.sharing()`.

use agenttier_core::models::{CreateShareLink, GrantShare, ShareLinkCreated, SharingInfo};
use agenttier_core::{Result, api};

use super::{Sandbox, exchange};
use crate::maybe;

/// Who one sandbox is shared with: `sandbox.sharing()`.
#[derive(Clone, Debug)]
pub struct Sharing {
    sandbox: Sandbox,
}

impl Sandbox {
    /// The sandbox's sharing.
    pub fn sharing(&self) -> Sharing {
        Sharing { sandbox: self.clone() }
    }
}

#[maybe]
impl Sharing {
    /// The grants and share links.
    pub async fn get(&self) -> Result<SharingInfo> {
        let req = api::sharing::get(self.sandbox.id())?;
        exchange::json(&self.sandbox.client.transport, &req, "get sharing").await
    }

    /// Grants a user or a group access (an existing grant's level is replaced).
    pub async fn grant(&self, grant: GrantShare) -> Result<SharingInfo> {
        let req = api::sharing::grant(self.sandbox.id(), &grant)?;
        exchange::json(&self.sandbox.client.transport, &req, "share sandbox").await
    }

    /// Revokes every grant of `identity` (user or group); revoking nothing is not an error.
    pub async fn revoke(&self, identity: &str) -> Result<()> {
        let req = api::sharing::revoke(self.sandbox.id(), identity)?;
        exchange::send(&self.sandbox.client.transport, &req).await?;
        Ok(())
    }

    /// Mints a share link; its token is shown only in the answer.
    pub async fn create_link(&self, link: CreateShareLink) -> Result<ShareLinkCreated> {
        let req = api::sharing::create_link(self.sandbox.id(), &link)?;
        exchange::json(&self.sandbox.client.transport, &req, "create share link").await
    }
}
