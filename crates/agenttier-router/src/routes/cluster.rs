//! Warm pool (§11.2) and cluster (§11.3) routes, with truthful local figures.
//!
//! The local router is one node (this machine) and keeps no warm pool and no headroom
//! deployment: the configurations are stored and echoed, but `readyCount`, `pendingCount` and
//! `headroomReady` are 0 (and `readyReplicas` absent) because nothing is pre-started, and
//! headroom reports `enabled: false`. Node figures come from this machine (CPUs, memory) and the
//! resources recorded on running sandboxes by PATCH.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::admin::{requested, require_admin};
use crate::auth::Identity;
use crate::errors::ApiError;
use crate::governance::{cpu_millis, quantity_bytes};
use crate::respond::go_json;
use crate::sandbox::record::Phase;
use crate::state::AppState;
use crate::validate::decode_body;

const WARMPOOL_KEY: &str = "warmpool";
const HEADROOM_KEY: &str = "headroom";

#[derive(Serialize, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct PoolConfig {
    template: String,
    desired_count: i64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PoolRequest {
    pools: Option<Vec<PoolItem>>,
    template: Option<String>,
    desired_count: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PoolItem {
    template: Option<String>,
    desired_count: Option<i64>,
}

fn pools(st: &AppState) -> Vec<PoolConfig> {
    st.store
        .setting(WARMPOOL_KEY)
        .ok()
        .flatten()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

fn pool_status(p: &PoolConfig) -> serde_json::Value {
    serde_json::json!({"template": p.template, "desiredCount": p.desired_count, "readyCount": 0, "pendingCount": 0})
}

pub(super) async fn warmpool_status(State(st): State<AppState>) -> Response {
    let pools = pools(&st);
    let mut body = serde_json::Map::new();
    if !pools.is_empty() {
        body.insert("pools".into(), pools.iter().map(pool_status).collect());
    }
    if let [only] = pools.as_slice() {
        body.insert("template".into(), only.template.clone().into());
        if only.desired_count != 0 {
            body.insert("desiredCount".into(), only.desired_count.into());
        }
    }
    go_json(StatusCode::OK, &body)
}

pub(super) async fn warmpool_config(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_admin(&who)?;
    let req: PoolRequest = decode_body(&body).map_err(|_| ApiError::bad_request("invalid request body"))?;
    let items = match (req.pools, req.template) {
        (Some(p), _) => p,
        (None, Some(t)) => vec![PoolItem {
            template: Some(t),
            desired_count: req.desired_count,
        }],
        (None, None) => Vec::new(),
    };
    let mut config = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let template = item.template.unwrap_or_default();
        if template.is_empty() {
            return Err(ApiError::bad_request(format!("pools[{i}].template is required")));
        }
        let desired_count = item.desired_count.unwrap_or(0);
        if !(0..=10).contains(&desired_count) {
            return Err(ApiError::bad_request(format!("pools[{i}].desiredCount must be 0-10")));
        }
        config.push(PoolConfig {
            template,
            desired_count,
        });
    }
    st.store
        .put_setting(WARMPOOL_KEY, &serde_json::to_string(&config).unwrap_or_default())
        .map_err(|e| ApiError::internal(format!("failed to save warm pool config: {e}")))?;
    st.events
        .other("WarmPoolUpdated", &format!("{} pool(s) configured", config.len()), &who);
    Ok(go_json(
        StatusCode::OK,
        &serde_json::json!({"status": "updated", "pools": config}),
    ))
}

fn running(st: &AppState) -> usize {
    st.sandboxes.list(&Identity::dev(), |all| {
        all.filter(|e| e.rec.phase == Phase::Running).count()
    })
}

pub(super) async fn cluster_status(State(st): State<AppState>) -> Response {
    let running = running(&st);
    go_json(
        StatusCode::OK,
        &serde_json::json!({"nodes": 1, "nodesReady": 1, "pods": running, "sandboxPods": running,
            "headroomReady": 0, "autoscalerEnabled": false}),
    )
}

/// Total memory of this machine in bytes (Linux `/proc/meminfo`), 0 if unknown.
fn memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn pct(used: f64, total: f64) -> f64 {
    if total > 0.0 {
        (used / total * 1000.0).round() / 10.0
    } else {
        0.0
    }
}

pub(super) async fn cluster_nodes(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
) -> Result<Response, ApiError> {
    require_admin(&who)?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let cpu_millis_total = cpus * 1000;
    let mem = memory_bytes();
    let (cpu_req, mem_req) = requested(&st, &who);
    let node = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".into());
    let allocatable = serde_json::json!({"cpuMillis": cpu_millis_total, "memBytes": mem});
    let requests = serde_json::json!({"cpuMillis": cpu_req as u64, "memBytes": mem_req as u64});
    Ok(go_json(
        StatusCode::OK,
        &serde_json::json!({
            "nodes": [{"name": node, "ready": true, "nodeGroup": "local",
                "allocatable": allocatable, "requests": requests}],
            "summary": {"ready": 1, "total": 1,
                "cpuSaturationPct": pct(cpu_req, cpu_millis_total as f64),
                "memSaturationPct": pct(mem_req, mem as f64),
                "allocatable": allocatable, "requests": requests},
        }),
    ))
}

#[derive(Serialize, Deserialize, Default, Clone)]
struct Headroom {
    replicas: i64,
    cpu: String,
    memory: String,
}

fn headroom(st: &AppState) -> Headroom {
    st.store
        .setting(HEADROOM_KEY)
        .ok()
        .flatten()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

/// The Router's shape without a headroom Deployment: `readyReplicas` (`omitempty`) is left out.
fn headroom_json(h: &Headroom) -> serde_json::Value {
    serde_json::json!({"replicas": h.replicas, "cpu": h.cpu, "memory": h.memory, "enabled": false})
}

pub(super) async fn get_headroom(State(st): State<AppState>) -> Response {
    go_json(StatusCode::OK, &headroom_json(&headroom(&st)))
}

#[derive(Deserialize)]
struct HeadroomRequest {
    replicas: Option<i64>,
    cpu: Option<String>,
    memory: Option<String>,
}

pub(super) async fn put_headroom(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_admin(&who)?;
    let req: HeadroomRequest = decode_body(&body)?;
    let replicas = req.replicas.unwrap_or(0);
    if !(0..=50).contains(&replicas) {
        return Err(ApiError::bad_request("replicas must be in [0, 50]"));
    }
    let mut h = headroom(&st);
    h.replicas = replicas;
    if let Some(cpu) = req.cpu.filter(|c| !c.is_empty()) {
        if cpu_millis(&cpu).is_none() {
            return Err(ApiError::bad_request(format!("invalid cpu quantity {cpu:?}")));
        }
        h.cpu = cpu;
    }
    if let Some(memory) = req.memory.filter(|m| !m.is_empty()) {
        if quantity_bytes(&memory).is_none() {
            return Err(ApiError::bad_request(format!("invalid memory quantity {memory:?}")));
        }
        h.memory = memory;
    }
    st.store
        .put_setting(HEADROOM_KEY, &serde_json::to_string(&h).unwrap_or_default())
        .map_err(|e| ApiError::internal(format!("failed to save headroom: {e}")))?;
    st.events
        .other("HeadroomUpdated", &format!("headroom replicas {replicas}"), &who);
    Ok(go_json(StatusCode::OK, &headroom_json(&h)))
}
