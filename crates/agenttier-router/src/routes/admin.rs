//! Governance (§10.1), audit (§10.2), analytics (§10.3) and the admin views (§10.4).
//!
//! Policy edits take effect on the next request: creates, bulk creates, PATCH, restore and
//! agent configure all read the live policy set. Audit events are every state change the
//! router recorded, newest first (the platform lists Kubernetes Events in reverse order). The
//! analytics use the platform's snake_case shapes; start-up times come from the recorded
//! `Creating`/`Resuming` → `Running` transitions, and the cost figures use fixed notional rates
//! (there is no bill for a laptop), with the recorded running time added as
//! `recorded_running_hours` and `recorded_compute_cost`.

use std::collections::{BTreeMap, HashMap};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::account::{key_json, live_keys};
use crate::auth::Identity;
use crate::errors::ApiError;
use crate::governance::{Policy, cpu_millis, quantity_bytes};
use crate::respond::go_json;
use crate::sandbox::record::Phase;
use crate::state::AppState;
use crate::validate::decode_body;

/// 403 `admin_required` (plain text) unless the caller is an admin.
pub(crate) fn require_admin(who: &Identity) -> Result<(), ApiError> {
    if who.is_admin {
        Ok(())
    } else {
        Err(ApiError::admin_required())
    }
}

/// The fields of the policy object; others are ignored, as the platform's decoder does.
const POLICY_FIELDS: &[&str] = &[
    "maxSandboxesPerUser",
    "maxSandboxesTotal",
    "maxCpu",
    "maxMemory",
    "maxStorage",
    "maxTimeout",
    "maxIdleTimeout",
    "allowedTemplates",
    "approvedRegistries",
    "maxAgentSandboxes",
    "allowedAgentImages",
    "maxConcurrentInvokesPerSandbox",
    "description",
];

/// Decodes a policy body: unknown fields ignored, values that cannot be enforced refused.
fn decode_policy(body: &[u8]) -> Result<Policy, ApiError> {
    let mut value: serde_json::Map<String, serde_json::Value> = decode_body(body)?;
    value.retain(|k, v| POLICY_FIELDS.contains(&k.as_str()) && !v.is_null());
    let p: Policy = serde_json::from_value(serde_json::Value::Object(value))
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))?;
    p.check_quantities()?;
    Ok(p)
}

pub(super) async fn get_policies(State(st): State<AppState>) -> Response {
    let p = st.governance.snapshot();
    let namespaces: Vec<_> = p
        .namespaces
        .iter()
        .map(|(ns, policy)| serde_json::json!({"namespace": ns, "policy": policy}))
        .collect();
    go_json(
        StatusCode::OK,
        &serde_json::json!({"cluster": p.cluster, "namespaces": namespaces}),
    )
}

pub(super) async fn put_cluster_policy(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_admin(&who)?;
    let policy = decode_policy(&body)?;
    let mut all = st.governance.snapshot();
    all.cluster = Some(policy.clone());
    st.governance
        .replace(all)
        .map_err(|e| ApiError::internal(format!("failed to save policy: {e}")))?;
    st.events.other("PolicyUpdated", "cluster policy replaced", &who);
    Ok(go_json(
        StatusCode::OK,
        &serde_json::json!({"scope": "cluster", "policy": policy}),
    ))
}

pub(super) async fn get_namespace_policy(State(st): State<AppState>, Path(ns): Path<String>) -> Response {
    let policy = st.governance.snapshot().namespaces.remove(&ns).unwrap_or_default();
    go_json(StatusCode::OK, &serde_json::json!({"namespace": ns, "policy": policy}))
}

pub(super) async fn put_namespace_policy(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(ns): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_admin(&who)?;
    let policy = decode_policy(&body)?;
    let mut all = st.governance.snapshot();
    all.namespaces.insert(ns.clone(), policy.clone());
    st.governance
        .replace(all)
        .map_err(|e| ApiError::internal(format!("failed to save policy: {e}")))?;
    st.events
        .other("PolicyUpdated", &format!("policy of namespace {ns} replaced"), &who);
    Ok(go_json(
        StatusCode::OK,
        &serde_json::json!({"namespace": ns, "policy": policy}),
    ))
}

