//! Bulk calls (wire spec §3.10): create several sandboxes, or stop, resume or delete several,
//! in one request.

use agenttier_core::models::{BulkAction, BulkActionResult, BulkCreateResult, CreateSandbox};
use agenttier_core::{Result, api};

use super::{Client, exchange};
use crate::maybe;

#[maybe]
impl Client {
    /// Creates several sandboxes in one call. When the items together would exceed a count
    /// quota, nothing is created and the error is [`agenttier_core::Error::Conflict`]
    /// (`quota_would_exceed`, see [`agenttier_core::models::QuotaWouldExceed`]); otherwise each
    /// item has its own result.
    pub async fn bulk_create(&self, items: &[CreateSandbox]) -> Result<Vec<BulkCreateResult>> {
        let req = api::bulk::create(items)?;
        exchange::list(&self.transport, &req, "results", "bulk create").await
    }

    /// Stops, resumes or deletes several sandboxes; each id has its own result.
    pub async fn bulk_action<S: AsRef<str> + Sync>(
        &self,
        action: BulkAction,
        ids: &[S],
    ) -> Result<Vec<BulkActionResult>> {
        let req = api::bulk::action(action, ids)?;
        exchange::list(&self.transport, &req, "results", "bulk action").await
    }
}
