//! Sharing (§6.5): user and group grants, share links, and the shared read access of §1.5.
//!
//! Grants are the record's [`crate::sandbox::access::SharingInfo`]. A user grant matches the
//! caller's `sub` or email, a group grant any of the caller's groups; either lets the caller
//! `GET /sandboxes/{id}` (nothing else, and listing never shows shared sandboxes), as on the
//! platform. Share links are minted with a level, an expiry and a use limit; the token is shown
//! once and only its SHA-256 kept. The platform has no route that redeems a link, so neither has
//! the local router: `usedCount` stays 0. Failures to find or own the sandbox answer 403 here.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::auth::Identity;
use crate::errors::ApiError;
use crate::gotime::now_unix;
use crate::respond::go_json;
use crate::sandbox::access::{Grant, Link};
use crate::state::AppState;
use crate::validate::decode_body;
use crate::validate::optional_body;

/// Sharing routes answer 403 where the others answer 404.
fn forbidden(e: ApiError) -> ApiError {
    match e {
        ApiError::Json(StatusCode::NOT_FOUND, m) => ApiError::forbidden(m),
        other => other,
    }
}

fn check_level(level: &str) -> Result<(), ApiError> {
    if matches!(level, "viewer" | "collaborator") {
        Ok(())
    } else {
        Err(ApiError::bad_request(r#"level must be "viewer" or "collaborator""#))
    }
}

pub(super) async fn get(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let info = st
        .sandboxes
        .view(&id, &who, |e| Ok(e.rec.sharing.clone()))
        .map_err(forbidden)?;
    Ok(go_json(StatusCode::OK, &info))
}

#[derive(Deserialize)]
struct GrantRequest {
    identity: Option<String>,
    level: Option<String>,
    kind: Option<String>,
}

pub(super) async fn grant(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    st.sandboxes.view(&id, &who, |_| Ok(())).map_err(forbidden)?;
    let req: GrantRequest = decode_body(&body)?;
    let identity = req.identity.unwrap_or_default();
    if identity.is_empty() {
        return Err(ApiError::bad_request("identity is required"));
    }
    let level = req.level.unwrap_or_default();
    check_level(&level)?;
    let group = req.kind.as_deref() == Some("group");
    let (info, rec) = st
        .sandboxes
        .update(&id, &who, |e, store| {
            let mut info = e.rec.sharing.clone();
            let list = if group { &mut info.groups } else { &mut info.users };
            match list.iter_mut().find(|g| g.identity == identity) {
                Some(g) => g.level = level.clone(),
                None => list.push(Grant {
                    identity: identity.clone(),
                    level: level.clone(),
                }),
            }
            e.rec.sharing = info.clone();
            store
                .save_sandbox(&e.rec)
                .map_err(|err| ApiError::internal(format!("failed to share sandbox: {err}")))?;
            Ok((info, e.rec.clone()))
        })
        .map_err(forbidden)?;
    let kind = if group { "group" } else { "user" };
    st.events.sandbox(
        &rec,
        "ShareGranted",
        &format!("{kind} {identity} granted {level}"),
        Some(&who),
    );
    Ok(go_json(StatusCode::OK, &info))
}

pub(super) async fn revoke(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path((id, identity)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (removed, rec) = st
        .sandboxes
        .update(&id, &who, |e, store| {
            let mut info = e.rec.sharing.clone();
            let before = info.users.len() + info.groups.len();
            info.users.retain(|g| g.identity != identity);
            info.groups.retain(|g| g.identity != identity);
            let removed = before != info.users.len() + info.groups.len();
            if removed {
                e.rec.sharing = info.clone();
                store
                    .save_sandbox(&e.rec)
                    .map_err(|err| ApiError::internal(format!("failed to revoke share: {err}")))?;
            }
            Ok((removed, e.rec.clone()))
        })
        .map_err(forbidden)?;
    if removed {
        st.events
            .sandbox(&rec, "ShareRevoked", &format!("{identity} revoked"), Some(&who));
    }
    Ok(go_json(
        StatusCode::OK,
        &serde_json::json!({"status": "revoked", "identity": identity}),
    ))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct LinkRequest {
    level: Option<String>,
    expires_in: Option<String>,
    max_uses: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LinkCreated {
    id: String,
    token: String,
    level: String,
    expires_at: Option<String>,
    max_uses: i64,
    warning: &'static str,
}

pub(super) async fn create_link(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    st.sandboxes.view(&id, &who, |_| Ok(())).map_err(forbidden)?;
    let req: LinkRequest = optional_body(&body)?;
    let level = req.level.filter(|l| !l.is_empty()).unwrap_or_else(|| "viewer".into());
    check_level(&level)?;
    let max_uses = req.max_uses.unwrap_or(0);
    if max_uses < 0 {
        return Err(ApiError::bad_request("maxUses must be >= 0"));
    }
    let expires_at = match req.expires_in.as_deref().filter(|e| !e.is_empty()) {
        None => None,
        Some(v) => match agenttier_core::duration::parse(v) {
            Ok(d) if !d.is_zero() => Some(rfc3339_seconds(now_unix() + d.as_secs().max(1) as i64)),
            _ => {
                return Err(ApiError::bad_request(
                    r#"expiresIn must be a positive Go duration (e.g. "24h")"#,
                ));
            }
        },
    };
    let link_id = hex::encode(crate::random::bytes::<8>());
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::random::bytes::<32>());
    let link = Link {
        id: link_id.clone(),
        level: level.clone(),
        expires_at: expires_at.clone(),
        max_uses,
        used_count: 0,
        token_sha256: crate::auth::hash_key(&token),
    };
    let rec = st
        .sandboxes
        .update(&id, &who, |e, store| {
            let mut info = e.rec.sharing.clone();
            info.share_links.push(link);
            e.rec.sharing = info.clone();
            store
                .save_sandbox(&e.rec)
                .map_err(|err| ApiError::internal(format!("failed to create share link: {err}")))?;
            Ok(e.rec.clone())
        })
        .map_err(forbidden)?;
    st.events.sandbox(
        &rec,
        "ShareLinkCreated",
        &format!("share link {link_id} ({level})"),
        Some(&who),
    );
    Ok(go_json(
        StatusCode::CREATED,
        &LinkCreated {
            id: link_id,
            token,
            level,
            expires_at,
            max_uses,
            warning: "Store this token now — it cannot be retrieved again.",
        },
    ))
}

/// RFC 3339 with whole seconds in UTC (Kubernetes `metav1.Time`).
fn rfc3339_seconds(unix: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&f).unwrap_or_default()
}
