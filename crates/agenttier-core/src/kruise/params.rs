//! Parameters of list, watch, delete and patch calls, and how they go on the wire.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::{Error, Result};

/// Page size used when following `continue` tokens (what kubectl uses).
pub const DEFAULT_PAGE: u32 = 500;

/// Filters and paging of a list (and of a delete-collection).
///
/// ```
/// use agenttier_core::kruise::ListParams;
/// let p = ListParams::default().labels("app=demo,tier!=db").limit(50);
/// assert_eq!(p.query(), vec![("labelSelector".into(), "app=demo,tier!=db".into()), ("limit".into(), "50".into())]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListParams {
    /// Label selector, passed verbatim (`k=v`, `k!=v`, `k in (a,b)`, `!k`, comma = AND).
    pub label_selector: Option<String>,
    /// Field selector; custom resources only support `metadata.name` and `metadata.namespace`
    /// (anything else is a 400 from the server).
    pub field_selector: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
    /// `continue` token of the previous page.
    pub continue_token: Option<String>,
    /// `resourceVersion` the list must be at least as new as (`"0"`: any cached state).
    pub resource_version: Option<String>,
    /// `resourceVersionMatch` (`NotOlderThan` or `Exact`).
    pub resource_version_match: Option<String>,
}

impl ListParams {
    /// Sets the label selector.
    pub fn labels(mut self, selector: impl Into<String>) -> Self {
        self.label_selector = Some(selector.into());
        self
    }

    /// Sets the field selector.
    pub fn fields(mut self, selector: impl Into<String>) -> Self {
        self.field_selector = Some(selector.into());
        self
    }

    /// Sets the page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Continues from a previous page.
    pub fn continue_from(mut self, token: impl Into<String>) -> Self {
        self.continue_token = Some(token.into());
        self
    }

    /// Sets `resourceVersion`.
    pub fn resource_version(mut self, rv: impl Into<String>) -> Self {
        self.resource_version = Some(rv.into());
        self
    }

    /// The query pairs, in a fixed order.
    pub fn query(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        push(&mut q, "labelSelector", self.label_selector.as_deref());
        push(&mut q, "fieldSelector", self.field_selector.as_deref());
        if let Some(limit) = self.limit {
            q.push(("limit".into(), limit.to_string()));
        }
        push(&mut q, "continue", self.continue_token.as_deref());
        push(&mut q, "resourceVersion", self.resource_version.as_deref());
        push(&mut q, "resourceVersionMatch", self.resource_version_match.as_deref());
        q
    }

    /// Only the selectors (for delete-collection and watches).
    pub(crate) fn selectors(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        push(&mut q, "labelSelector", self.label_selector.as_deref());
        push(&mut q, "fieldSelector", self.field_selector.as_deref());
        q
    }
}

fn push(q: &mut Vec<(String, String)>, key: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        q.push((key.into(), v.into()));
    }
}

/// What a watch looks at and how long it lasts.
///
/// `timeout` is the watch's own deadline: the stream reconnects (from the last seen
/// `resourceVersion`) and relists (after `410 Gone`) as often as needed until then, and ends
/// cleanly when it passes. Without it the watch runs until dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WatchParams {
    /// Label selector.
    pub label_selector: Option<String>,
    /// Field selector (`metadata.name=NAME` for one object).
    pub field_selector: Option<String>,
    /// Start after this `resourceVersion`; when unset the watch first lists, reports every
    /// existing object as `Added`, then follows changes.
    pub resource_version: Option<String>,
    /// The watch's deadline, measured from its start.
    pub timeout: Option<Duration>,
    /// Ask for `BOOKMARK` events (default `true`); they only advance the resume point.
    pub bookmarks: bool,
}

impl Default for WatchParams {
    fn default() -> Self {
        WatchParams {
            label_selector: None,
            field_selector: None,
            resource_version: None,
            timeout: None,
            bookmarks: true,
        }
    }
}

impl WatchParams {
    /// Watches the object called `name` only.
    pub fn object(name: &str) -> Self {
        WatchParams::default().fields(format!("metadata.name={name}"))
    }

    /// Sets the label selector.
    pub fn labels(mut self, selector: impl Into<String>) -> Self {
        self.label_selector = Some(selector.into());
        self
    }

    /// Sets the field selector.
    pub fn fields(mut self, selector: impl Into<String>) -> Self {
        self.field_selector = Some(selector.into());
        self
    }

