//! PATCH (§3.8): changes the idle timeout at once (the idle clock keeps running) and records
//! resources for the next start; labels and annotations are merged. These fields are the
//! record's [`Spec`], not shown in the sandbox JSON (as on the platform).

use std::collections::BTreeMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::sandboxes::parse_positive;
use crate::auth::Identity;
use crate::errors::{ApiError, Violation};
use crate::respond::go_json;
use crate::sandbox::spec::Spec;
use crate::state::AppState;
use crate::validate::decode_body;

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
