//! The unauthenticated endpoints outside `/api/v1` (wire spec §11.4); their paths are complete,
//! so the descriptors carry an empty [`prefix`](crate::request::Request::prefix).

use crate::request::{Accept, Request};

/// `GET /healthz`: whether the Router is up.
pub fn healthz() -> Request {
    Request::get("/healthz").prefix("")
}

/// `GET /readyz`: whether the Router is ready to serve.
pub fn readyz() -> Request {
    Request::get("/readyz").prefix("")
}

/// `GET /metrics`: Prometheus exposition text.
pub fn metrics() -> Request {
    Request::get("/metrics").prefix("").accept(Accept::Bytes)
}