    /// Starts after `rv`.
    pub fn resource_version(mut self, rv: impl Into<String>) -> Self {
        self.resource_version = Some(rv.into());
        self
    }

    /// Ends the watch after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The list that (re)starts this watch.
    pub fn list_params(&self) -> ListParams {
        ListParams {
            label_selector: self.label_selector.clone(),
            field_selector: self.field_selector.clone(),
            limit: Some(DEFAULT_PAGE),
            ..Default::default()
        }
    }
}

/// `propagationPolicy` of a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum PropagationPolicy {
    /// Delete dependents in the background (the default for most kinds).
    Background,
    /// Delete dependents first.
    Foreground,
    /// Leave dependents.
    Orphan,
}

/// `DeleteOptions.preconditions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Preconditions {
    /// Delete only if the uid matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Delete only if the resourceVersion matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

/// Options of a delete, sent as a `DeleteOptions` body.
///
/// `grace_period_seconds` is passed through for parity with the Python client, but the API
/// server ignores it for custom resources (they have no graceful deletion; kubernetes#56567).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteParams {
    /// Grace period (a no-op for custom resources; see above).
    pub grace_period_seconds: Option<i64>,
    /// How dependents are deleted.
    pub propagation_policy: Option<PropagationPolicy>,
    /// Conditions for the delete to happen.
    pub preconditions: Option<Preconditions>,
    /// Validate only, change nothing (`dryRun: ["All"]`).
    pub dry_run: bool,
}

impl DeleteParams {
    /// Sets the grace period.
    pub fn grace_period(mut self, seconds: i64) -> Self {
        self.grace_period_seconds = Some(seconds);
        self
    }

    /// Sets the propagation policy.
    pub fn propagation(mut self, policy: PropagationPolicy) -> Self {
        self.propagation_policy = Some(policy);
        self
    }

    /// Deletes only if the object is still at `rv`.
    pub fn if_resource_version(mut self, rv: impl Into<String>) -> Self {
        self.preconditions
            .get_or_insert_with(Preconditions::default)
            .resource_version = Some(rv.into());
        self
    }

    /// Validates only.
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    /// The `DeleteOptions` body.
    pub fn body(&self) -> Result<Value> {
        if self.grace_period_seconds.is_some_and(|s| s < 0) {
            return Err(Error::invalid_input("grace period must not be negative"));
        }
        let mut body = serde_json::json!({"kind": "DeleteOptions", "apiVersion": "v1"});
        if let Some(s) = self.grace_period_seconds {
            body["gracePeriodSeconds"] = s.into();
        }
        if let Some(p) = self.propagation_policy {
            body["propagationPolicy"] = serde_json::to_value(p).unwrap_or_default();
        }
        if let Some(p) = &self.preconditions {
            body["preconditions"] = serde_json::to_value(p).unwrap_or_default();
        }
        if self.dry_run {
            body["dryRun"] = serde_json::json!(["All"]);
        }
        Ok(body)
    }
}

/// A patch body.
///
/// Strategic merge patch is not offered: the API server answers 415 for custom resources.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PatchBody {
    /// RFC 7386 JSON merge patch (`application/merge-patch+json`): objects merge, `null`
    /// deletes a key, arrays are replaced whole.
    Merge(Value),
    /// RFC 6902 JSON patch (`application/json-patch+json`): a list of operations.
    Json(Vec<Value>),
}

impl PatchBody {
    /// The content type.
    pub fn content_type(&self) -> &'static str {
        match self {
            PatchBody::Merge(_) => "application/merge-patch+json",
            PatchBody::Json(_) => "application/json-patch+json",
        }
    }

    /// The encoded body.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let encoded = match self {
            PatchBody::Merge(v) => {
                if !v.is_object() {
                    return Err(Error::invalid_input("a merge patch must be a JSON object"));
                }
                serde_json::to_vec(v)
            }
            PatchBody::Json(ops) => {
                if let Some(bad) = ops.iter().find(|op| op.get("op").and_then(Value::as_str).is_none()) {
                    return Err(Error::invalid_input(format!(
                        "every JSON patch operation needs an \"op\": {bad}"
                    )));
                }
                serde_json::to_vec(ops)
            }
        };
        encoded.map_err(|e| Error::invalid_input(format!("patch cannot be encoded: {e}")))
    }
}
