//! Port forwarding (§6.1–6.3) and the authenticated preview reverse proxy (§6.4).
//!
//! Sandboxes share the host's network (no network namespace), so a forwarded port is
//! `http://127.0.0.1:<port>`. Unlike the Router, the proxy strips `X-API-Key` and
//! `Authorization` before forwarding, so the sandbox app never sees the caller's credentials.

use std::collections::HashMap;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::auth::Identity;
use crate::errors::ApiError;
use crate::respond::go_json;
use crate::state::AppState;
use crate::validate::decode_body;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ForwardedPort<'a> {
    port: u16,
    protocol: &'a str,
    preview_url: String,
    internal_url: String,
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

fn port_json<'a>(base: &str, id: &str, port: u16, protocol: &'a str) -> ForwardedPort<'a> {
    ForwardedPort {
        port,
        protocol,
        preview_url: format!("{base}/api/v1/sandboxes/{id}/preview/{port}/"),
        internal_url: format!("http://127.0.0.1:{port}"),
    }
}

#[derive(Deserialize)]
struct ForwardRequest {
    port: Option<i64>,
    protocol: Option<String>,
}

/// Decodes and checks a port-forward body: the port and the protocol.
pub(crate) fn check_forward(body: &[u8]) -> Result<(u16, String), ApiError> {
    let req: ForwardRequest = decode_body(body)?;
    let port = req.port.unwrap_or(0);
    if port <= 0 {
        return Err(ApiError::bad_request("port must be > 0"));
    }
    if port > 65535 {
        return Err(ApiError::bad_request(format!("port must be 1-65535 (got {port})")));
    }
    let port = port as u16;
    let protocol = req.protocol.filter(|p| !p.is_empty()).unwrap_or_else(|| "http".into());
    Ok((port, protocol))
}

pub(super) async fn forward(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    st.sandboxes.view(&id, &who, |_| Ok(()))?;
    let (port, protocol) = check_forward(&body)?;
    st.sandboxes.update(&id, &who, |e, store| {
        store
            .save_port(&id, port, &protocol)
            .map_err(|err| ApiError::internal(format!("failed to create port forward: {err}")))?;
        e.ports.insert(port, protocol.clone());
        Ok(())
    })?;
    let base = base_url(&headers);
    Ok(go_json(StatusCode::CREATED, &port_json(&base, &id, port, &protocol)))
}

pub(super) async fn list(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let base = base_url(&headers);
    st.sandboxes.view(&id, &who, |e| {
        let ports: Vec<_> = e
            .ports
            .iter()
            .map(|(p, proto)| port_json(&base, &id, *p, proto))
            .collect();
        Ok(go_json(StatusCode::OK, &serde_json::json!({ "ports": ports })))
    })
}

pub(super) async fn remove(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path((id, port)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    st.sandboxes.view(&id, &who, |_| Ok(()))?;
    let Ok(port) = port.parse::<i64>() else {
        return Err(ApiError::bad_request(format!("invalid port: {port}")));
    };
    if let Ok(port) = u16::try_from(port) {
        st.sandboxes.update(&id, &who, |e, store| {
            if e.ports.remove(&port).is_some() {
                store
                    .delete_port(&id, port)
                    .map_err(|err| ApiError::internal(format!("failed to delete port forward: {err}")))?;
            }
            Ok(())
        })?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
];

fn strip_hop_by_hop(h: &mut HeaderMap) {
    let listed: Vec<HeaderName> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::try_from(n.trim()).ok())
        .collect();
    for n in listed {
        h.remove(n);
    }
    for n in HOP_BY_HOP {
        h.remove(n);
    }
    h.remove(header::TRANSFER_ENCODING);
}

pub(super) async fn preview(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(params): Path<HashMap<String, String>>,
    req: Request,
) -> Result<Response, ApiError> {
    let id = params.get("id").cloned().unwrap_or_default();
    let port = params
        .get("port")
        .and_then(|p| p.parse::<u16>().ok())
        .filter(|p| *p > 0)
        .ok_or_else(|| ApiError::bad_request("invalid port"))?;
    st.sandboxes.view_running(&id, &who, |e| {
        if !e.ports.contains_key(&port) {
            return Err(ApiError::not_found(format!("port {port} is not forwarded")));
        }
        Ok(())
    })?;
    let rest = params.get("rest").map(String::as_str).unwrap_or("");
    let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    let target: Uri = format!("http://127.0.0.1:{port}/{rest}{query}")
        .parse()
        .map_err(|_| ApiError::bad_request("invalid preview path"))?;
    let (mut parts, body) = req.into_parts();
    let original_host = parts.headers.get(header::HOST).cloned();
    strip_hop_by_hop(&mut parts.headers);
    parts.headers.remove("x-api-key");
    parts.headers.remove(header::AUTHORIZATION);
    parts.headers.remove(header::HOST);
    if let Some(h) = original_host {
        parts.headers.insert("x-forwarded-host", h);
    }
    parts
        .headers
        .insert("x-forwarded-proto", header::HeaderValue::from_static("http"));
    parts.uri = target;
    parts.version = axum::http::Version::HTTP_11;
    let upstream = axum::http::Request::from_parts(parts, body);
    match st.proxy_client.request(upstream).await {
        Ok(resp) => {
            let (mut parts, body) = resp.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Ok(Response::from_parts(parts, Body::new(body)))
        }
        Err(e) => {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(": ");
                msg.push_str(&s.to_string());
                src = s.source();
            }
            Err(ApiError::Text(
                StatusCode::BAD_GATEWAY,
                format!("port forward upstream unreachable: {msg}"),
            ))
        }
    }
}
