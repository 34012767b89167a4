//! The HTTP surface: route table (wire spec §14, the parts implemented so far), request ids and
//! the gorilla/mux quirks of §0.1 (unknown `/api/v1` path → `404 page not found` text, unknown
//! path elsewhere → `405`).

mod account;
mod admin;
mod backups;
mod bulk;
mod cluster;
mod hooks;
mod meta;
mod mux;
mod patch;
pub(crate) mod ports;
pub(crate) mod sandboxes;
pub(crate) mod sharing;
mod template_edit;

pub(crate) use mux::CorsOrigins;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::handler::Handler;
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post, put};

use crate::errors::{ApiError, go_http_error};
use crate::state::AppState;

/// Builds the application.
pub(crate) fn router(state: AppState, cors_origins: CorsOrigins, guard: std::sync::Arc<crate::guard::Guard>) -> Router {
    let api = Router::new()
        .route("/api/v1/user/me", get(meta::user_me))
        .route(
            "/api/v1/templates",
            get(meta::list_templates).post(template_edit::create),
        )
        .route(
            "/api/v1/templates/{name}",
            get(meta::get_template)
                .put(template_edit::update)
                .delete(template_edit::delete),
        )
        .route("/api/v1/sandboxes", get(sandboxes::list).post(sandboxes::create))
        .route(
            "/api/v1/sandboxes/{id}",
            get(sandboxes::get_one)
                .delete(sandboxes::delete)
                .patch(patch::patch)
                .post(bulk),
        )
        .route("/api/v1/sandboxes/{id}/clone", post(backups::clone))
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
        .merge(rest_of_api())
        .route_layer(middleware::from_fn(account::require_scope))
        .route_layer(middleware::from_fn(settle_small_body))
        .route_layer(middleware::from_fn_with_state(state.auth.clone(), require_auth));
    Router::new()
        .route("/healthz", get(meta::healthz))
        .route("/readyz", get(meta::readyz))
        .route("/metrics", get(meta::metrics))
        .route("/ws/terminal/{id}", get(crate::terminal::connect))
        .merge(api)
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(cors_origins, mux::cors))
        .layer(middleware::from_fn_with_state(guard, crate::guard::guard))
        .layer(middleware::from_fn(request_id))
        .layer(middleware::from_fn(mux::clean_path))
        .with_state(state)
}

/// Bodies up to this size are read before the handler runs.
const SETTLE_LIMIT: usize = 256 * 1024;

/// How long the body of a refused (unauthenticated) request may take to arrive before the
/// connection is given up.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads and discards at most [`SETTLE_LIMIT`] bytes of a request body that is refused before it
/// was read (a failed authentication), within [`DRAIN_TIMEOUT`], so that the keep-alive
/// connection stays usable without holding the body in memory. A longer or slower body is left:
/// Middleware: authenticates and stores the [`Identity`] in the request extensions.
async fn require_auth(
    State(auth): State<std::sync::Arc<crate::auth::Auth>>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    match auth.authenticate(req.headers(), peer) {
        Ok(id) => {
            req.extensions_mut().insert(id);
            next.run(req).await
        }
        Err(e) => {
            drain_refused_body(req.into_body()).await;
            axum::response::IntoResponse::into_response(e)
        }
    }
}

/// hyper then closes the connection after the answer.
pub(crate) async fn drain_refused_body(body: axum::body::Body) {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut size = 0;
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while size <= SETTLE_LIMIT {
            match stream.next().await {
                Some(Ok(chunk)) => size += chunk.len(),
                _ => return,
            }
        }
    })
    .await;
}

/// Reads a small request body once the caller is authenticated (never before: an anonymous
/// client must not make the router hold 256 KiB per connection), so that an answer given without reading it (a
/// failed authentication, an unknown sandbox, a wrong phase) never leaves unread bytes on a
/// keep-alive connection, which hyper would then close under a client about to reuse it.
///
/// A body declared small by `Content-Length` is read whole. A chunked body (ureq sends a
/// body-less `POST` as an empty one) is read until it ends or passes the limit; a longer one
/// goes on to its handler as what was read followed by the rest. Bodies declared larger (uploads,
/// invokes) stream to handlers that drain what they refuse.
async fn settle_small_body(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let chunked = req.headers().contains_key(axum::http::header::TRANSFER_ENCODING);
    let (parts, body) = req.into_parts();
    let body = match declared {
        Some(n) if n > 0 && n <= SETTLE_LIMIT => axum::body::to_bytes(body, SETTLE_LIMIT)
            .await
            .map(axum::body::Body::from)
            .map_err(|_| "the body ended before its Content-Length"),
        None if chunked => settle_chunked(body).await,
        _ => Ok(body),
    };
    match body {
        Ok(body) => next.run(Request::from_parts(parts, body)).await,
        Err(why) => ApiError::bad_request(format!("invalid request body: {why}")).into_response(),
    }
}

