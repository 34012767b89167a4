//! The caller's preferences (§8.2) and API keys (§8.3).
//!
//! Keys minted here follow the platform: `atk_` + 43 base64url characters, shown once, stored
//! as SHA-256; `sub` and `email` are the caller's, `name` (what `/user/me` shows) is the key's
//! label; they are never admin keys. Local difference: they carry the caller's groups (the
//! platform's carry none), so group shares work with them. A key works the moment it is minted
//! and stops the moment it is revoked. Scoped keys (`sandboxId` + `scopes`) are confined to
//! their sandbox and action groups (§1.5).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::auth::{Identity, mint_row};
use crate::errors::ApiError;
use crate::gotime::{now_unix, rfc3339};
use crate::respond::go_json;
use crate::state::AppState;
use crate::store::KeyRow;
use crate::validate::decode_body;
use crate::validate::optional_body;

/// Every action group, in the platform's order (the default of a scoped key).
pub(crate) const ACTION_GROUPS: &[&str] = &[
    "run-command",
    "files:read",
    "files:write",
    "ports",
    "agent:invoke",
    "agent:configure",
    "resume",
    "stop",
];

fn prefs_key(sub: &str) -> String {
    format!("prefs:{sub}")
}

pub(super) async fn get_preferences(State(st): State<AppState>, Extension(who): Extension<Identity>) -> Response {
    let stored = st
        .store
        .setting(&prefs_key(&who.sub))
        .ok()
        .flatten()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    go_json(StatusCode::OK, &stored)
}

pub(super) async fn put_preferences(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let prefs: serde_json::Map<String, serde_json::Value> = decode_body(&body)?;
    let text = serde_json::Value::Object(prefs.clone()).to_string();
    st.store
        .put_setting(&prefs_key(&who.sub), &text)
        .map_err(|e| ApiError::internal(format!("failed to save preferences: {e}")))?;
    st.events.other("PreferencesUpdated", "preferences replaced", &who);
    Ok(go_json(StatusCode::OK, &prefs))
}

/// Key metadata as the list and the admin sandbox view show it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeyJson {
    id: String,
    user_id: String,
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    sandbox_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    action_groups: Vec<String>,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
}

pub(crate) fn key_json(k: &KeyRow) -> KeyJson {
    KeyJson {
        id: k.id.clone(),
        user_id: k.sub.clone(),
        name: k.name.clone(),
        sandbox_id: k.sandbox_id.clone().unwrap_or_default(),
        action_groups: k.scopes.clone(),
        created_at: rfc3339(k.created_at),
        expires_at: k.expires_at.map(rfc3339),
    }
}

/// Live keys: not revoked, not expired.
pub(crate) fn live_keys(st: &AppState) -> Vec<KeyRow> {
    let now = now_unix();
    st.store
        .list_keys()
        .unwrap_or_default()
        .into_iter()
        .filter(|k| k.revoked_at.is_none() && k.expires_at.is_none_or(|t| t > now))
        .collect()
}

pub(super) async fn list_keys(State(st): State<AppState>, Extension(who): Extension<Identity>) -> Response {
    let keys: Vec<KeyJson> = live_keys(&st)
        .iter()
        .filter(|k| k.sub == who.sub)
        .map(key_json)
        .collect();
    go_json(StatusCode::OK, &serde_json::json!({ "keys": keys }))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateKey {
    name: Option<String>,
    expires_in: Option<String>,
    sandbox_id: Option<String>,
    scopes: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyCreated {
    id: String,
    key: String,
    name: String,
    sandbox_id: String,
    action_groups: Option<Vec<String>>,
    created_at: String,
    expires_at: Option<String>,
    warning: &'static str,
}

pub(super) async fn create_key(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: CreateKey = optional_body(&body)?;
    let expires_at = match req.expires_in.as_deref() {
        None => None,
        Some(v) => match agenttier_core::duration::parse(v) {
            Ok(d) if !d.is_zero() => Some(now_unix() + d.as_secs().max(1) as i64),
            _ => {
                return Err(ApiError::bad_request(
                    r#"expiresIn must be a positive Go duration (e.g. "720h")"#,
                ));
            }
        },
    };
    let sandbox_id = req.sandbox_id.filter(|s| !s.is_empty());
    let scopes = match (&sandbox_id, req.scopes) {
        (None, Some(s)) if !s.is_empty() => {
            return Err(ApiError::bad_request(
                "scopes requires sandboxId — user-level keys carry the caller's full permissions",
            ));
        }
        (None, _) => Vec::new(),
        (Some(id), scopes) => {
            st.sandboxes.view(id, &who, |_| Ok(()))?;
            let scopes = scopes
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| ACTION_GROUPS.iter().map(|g| (*g).to_owned()).collect());
            for s in &scopes {
                if s == "delete" {
                    return Err(ApiError::bad_request(
                        "the \"delete\" action group cannot be granted to a scoped key; delete sandboxes with a user-level key",
                    ));
                }
                if !ACTION_GROUPS.contains(&s.as_str()) {
                    return Err(ApiError::bad_request(format!("unknown action group: {s}")));
                }
            }
            scopes
        }
    };
    let label = req
        .name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "api-key".into());
    let row = KeyRow {
        id: String::new(),
        name: label.clone(),
        sub: who.sub.clone(),
        email: who.email.clone(),
        display_name: label,
        admin: false,
        groups: who.groups.clone(),
        created_at: now_unix(),
        revoked_at: None,
        sandbox_id: sandbox_id.clone(),
        scopes: scopes.clone(),
        expires_at,
    };
    let (secret, row) =
        mint_row(st.auth.store(), row).map_err(|e| ApiError::internal(format!("failed to create api key: {e}")))?;
    st.events
        .other("ApiKeyCreated", &format!("api key {} created", row.id), &who);
    Ok(go_json(
        StatusCode::CREATED,
        &KeyCreated {
            id: row.id,
            key: secret,
            name: row.name,
            sandbox_id: sandbox_id.unwrap_or_default(),
            action_groups: (!scopes.is_empty()).then_some(scopes),
            created_at: rfc3339(row.created_at),
            expires_at: row.expires_at.map(rfc3339),
            warning: "Store this key now — it cannot be retrieved again.",
        },
    ))
}

