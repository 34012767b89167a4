//! The bulk routes (§3.10): create many sandboxes, or act on many, in one call.

use std::collections::BTreeMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::sandboxes::check_create;
use crate::auth::Identity;
use crate::errors::{ApiError, Violation};
use crate::respond::go_json;
use crate::state::AppState;
use crate::validate::decode_body;

const SCOPED_BULK: &str = "sandbox-scoped keys may not perform bulk operations";

#[derive(Deserialize)]
struct BulkCreateRequest {
    items: Option<Vec<serde_json::Value>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateResult {
    index: usize,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sandbox_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub(super) async fn bulk_create(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if who.scope.is_some() {
        return Err(ApiError::forbidden(SCOPED_BULK));
    }
    let req: BulkCreateRequest = decode_body(&body)?;
    let items = req
        .items
        .filter(|i| !i.is_empty())
        .ok_or_else(|| ApiError::bad_request("items must be a non-empty array"))?;
    if let Some(refusal) = aggregate_quota(&st, &who, &items) {
        return Ok(refusal);
    }
    let mut results = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let bytes = serde_json::to_vec(item).unwrap_or_default();
        let outcome = check_create(&bytes).and_then(|fields| st.provision().create(&who, fields));
        results.push(match outcome {
            Ok(rec) => CreateResult {
                index,
                status: "created",
                sandbox_id: Some(rec.name),
                error: None,
            },
            Err(e) => CreateResult {
                index,
                status: "error",
                sandbox_id: None,
                error: Some(e.item_message()),
            },
        });
    }
    Ok(go_json(StatusCode::OK, &serde_json::json!({ "results": results })))
}

/// The 409 `quota_would_exceed` reply when the items together would break a count quota of
/// their namespace (checked before anything is created).
fn aggregate_quota(st: &AppState, who: &Identity, items: &[serde_json::Value]) -> Option<Response> {
    let mut per_ns: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for item in items {
        let ns = item
            .get("namespace")
            .and_then(|n| n.as_str())
            .filter(|n| !n.is_empty())
            .unwrap_or("default")
            .to_owned();
        let agent = item
            .get("templateRef")
            .and_then(|t| t.get("name"))
            .and_then(|n| n.as_str())
            .and_then(|t| st.templates.get(t))
            .is_some_and(|t| t.mode() == "agent");
        let entry = per_ns.entry(ns).or_default();
        entry.0 += 1;
        entry.1 += usize::from(agent);
    }
    for (ns, (count, agents)) in per_ns {
        let policy = st.governance.effective(&ns);
        let usage = st.sandboxes.usage(&ns, &who.sub);
        let mut v = Vec::new();
        let over = |limit: i64, have: usize, add: usize| limit > 0 && (have + add) as i64 > limit;
        if over(policy.max_sandboxes_total, usage.namespace, count) {
            v.push(Violation {
                code: "namespace_quota_exceeded",
                message: format!(
                    "namespace {ns:?} has {} sandboxes; creating {count} more would exceed the limit of {}",
                    usage.namespace, policy.max_sandboxes_total
                ),
            });
        }
        if over(policy.max_sandboxes_per_user, usage.user, count) {
            v.push(Violation {
                code: "user_quota_exceeded",
                message: format!(
                    "user has {} sandboxes; creating {count} more would exceed the limit of {}",
                    usage.user, policy.max_sandboxes_per_user
                ),
            });
        }
        if agents > 0 && over(policy.max_agent_sandboxes, usage.agents, agents) {
            v.push(Violation {
                code: "agent_sandbox_quota_exceeded",
                message: format!(
                    "namespace {ns:?} has {} agent sandboxes; creating {agents} more would exceed the limit of {}",
                    usage.agents, policy.max_agent_sandboxes
                ),
            });
        }
        if !v.is_empty() {
            return Some(go_json(
                StatusCode::CONFLICT,
                &serde_json::json!({"error": "quota_would_exceed", "namespace": ns, "violations": v}),
            ));
        }
    }
    None
}

#[derive(Deserialize)]
struct BulkActionRequest {
    action: Option<String>,
    ids: Option<Vec<String>>,
}

#[derive(Serialize)]
struct ActionResult {
    id: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub(super) async fn bulk_action(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if who.scope.is_some() {
        return Err(ApiError::forbidden(SCOPED_BULK));
    }
    let req: BulkActionRequest = decode_body(&body)?;
    let action = req.action.unwrap_or_default();
    if !matches!(action.as_str(), "stop" | "resume" | "delete") {
        return Err(ApiError::bad_request(
            r#"action must be one of "stop", "resume", "delete""#,
        ));
    }
    let ids = req
        .ids
        .filter(|i| !i.is_empty())
        .ok_or_else(|| ApiError::bad_request("ids must be a non-empty array"))?;
    let results: Vec<ActionResult> = ids
        .into_iter()
        .map(|id| {
            let outcome = match action.as_str() {
                "stop" => st.sandboxes.stop(&id, &who),
                "resume" => st.sandboxes.resume(&id, &who),
                _ => st.sandboxes.delete(&id, &who),
            };
            match outcome {
                Ok(()) => ActionResult {
                    id,
                    status: "ok",
                    error: None,
                },
                Err(e) => ActionResult {
                    id,
                    status: "error",
                    error: Some(e.item_message()),
                },
            }
        })
        .collect();
    Ok(go_json(StatusCode::OK, &serde_json::json!({ "results": results })))
}