/// Reads a chunked body until it ends or [`SETTLE_LIMIT`] is passed, and gives back an
/// equivalent body.
async fn settle_chunked(body: axum::body::Body) -> Result<axum::body::Body, &'static str> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut read: Vec<bytes::Bytes> = Vec::new();
    let mut size = 0;
    while size <= SETTLE_LIMIT {
        match stream.next().await {
            Some(Ok(chunk)) => {
                size += chunk.len();
                read.push(chunk);
            }
            Some(Err(_)) => return Err("the chunked body was cut short"),
            None => return Ok(axum::body::Body::from(read.concat())),
        }
    }
    let head = futures_util::stream::iter(read.into_iter().map(Ok::<_, axum::Error>));
    Ok(axum::body::Body::from_stream(head.chain(stream)))
}

/// Backups, sharing, webhooks, governance, audit, analytics, admin, user keys and preferences,
/// warm pool and cluster (§3.11, §6.5, §8.2–§8.3, §10, §11.1–§11.3).
fn rest_of_api() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/sandboxes/{id}/backups",
            get(backups::list).post(backups::create),
        )
        .route(
            "/api/v1/sandboxes/{id}/backups/{snapshot}/restore",
            post(backups::restore),
        )
        .route("/api/v1/sandboxes/{id}/backups/{snapshot}", delete(backups::delete))
        .route("/api/v1/sandboxes/{id}/share", get(sharing::get).post(sharing::grant))
        .route("/api/v1/sandboxes/{id}/share/{identity}", delete(sharing::revoke))
        .route("/api/v1/sandboxes/{id}/share-links", post(sharing::create_link))
        .route("/api/v1/webhooks", get(hooks::list).post(hooks::create))
        .route("/api/v1/webhooks/{id}", delete(hooks::delete))
        .route("/api/v1/webhooks/{id}/deliveries", get(hooks::deliveries))
        .route(
            "/api/v1/governance/policies",
            get(admin::get_policies).put(admin::put_cluster_policy),
        )
        .route(
            "/api/v1/governance/policies/{namespace}",
            get(admin::get_namespace_policy)
                .put(admin::put_namespace_policy)
                .delete(admin::delete_namespace_policy),
        )
        .route("/api/v1/governance/effective", get(admin::effective))
        .route("/api/v1/audit/events", get(admin::audit_events))
        .route("/api/v1/analytics/usage", get(admin::usage))
        .route("/api/v1/analytics/costs", get(admin::costs))
        .route("/api/v1/admin/sandboxes", get(admin::admin_sandboxes))
        .route("/api/v1/admin/sharing", get(admin::admin_sharing))
        .route(
            "/api/v1/user/preferences",
            get(account::get_preferences).put(account::put_preferences),
        )
        .route(
            "/api/v1/user/api-keys",
            get(account::list_keys).post(account::create_key),
        )
        .route("/api/v1/user/api-keys/{key_id}", delete(account::revoke_key))
        .route("/api/v1/warmpool/status", get(cluster::warmpool_status))
        .route("/api/v1/warmpool/config", put(cluster::warmpool_config))
        .route("/api/v1/cluster/status", get(cluster::cluster_status))
        .route("/api/v1/cluster/nodes", get(cluster::cluster_nodes))
        .route(
            "/api/v1/cluster/headroom",
            get(cluster::get_headroom).put(cluster::put_headroom),
        )
}

async fn fallback(uri: Uri) -> Response {
    if uri.path().starts_with("/api/v1/") || uri.path() == "/api/v1" {
        mux_reply(go_http_error(StatusCode::NOT_FOUND, "404 page not found"))
    } else {
        method_not_allowed().await
    }
}

/// `POST /sandboxes/bulk` and `/sandboxes/bulk-action`. They share the `{id}` route so that their
/// other methods reach `/sandboxes/{id}` (a sandbox may be named `bulk`), as with the Router's
/// route order.
async fn bulk(State(st): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    match id.as_str() {
        "bulk" => Handler::call(bulk::bulk_create, req, st).await,
        "bulk-action" => Handler::call(bulk::bulk_action, req, st).await,
        _ => method_not_allowed().await,
    }
}

async fn method_not_allowed() -> Response {
    mux_reply(StatusCode::METHOD_NOT_ALLOWED.into_response())
}

/// Marks a reply the Router's mux gives before any middleware runs (§0.1): it carries no
/// `X-Request-ID`.
#[derive(Clone, Copy)]
struct MuxReply;

fn mux_reply(mut resp: Response) -> Response {
    resp.extensions_mut().insert(MuxReply);
    resp
}

/// Echoes `X-Request-ID`, or sets 16 random lowercase hex characters (not on mux replies).
async fn request_id(req: Request, next: Next) -> Response {
    let id = req.headers().get("x-request-id").filter(|v| !v.is_empty()).cloned();
    let mut resp = next.run(req).await;
    if resp.extensions().get::<MuxReply>().is_some() {
        return resp;
    }
    let id = id.unwrap_or_else(|| {
        HeaderValue::from_str(&format!("{:016x}", crate::random::u64()))
            .unwrap_or(HeaderValue::from_static("0000000000000000"))
    });
    resp.headers_mut().insert("x-request-id", id);
    resp
}