pub(super) async fn revoke_key(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(key_id): Path<String>,
) -> Result<Response, ApiError> {
    let key = live_keys(&st)
        .into_iter()
        .find(|k| k.id == key_id)
        .ok_or_else(|| ApiError::not_found("api key not found"))?;
    if key.sub != who.sub && !who.is_admin {
        return Err(ApiError::forbidden("you do not own this API key"));
    }
    st.store
        .revoke_key(&key_id, now_unix())
        .map_err(|e| ApiError::internal(format!("failed to revoke api key: {e}")))?;
    st.auth.forget(&key_id);
    st.events
        .other("ApiKeyRevoked", &format!("api key {key_id} revoked"), &who);
    Ok(go_json(
        StatusCode::OK,
        &serde_json::json!({"status": "revoked", "id": key_id}),
    ))
}

/// Which action group a scoped key needs for `method` on `/api/v1/sandboxes/{id}<rest>` (§1.5);
/// `None` = denied.
fn scope_of(method: &str, rest: &str) -> Option<&'static str> {
    let first = rest.trim_start_matches('/').split('/').next().unwrap_or("");
    Some(match (method, first, rest) {
        ("POST", _, "/exec") => "run-command",
        ("GET", "files", _) | ("GET", _, "/archive") => "files:read",
        ("PUT", "files", r) if r.len() > "/files/".len() => "files:write",
        ("GET" | "POST", _, "/ports") => "ports",
        ("DELETE", "ports", r) if r.matches('/').count() == 2 => "ports",
        ("POST", _, "/configure") | ("GET", _, "/configure/install-log") => "agent:configure",
        ("POST", _, "/invoke" | "/invoke/cancel") => "agent:invoke",
        ("POST", _, "/resume") => "resume",
        ("POST", _, "/stop") => "stop",
        _ => return None,
    })
}

/// Middleware: confines sandbox-scoped keys to their sandbox and action groups.
pub(crate) async fn require_scope(
    Extension(who): Extension<Identity>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some((sandbox, groups)) = &who.scope else {
        return next.run(req).await;
    };
    let path = req.uri().path();
    if req.method() == axum::http::Method::POST
        && (path == "/api/v1/sandboxes/bulk" || path == "/api/v1/sandboxes/bulk-action")
    {
        return next.run(req).await; // the bulk handlers refuse with their own message
    }
    let Some(under) = path.strip_prefix("/api/v1/sandboxes/") else {
        return ApiError::forbidden("scoped key not permitted for this route").into_response();
    };
    let (id, rest) = under.split_at(under.find('/').unwrap_or(under.len()));
    let Some(group) = scope_of(req.method().as_str(), rest) else {
        return ApiError::forbidden("scoped key not permitted for this route").into_response();
    };
    let id = percent_encoding::percent_decode_str(id).decode_utf8_lossy();
    if id != sandbox.as_str() {
        return ApiError::forbidden("scoped key is not bound to this sandbox").into_response();
    }
    if !groups.iter().any(|g| g == group) {
        return ApiError::forbidden(format!("scoped key lacks the \"{group}\" action group")).into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::scope_of;

    #[test]
    fn scope_table() {
        assert_eq!(scope_of("POST", "/exec"), Some("run-command"));
        assert_eq!(scope_of("PUT", "/files/workspace/a.txt"), Some("files:write"));
        assert_eq!(scope_of("GET", "/files/"), Some("files:read"));
        assert_eq!(scope_of("PUT", "/files/"), None);
        assert_eq!(scope_of("DELETE", "/ports/3000"), Some("ports"));
        assert_eq!(scope_of("POST", "/invoke/cancel"), Some("agent:invoke"));
        assert_eq!(scope_of("GET", ""), None);
        assert_eq!(scope_of("DELETE", ""), None);
        assert_eq!(scope_of("POST", "/clone"), None);
        assert_eq!(scope_of("GET", "/backups"), None);
    }
}
