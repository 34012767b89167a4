//! The HTTP surface: route table (wire spec §14, the parts implemented so far), request ids and
//! the gorilla/mux quirks of §0.1 (unknown `/api/v1` path → `404 page not found` text, unknown
//! path elsewhere → `405`).

mod meta;
pub(crate) mod ports;
pub(crate) mod sandboxes;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};

use crate::errors::go_http_error;
use crate::state::AppState;

/// Builds the application.
pub(crate) fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/v1/user/me", get(meta::user_me))
        .route("/api/v1/templates", get(meta::list_templates))
        .route("/api/v1/templates/{name}", get(meta::get_template))
        .route("/api/v1/sandboxes", get(sandboxes::list).post(sandboxes::create))
        .route(
            "/api/v1/sandboxes/{id}",
            get(sandboxes::get_one).delete(sandboxes::delete),
        )
        .route("/api/v1/sandboxes/{id}/stop", post(sandboxes::stop))
        .route("/api/v1/sandboxes/{id}/resume", post(sandboxes::resume))
        .route("/api/v1/sandboxes/{id}/exec", post(sandboxes::exec))
        .route("/api/v1/sandboxes/{id}/configure", post(crate::agent::configure))
        .route(
            "/api/v1/sandboxes/{id}/configure/install-log",
            get(crate::agent::install_log),
        )
        .route("/api/v1/sandboxes/{id}/invoke", post(crate::agent::invoke))
        .route("/api/v1/sandboxes/{id}/invoke/cancel", post(crate::agent::cancel))
        .route("/api/v1/sandboxes/{id}/ports", get(ports::list).post(ports::forward))
        .route(
            "/api/v1/sandboxes/{id}/ports/{port}",
            axum::routing::delete(ports::remove),
        )
        .route("/api/v1/sandboxes/{id}/preview/{port}", any(ports::preview))
        .route("/api/v1/sandboxes/{id}/preview/{port}/", any(ports::preview))
        .route("/api/v1/sandboxes/{id}/preview/{port}/{*rest}", any(ports::preview))
        .route("/api/v1/sandboxes/{id}/files/", get(crate::files::list))
        .route(
            "/api/v1/sandboxes/{id}/files/{*path}",
            get(crate::files::download).put(crate::files::upload),
        )
        .route("/api/v1/sandboxes/{id}/archive", get(crate::files::archive))
        .route_layer(middleware::from_fn_with_state(
            state.auth.clone(),
            crate::auth::require_auth,
        ));
    Router::new()
        .route("/healthz", get(meta::healthz))
        .route("/readyz", get(meta::readyz))
        .merge(api)
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

async fn fallback(uri: Uri) -> Response {
    if uri.path().starts_with("/api/v1/") || uri.path() == "/api/v1" {
        go_http_error(StatusCode::NOT_FOUND, "404 page not found")
    } else {
        StatusCode::METHOD_NOT_ALLOWED.into_response()
    }
}

async fn method_not_allowed() -> Response {
    StatusCode::METHOD_NOT_ALLOWED.into_response()
}

/// Echoes `X-Request-ID`, or sets 16 random lowercase hex characters.
async fn request_id(req: Request, next: Next) -> Response {
    let id = req.headers().get("x-request-id").filter(|v| !v.is_empty()).cloned();
    let mut resp = next.run(req).await;
    let id = id.unwrap_or_else(|| {
        HeaderValue::from_str(&format!("{:016x}", rand::random::<u64>()))
            .unwrap_or(HeaderValue::from_static("0000000000000000"))
    });
    resp.headers_mut().insert("x-request-id", id);
    resp
}
