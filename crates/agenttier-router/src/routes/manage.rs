//! Clone (§3.9), PATCH (§3.8) and the bulk routes (§3.10).
//!
//! Local semantics: clone snapshots the source workspace (a backup of kind `clone`, listed with
//! the source's backups) and starts a new sandbox from a copy of it, with the source's template,
//! mode, namespace, timeouts, storage size, labels, annotations and resources; the clone belongs
//! to the caller. As on the platform, clone is not checked against governance. PATCH changes
//! the idle timeout at once (the idle clock keeps running) and records resources for the next
//! start; labels and annotations are merged. These fields are the record's
//! [`Spec`], not shown in the sandbox JSON (as on the platform).

use std::collections::BTreeMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::sandboxes::{check_create, create_from, parse_positive};
use crate::auth::Identity;
use crate::errors::{ApiError, Violation};
use crate::gotime::now_unix;
use crate::respond::go_json;
use crate::sandbox::record::{Phase, SandboxRecord};
use crate::sandbox::spec::Spec;
use crate::state::AppState;
use crate::validate::{decode_body, is_rfc1123_label, rfc1123_error};

/// Decodes an optional body: empty means `T::default()`.
pub(super) fn optional_body<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        Ok(T::default())
    } else {
        decode_body(body)
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CloneRequest {
    name: Option<String>,
    #[allow(dead_code)]
    snapshot_class: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CloneReply<'a> {
    name: &'a str,
    namespace: &'a str,
    snapshot: &'a str,
    cloned_from: &'a str,
    phase: &'static str,
    message: String,
}

/// A new sandbox record that copies `source`'s spec, owned by `who`.
pub(super) fn copy_of(source: &SandboxRecord, name: &str, who: &Identity) -> SandboxRecord {
    SandboxRecord {
        timeout: source.timeout,
        idle_timeout: source.idle_timeout,
        storage_size: source.storage_size.clone(),
        spec: source.spec.clone(),
        ..SandboxRecord::new(name, &source.namespace, &source.template, &source.mode, who)
    }
}

/// The name of a new sandbox: the body's (an RFC 1123 label) or `<source>-<what>-<unix>`.
pub(super) fn new_name(given: Option<String>, source: &str, what: &str) -> Result<String, ApiError> {
    match given.filter(|n| !n.is_empty()) {
        Some(n) if is_rfc1123_label(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(rfc1123_error("name", &n))),
        None => Ok(format!("{source}-{what}-{}", now_unix())),
    }
}

pub(super) async fn clone(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let source = st.sandboxes.view(&id, &who, |e| Ok(e.rec.clone()))?;
    let req: CloneRequest = optional_body(&body)?;
    let name = new_name(req.name, &id, "clone")?;
    let workspace = st.sandboxes.workspace_dir(&id);
    if source.phase == Phase::New || !workspace.is_dir() {
        return Err(ApiError::bad_request(format!(
            "sandbox {id} has no PVC to clone (phase={})",
            source.phase.as_str()
        )));
    }
    if st.sandboxes.exists(&name) {
        return Err(ApiError::conflict(format!("sandbox {name} already exists")));
    }
    let snapshot = st.snapshots.fresh_name(&format!("{id}-snap"));
    st.snapshots.take(&snapshot, &id, "clone", workspace).await?;
    let staged = st.snapshots.stage(&snapshot).await?;
    let rec = copy_of(&source, &name, &who);
    let created = st.sandboxes.create_seeded(rec, |_| Vec::new(), Some(&staged));
    if created.is_err() {
        let _ = std::fs::remove_dir_all(&staged);
    }
    created?;
    st.events.sandbox(
        &source,
        "Cloned",
        &format!("cloned to {name} from snapshot {snapshot}"),
        Some(&who),
    );
    Ok(go_json(
        StatusCode::ACCEPTED,
        &CloneReply {
            name: &name,
            namespace: &source.namespace,
            snapshot: &snapshot,
            cloned_from: &id,
            phase: "Pending",
            message: format!(
                "Clone in progress. Poll GET /api/v1/sandboxes/{name} for status; the workspace is a copy of {id} at snapshot {snapshot}."
            ),
        },
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PatchRequest {
    idle_timeout: Option<String>,
    resources: Option<serde_json::Value>,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PatchReply<'a> {
    sandbox_id: &'a str,
    applied: BTreeMap<&'static str, &'static str>,
    restart_required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
}

pub(super) async fn patch(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let namespace = st.sandboxes.view(&id, &who, |e| Ok(e.rec.namespace.clone()))?;
    let req: PatchRequest = decode_body(&body)?;
    if req.idle_timeout.is_none() && req.resources.is_none() && req.labels.is_none() && req.annotations.is_none() {
        return Err(ApiError::bad_request(
            "at least one of idleTimeout, resources, labels, annotations is required",
        ));
    }
    let idle = match &req.idle_timeout {
        Some(v) => Some(
            parse_positive("idleTimeout", Some(v))?
                .ok_or_else(|| ApiError::bad_request("invalid idleTimeout: must be positive"))?,
        ),
        None => None,
    };
    if let Some(r) = &req.resources {
        if !r.is_object() {
            return Err(ApiError::bad_request(
                "invalid request body: resources must be an object",
            ));
        }
    }
    let probe = Spec {
        resources: req.resources.clone(),
        ..Spec::default()
    };
    // Every cpu and memory quantity, requests and limits: one that cannot be read is a 400,
    // never "no limit".
    for kind in ["limits", "requests"] {
        for (name, cpu) in [("cpu", true), ("memory", false)] {
            match req
                .resources
                .as_ref()
                .and_then(|r| r.get(kind))
                .and_then(|k| k.get(name))
            {
                None => {}
                Some(serde_json::Value::String(q)) => {
                    crate::governance::check_quantity(&format!("resources.{kind}.{name}"), q, cpu)?
                }
                Some(other) => {
                    return Err(ApiError::bad_request(format!(
                        "invalid resources.{kind}.{name}: {other} is not a quantity string"
                    )));
                }
            }
        }
    }
    let violations: Vec<Violation> = st.governance.check_update(
        &namespace,
        idle,
        probe.resource("cpu").as_deref(),
        probe.resource("memory").as_deref(),
    );
    if !violations.is_empty() {
        return Err(ApiError::Policy(violations));
    }
    let mut applied = BTreeMap::new();
    let rec = st.sandboxes.update(&id, &who, |e, store| {
        let spec = &mut e.rec.spec;
        if let Some(d) = idle {
            e.rec.idle_timeout = Some(d);
            applied.insert("idleTimeout", "immediately");
        }
        if let Some(labels) = req.labels {
            spec.labels.extend(labels);
            applied.insert("labels", "immediately");
        }
        if let Some(annotations) = req.annotations {
            spec.annotations.extend(annotations);
            applied.insert("annotations", "immediately");
        }
        if let Some(resources) = req.resources {
            spec.resources = Some(resources);
            applied.insert("resources", "on-restart");
        }
        store
            .save_sandbox(&e.rec)
            .map_err(|err| ApiError::internal(format!("failed to update sandbox: {err}")))?;
        Ok(e.rec.clone())
    })?;
    let restart_required = applied.contains_key("resources");
    st.events.sandbox(
        &rec,
        "Updated",
        &format!("updated {}", applied.keys().copied().collect::<Vec<_>>().join(", ")),
        Some(&who),
    );
    Ok(go_json(
        StatusCode::OK,
        &PatchReply {
            sandbox_id: &id,
            applied,
            restart_required,
            message: restart_required
                .then_some("resource changes take effect after the sandbox is stopped and resumed"),
        },
    ))
}

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
        let outcome = check_create(&bytes).and_then(|fields| create_from(&st, &who, fields));
        results.push(match outcome {
            Ok((name, _, _)) => CreateResult {
                index,
                status: "created",
                sandbox_id: Some(name),
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
