//! Webhook subscription routes (§11.1); delivery is in `crate::webhooks`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::auth::Identity;
use crate::errors::ApiError;
use crate::gotime::{now_unix, rfc3339};
use crate::respond::go_json;
use crate::state::AppState;
use crate::validate::decode_body;
use crate::webhooks::{EVENT_TYPES, Subscription, check_url};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRequest {
    url: Option<String>,
    event_types: Option<Vec<String>>,
    sandbox_id: Option<String>,
    namespace: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookJson<'a> {
    id: &'a str,
    url: &'a str,
    event_types: &'a [String],
    created_at: String,
    disabled: bool,
    #[serde(skip_serializing_if = "str::is_empty")]
    sandbox_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    namespace: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    warning: Option<&'static str>,
}

fn json_of(s: &Subscription) -> WebhookJson<'_> {
    WebhookJson {
        id: &s.id,
        url: &s.url,
        event_types: &s.event_types,
        created_at: rfc3339(s.created_at),
        disabled: s.disabled,
        sandbox_id: &s.sandbox_id,
        namespace: &s.namespace,
        secret: None,
        warning: None,
    }
}

pub(super) async fn create(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: CreateRequest = decode_body(&body)?;
    let url = req.url.unwrap_or_default();
    check_url(&url)
        .await
        .map_err(|e| ApiError::bad_request(format!("invalid url: {e}")))?;
    let event_types = req.event_types.unwrap_or_default();
    if event_types.is_empty() {
        return Err(ApiError::bad_request("eventTypes must contain at least one event type"));
    }
    if let Some(bad) = event_types.iter().find(|t| !EVENT_TYPES.contains(&t.as_str())) {
        return Err(ApiError::bad_request(format!("unknown event type {bad:?}")));
    }
    let sandbox_id = req.sandbox_id.unwrap_or_default();
    if sandbox_id.is_empty() && !who.is_admin {
        return Err(ApiError::forbidden("sandboxId is required for non-admin subscriptions"));
    }
    if !sandbox_id.is_empty() {
        st.sandboxes
            .view(&sandbox_id, &who, |_| Ok(()))
            .map_err(|_| ApiError::not_found("sandbox not found"))?;
    }
    let sub = Subscription {
        id: hex::encode(crate::random::bytes::<16>()),
        url,
        event_types,
        created_at: now_unix(),
        disabled: false,
        sandbox_id,
        namespace: req.namespace.unwrap_or_default(),
        secret: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::random::bytes::<32>()),
        owner_sub: who.sub.clone(),
        failures: 0,
    };
    st.webhooks.insert(sub.clone())?;
    st.events
        .other("WebhookCreated", &format!("webhook {} for {}", sub.id, sub.url), &who);
    let mut body = json_of(&sub);
    body.secret = Some(&sub.secret);
    body.warning =
        Some("Store this secret now — it cannot be retrieved again. Use it to verify X-AgentTier-Signature.");
    Ok(go_json(StatusCode::CREATED, &body))
}

pub(super) async fn list(State(st): State<AppState>, Extension(who): Extension<Identity>) -> Response {
    let subs = st.webhooks.owned_by(&who.sub);
    let list: Vec<_> = subs.iter().map(json_of).collect();
    go_json(StatusCode::OK, &serde_json::json!({ "webhooks": list }))
}

fn owned(st: &AppState, who: &Identity, id: &str) -> Result<Subscription, ApiError> {
    let sub = st
        .webhooks
        .get(id)
        .ok_or_else(|| ApiError::not_found("webhook subscription not found"))?;
    if sub.owner_sub != who.sub && !who.is_admin {
        return Err(ApiError::forbidden("you do not own this webhook subscription"));
    }
    Ok(sub)
}

pub(super) async fn delete(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    owned(&st, &who, &id)?;
    st.webhooks.remove(&id)?;
    st.events
        .other("WebhookDeleted", &format!("webhook {id} deleted"), &who);
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn deliveries(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    owned(&st, &who, &id)?;
    let list = st.webhooks.deliveries(&id);
    Ok(go_json(StatusCode::OK, &serde_json::json!({ "deliveries": list })))
}
