//! Agent mode (wire spec §9): configure, invoke (both answered with Server-Sent Events),
//! cancel an invocation, read the install log.

use super::{non_empty, sandbox_path};
use crate::Result;
use crate::models::{Configure, Invoke};
use crate::request::{Accept, Request};

/// `POST /sandboxes/{id}/configure`, answered with an event stream.
pub fn configure(id: &str, configure: &Configure) -> Result<Request> {
    configure.validate()?;
    Ok(Request::post(sandbox_path(id, "/configure")?)
        .json(configure)?
        .accept(Accept::EventStream))
}

/// `POST /sandboxes/{id}/invoke?timeout=&prompt=` with the payload as the raw body, answered
/// with an event stream.
pub fn invoke(id: &str, invoke: Invoke) -> Result<Request> {
    invoke.validate()?;
    Ok(Request::post(sandbox_path(id, "/invoke")?)
        .queries(invoke.query())
        .bytes(invoke.body, invoke.content_type)
        .accept(Accept::EventStream))
}

/// `POST /sandboxes/{id}/invoke/cancel` with `{"invokeId": ...}`.
pub fn invoke_cancel(id: &str, invoke_id: &str) -> Result<Request> {
    non_empty(invoke_id, "invoke id")?;
    Request::post(sandbox_path(id, "/invoke/cancel")?).json(&serde_json::json!({ "invokeId": invoke_id }))
}

/// `GET /sandboxes/{id}/configure/install-log`.
pub fn install_log(id: &str) -> Result<Request> {
    Ok(Request::get(sandbox_path(id, "/configure/install-log")?))
}
