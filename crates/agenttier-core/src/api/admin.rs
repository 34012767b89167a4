//! Audit, analytics and admin views (wire spec §10.2–§10.4), all admin-only on the Router.

use crate::models::SandboxFilter;
use crate::request::Request;

/// `GET /audit/events`.
pub fn audit_events() -> Request {
    Request::get("/audit/events")
}

/// `GET /analytics/usage`.
pub fn usage() -> Request {
    Request::get("/analytics/usage")
}

/// `GET /analytics/costs`.
pub fn costs() -> Request {
    Request::get("/analytics/costs")
}

/// `GET /admin/sandboxes?namespace=`: every owner's sandboxes (only the filter's namespace
/// applies; the Router takes no phase here).
pub fn sandboxes(filter: &SandboxFilter) -> Request {
    let query = filter.query().into_iter().filter(|(k, _)| *k == "namespace");
    Request::get("/admin/sandboxes").queries(query)
}

/// `GET /admin/sharing`.
pub fn sharing() -> Request {
    Request::get("/admin/sharing")
}
