//! What the Router does before any route is matched (wire spec §0.1): gorilla/mux's path cleaning
//! (a non-canonical path answers `301` with the cleaned `Location`) and the CORS middleware
//! (`OPTIONS` on any path; CORS headers for the allowed origins).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Redirects a non-canonical path (double slashes, `.` or `..` segments, also percent-encoded) to
/// its cleaned form, query kept, before authentication or anything else, as mux does.
pub(super) async fn clean_path(req: Request, next: Next) -> Response {
    let decoded = percent_decode_str(req.uri().path()).decode_utf8_lossy();
    let cleaned = canonical(&decoded);
    if cleaned == decoded {
        return next.run(req).await;
    }
    let mut location = utf8_percent_encode(&cleaned, PATH_KEEP).to_string();
    if let Some(query) = req.uri().query() {
        location.push('?');
        location.push_str(query);
    }
    match HeaderValue::from_str(&location) {
        Ok(value) => (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, value)]).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// What Go's URL escaping leaves as it is in a path.
const PATH_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b',')
    .remove(b'/')
    .remove(b':')
    .remove(b';')
    .remove(b'=')
    .remove(b'@');

/// mux's `cleanPath`: Go's `path.Clean` of the rooted path, with a trailing slash kept.
fn canonical(path: &str) -> String {
    let mut out = format!("/{}", crate::files::paths::lexical(path).join("/"));
    if path.ends_with('/') && out != "/" {
        out.push('/');
    }
    out
}

/// The origins allowed to call the API from a browser (`--cors-allowed-origins`).
pub(crate) type CorsOrigins = Arc<[String]>;

/// The Router's CORS middleware: `OPTIONS` on any path is `204` without an `Origin` or with an
/// allowed one, `403` with another; other requests from an allowed origin get the CORS headers.
/// Unlike the Router, `PATCH` is among the allowed methods (the API has `PATCH` routes).
pub(super) async fn cors(State(allowed): State<CorsOrigins>, req: Request, next: Next) -> Response {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let allowed_origin = origin
        .as_ref()
        .filter(|o| o.to_str().is_ok_and(|o| allowed.iter().any(|a| a == o)));
    let mut resp = if req.method() == Method::OPTIONS {
        if origin.is_some() && allowed_origin.is_none() {
            return StatusCode::FORBIDDEN.into_response();
        }
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    if let Some(origin) = allowed_origin {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.append(header::VARY, HeaderValue::from_static("Origin"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type, X-API-Key, X-Request-ID"),
        );
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("X-Request-ID"),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn cleans_like_mux() {
        for (path, want) in [
            ("/", "/"),
            ("", "/"),
            ("/api/v1/sandboxes", "/api/v1/sandboxes"),
            ("/api/v1//sandboxes", "/api/v1/sandboxes"),
            ("/api/v1/sandboxes/x/files/", "/api/v1/sandboxes/x/files/"),
            (
                "/api/v1/sandboxes/x/files//workspace/a",
                "/api/v1/sandboxes/x/files/workspace/a",
            ),
            ("/a/./b/../c/", "/a/c/"),
            ("/..", "/"),
            ("/../../etc", "/etc"),
            ("//", "/"),
        ] {
            assert_eq!(canonical(path), want, "{path:?}");
        }
    }
}
