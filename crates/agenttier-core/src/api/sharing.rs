//! Sharing a sandbox (wire spec §6.5): grants to users and groups, share links.

use super::{non_empty, sandbox_path};
use crate::Result;
use crate::models::{CreateShareLink, GrantShare};
use crate::request::{Request, segment};

/// `GET /sandboxes/{id}/share`: the grants and share links.
pub fn get(id: &str) -> Result<Request> {
    Ok(Request::get(sandbox_path(id, "/share")?))
}

/// `POST /sandboxes/{id}/share`: grants a user or a group access.
pub fn grant(id: &str, grant: &GrantShare) -> Result<Request> {
    grant.validate()?;
    Request::post(sandbox_path(id, "/share")?).json(grant)
}

/// `DELETE /sandboxes/{id}/share/{identity}`: revokes every grant of `identity`.
pub fn revoke(id: &str, identity: &str) -> Result<Request> {
    non_empty(identity, "identity")?;
    Ok(Request::delete(sandbox_path(
        id,
        &format!("/share/{}", segment(identity)),
    )?))
}

/// `POST /sandboxes/{id}/share-links`: mints a share link.
pub fn create_link(id: &str, link: &CreateShareLink) -> Result<Request> {
    link.validate()?;
    Request::post(sandbox_path(id, "/share-links")?).json(link)
}
