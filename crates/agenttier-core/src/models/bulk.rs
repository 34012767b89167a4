//! Bulk create and bulk actions (wire spec §3.10): what they take and answer.

use serde::{Deserialize, Serialize};

use super::{Violation, nullable, nullable_list, string_enum};
use crate::Error;

/// Outcome of one item of a bulk call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ItemStatus {
    /// Bulk create: the sandbox was created.
    Created,
    /// Bulk action: the action was applied.
    #[default]
    Ok,
    /// The item failed; see its `error`.
    Error,
    /// A status this SDK version does not know.
    Unknown(String),
}

string_enum!(ItemStatus {
    Created => "created",
    Ok => "ok",
    Error => "error",
});

impl ItemStatus {
    /// Whether the item succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self, ItemStatus::Created | ItemStatus::Ok)
    }
}

/// One result of a bulk create, by position in the request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct BulkCreateResult {
    /// Position of the item in the request.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub index: usize,
    /// `created` or `error`.
    pub status: ItemStatus,
    /// The new sandbox, when created.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub sandbox_id: String,
    /// Why the item failed (`policy_violation: ...`, `name is required`, ...).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub error: String,
}

/// What a bulk action does to each sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BulkAction {
    /// Stop each.
    Stop,
    /// Resume each.
    Resume,
    /// Delete each.
    Delete,
}

impl BulkAction {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Stop => "stop",
            BulkAction::Resume => "resume",
            BulkAction::Delete => "delete",
        }
    }
}

/// One result of a bulk action, by sandbox id.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BulkActionResult {
    /// The sandbox.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub id: String,
    /// `ok` or `error`.
    pub status: ItemStatus,
    /// Why it failed (`access denied to sandbox b`, `cannot stop sandbox in phase Stopped`, ...).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub error: String,
}

/// The body of a `409 quota_would_exceed` refusal of a bulk create: nothing was created.
///
/// ```
/// use agenttier_core::models::QuotaWouldExceed;
/// let err = agenttier_core::response::error_from(409, &Default::default(),
///     br#"{"error":"quota_would_exceed","namespace":"ns","violations":[{"code":"user_quota_exceeded","message":"m"}]}"#, 1);
/// let q = QuotaWouldExceed::from_error(&err).unwrap();
/// assert_eq!(q.violations[0].code, "user_quota_exceeded");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct QuotaWouldExceed {
    /// The namespace whose quota would be exceeded.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub namespace: String,
    /// The quotas, with the platform's codes.
    #[serde(deserialize_with = "nullable_list::deserialize")]
    pub violations: Vec<Violation>,
}

impl QuotaWouldExceed {
    /// The refusal inside a [`Error::Conflict`], if that is what `err` is.
    pub fn from_error(err: &Error) -> Option<QuotaWouldExceed> {
        match err {
            Error::Conflict { api } if api.message == "quota_would_exceed" => serde_json::from_str(&api.body).ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_shapes_decode() {
        let b: Vec<BulkCreateResult> = serde_json::from_str(
            r#"[{"index":0,"status":"created","sandboxId":"w1"},{"index":1,"status":"error","error":"name is required"}]"#,
        )
        .unwrap();
        assert!(b[0].status.is_success() && !b[1].status.is_success());
    }
}