pub(super) async fn delete_namespace_policy(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(ns): Path<String>,
) -> Result<Response, ApiError> {
    require_admin(&who)?;
    let mut all = st.governance.snapshot();
    if all.namespaces.remove(&ns).is_some() {
        st.governance
            .replace(all)
            .map_err(|e| ApiError::internal(format!("failed to delete policy: {e}")))?;
        st.events
            .other("PolicyDeleted", &format!("policy of namespace {ns} deleted"), &who);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn effective(State(st): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let ns = q
        .get("namespace")
        .filter(|n| !n.is_empty())
        .cloned()
        .unwrap_or_else(|| "default".into());
    let policy = st.governance.effective(&ns);
    go_json(StatusCode::OK, &serde_json::json!({"namespace": ns, "policy": policy}))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuditEvent<'a> {
    timestamp: String,
    event_type: &'a str,
    sandbox_id: &'a str,
    sandbox_name: &'a str,
    namespace: &'a str,
    user_email: &'a str,
    details: BTreeMap<&'static str, &'a str>,
}

pub(super) async fn audit_events(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
) -> Result<Response, ApiError> {
    require_admin(&who)?;
    let rows = st.events.all();
    let events: Vec<AuditEvent<'_>> = rows
        .iter()
        .rev()
        .map(|r| AuditEvent {
            timestamp: crate::gotime::rfc3339(r.at_ms / 1000),
            event_type: &r.event_type,
            sandbox_id: &r.sandbox,
            sandbox_name: &r.sandbox,
            namespace: &r.namespace,
            user_email: &r.user_email,
            details: BTreeMap::from([("reason", r.reason.as_str())]),
        })
        .collect();
    Ok(go_json(StatusCode::OK, &serde_json::json!({ "events": events })))
}

/// Start-up samples (ms) and running time (s) measured from the recorded transitions.
fn lifetimes(st: &AppState) -> (Vec<i64>, f64) {
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let mut starting: HashMap<&str, i64> = HashMap::new();
    let mut running: HashMap<&str, i64> = HashMap::new();
    let mut samples = Vec::new();
    let mut run_ms = 0i64;
    let rows = st.events.all();
    for r in &rows {
        let name = r.sandbox.as_str();
        match r.event_type.as_str() {
            "Creating" | "Resuming" => {
                starting.insert(name, r.at_ms);
            }
            "Running" => {
                if let Some(t0) = starting.remove(name) {
                    samples.push(r.at_ms - t0);
                }
                running.insert(name, r.at_ms);
            }
            "Stopped" | "Error" | "Deleting" => {
                if let Some(t0) = running.remove(name) {
                    run_ms += r.at_ms - t0;
                }
                starting.remove(name);
            }
            _ => {}
        }
    }
    for (name, t0) in running {
        if st.sandboxes.exists(name) {
            run_ms += now_ms - t0;
        }
    }
    (samples, run_ms as f64 / 1000.0)
}

pub(super) async fn usage(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
) -> Result<Response, ApiError> {
    require_admin(&who)?;
    let mut status: BTreeMap<String, i64> = BTreeMap::new();
    let mut templates: BTreeMap<String, i64> = BTreeMap::new();
    let total = st.sandboxes.list(&who, |all| {
        let mut n = 0;
        for e in all {
            n += 1;
            let phase = match e.rec.phase.as_str() {
                "" => "creating",
                p => p,
            };
            *status.entry(phase.to_owned()).or_default() += 1;
            let t = if e.rec.template.is_empty() {
                "unknown"
            } else {
                &e.rec.template
            };
            *templates.entry(t.to_owned()).or_default() += 1;
        }
        n
    });
    let (samples, _) = lifetimes(&st);
    let avg = if samples.is_empty() {
        0
    } else {
        samples.iter().sum::<i64>() / samples.len() as i64
    };
    Ok(go_json(
        StatusCode::OK,
        &serde_json::json!({
            "total_sandboxes": total,
            "status_breakdown": status,
            "template_breakdown": templates,
            "avg_startup_ms": avg,
            "startup_sample_count": samples.len(),
        }),
    ))
}

/// Notional price of one running sandbox per hour.
const COMPUTE_PER_HOUR: f64 = 0.05;
/// Notional price of one GiB of workspace per hour (0.10 per GiB-month).
const STORAGE_PER_GIB_HOUR: f64 = 0.10 / 730.0;
const DEFAULT_STORAGE_GIB: f64 = 10.0;

fn round(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

pub(super) async fn costs(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
) -> Result<Response, ApiError> {
    require_admin(&who)?;
    let mut running = 0;
    let mut stopped = 0;
    let mut compute = 0.0;
    let mut storage = 0.0;
    let mut per: BTreeMap<String, (f64, i64)> = BTreeMap::new();
    st.sandboxes.list(&who, |all| {
        for e in all {
            let gib = e
                .rec
                .storage_size
                .as_deref()
                .and_then(quantity_bytes)
                .map_or(DEFAULT_STORAGE_GIB, |b| b / 1024f64.powi(3));
            let mut hourly = gib * STORAGE_PER_GIB_HOUR;
            storage += hourly;
            match e.rec.phase {
                Phase::Running => {
                    running += 1;
                    compute += COMPUTE_PER_HOUR;
                    hourly += COMPUTE_PER_HOUR;
                }
                Phase::Stopped => stopped += 1,
                _ => {}
            }
            let slot = per.entry(e.rec.template.clone()).or_default();
            slot.0 += hourly;
            slot.1 += 1;
        }
    });
    let (_, run_secs) = lifetimes(&st);
    let hours = run_secs / 3600.0;
    let per_template: Vec<_> = per
        .into_iter()
        .map(|(t, (cost, n))| serde_json::json!({"template": t, "hourly_cost": round(cost), "count": n}))
        .collect();
    Ok(go_json(
        StatusCode::OK,
        &serde_json::json!({
            "running_sandboxes": running,
            "stopped_sandboxes": stopped,
            "total_hourly_compute": round(compute),
            "total_hourly_storage": round(storage),
            "total_estimated_monthly": round((compute + storage) * 730.0),
            "per_template": per_template,
            "recorded_running_hours": (hours * 1e6).round() / 1e6,
            "recorded_compute_cost": round(hours * COMPUTE_PER_HOUR),
        }),
    ))
}

pub(super) async fn admin_sandboxes(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    require_admin(&who)?;
    let ns = q.get("namespace").filter(|s| !s.is_empty());
    let keys = live_keys(&st);
    let items: Vec<serde_json::Value> = st.sandboxes.list(&who, |all| {
        all.filter(|e| ns.is_none_or(|n| &e.rec.namespace == n))
            .map(|e| {
                let mut v = serde_json::to_value(e.rec.to_json()).unwrap_or_default();
                let scoped: Vec<_> = keys
                    .iter()
                    .filter(|k| k.sandbox_id.as_deref() == Some(e.rec.name.as_str()))
                    .map(key_json)
                    .collect();
                if let (Some(obj), false) = (v.as_object_mut(), scoped.is_empty()) {
                    obj.insert("scopedApiKeys".into(), serde_json::to_value(scoped).unwrap_or_default());
                }
                v
            })
            .collect()
    });
    Ok(go_json(StatusCode::OK, &serde_json::json!({ "sandboxes": items })))
}

/// The platform answers `{}` (a stub); the local router lists the sandboxes that have grants or
/// links, with their sharing state.
pub(super) async fn admin_sharing(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
) -> Result<Response, ApiError> {
    require_admin(&who)?;
    let shared: Vec<serde_json::Value> = st.sandboxes.list(&who, |all| {
        all.filter_map(|e| {
            let info = e.rec.sharing.clone();
            (!info.is_empty()).then(|| {
                serde_json::json!({
                    "sandboxId": e.rec.name,
                    "namespace": e.rec.namespace,
                    "users": info.users,
                    "groups": info.groups,
                    "shareLinks": info.share_links,
                })
            })
        })
        .collect()
    });
    Ok(go_json(StatusCode::OK, &serde_json::json!({ "sandboxes": shared })))
}

/// Resource requests recorded by PATCH (CPU millicores, memory bytes) of running sandboxes.
pub(super) fn requested(st: &AppState, who: &Identity) -> (f64, f64) {
    st.sandboxes.list(who, |all| {
        all.filter(|e| e.rec.phase == Phase::Running)
            .fold((0.0, 0.0), |(c, m), e| {
                let spec = e.rec.spec.clone();
                (
                    c + spec.resource("cpu").as_deref().and_then(cpu_millis).unwrap_or(0.0),
                    m + spec
                        .resource("memory")
                        .as_deref()
                        .and_then(quantity_bytes)
                        .unwrap_or(0.0),
                )
            })
    })
}
