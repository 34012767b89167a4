//! Health, readiness, metrics (§11.4), the current user (§8.1) and templates (§7).

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::Identity;
use crate::errors::ApiError;
use crate::respond::go_json;
use crate::state::AppState;

pub(super) async fn healthz() -> &'static str {
    "ok"
}

pub(super) async fn readyz() -> &'static str {
    "ok"
}

/// Prometheus exposition, unauthenticated as on the Router.
pub(super) async fn metrics(State(st): State<AppState>) -> Response {
    let text = st.metrics.render(&st.sandboxes.phase_counts());
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Me<'a> {
    sub: &'a str,
    email: &'a str,
    name: &'a str,
    groups: &'a [String],
    is_admin: bool,
}

pub(super) async fn user_me(Extension(who): Extension<Identity>) -> Response {
    go_json(
        StatusCode::OK,
        &Me {
            sub: &who.sub,
            email: &who.email,
            name: &who.name,
            groups: &who.groups,
            is_admin: who.is_admin,
        },
    )
}

pub(super) async fn list_templates(State(st): State<AppState>) -> Response {
    st.templates.with_all(|all| {
        let list: Vec<_> = all.map(|t| t.to_json()).collect();
        go_json(StatusCode::OK, &serde_json::json!({ "templates": list }))
    })
}

pub(super) async fn get_template(State(st): State<AppState>, Path(name): Path<String>) -> Response {
    match st.templates.get(&name) {
        Some(t) => go_json(StatusCode::OK, &t.to_json()),
        None => ApiError::not_found("template not found").into_response(),
    }
}
