//! Sandboxes (wire spec §3.3–§3.9, §4, §6.1–§6.4): create, list, read, change, stop, resume,
//! delete and clone them, run a command, forward ports and reach them through the preview proxy.

use http::Method;

use super::{non_empty, sandbox_path};
use crate::models::{CloneSandbox, CreateSandbox, Exec, ForwardPortRequest, SandboxFilter, UpdateSandbox};
use crate::request::{API_PREFIX, Request, check_raw_path};
use crate::{Error, Result};

/// `POST /sandboxes`: creates a sandbox (the parameters are checked first).
pub fn create(params: &CreateSandbox) -> Result<Request> {
    params.validate()?;
    Request::post("/sandboxes").json(params)
}

/// `GET /sandboxes?namespace=&status=`: the sandboxes the caller may see.
pub fn list(filter: &SandboxFilter) -> Request {
    Request::get("/sandboxes").queries(filter.query())
}

/// `GET /sandboxes/{id}`: one sandbox.
pub fn get(id: &str) -> Result<Request> {
    non_empty(id, "sandbox id")?;
    Ok(Request::get(sandbox_path(id, "")?))
}

/// `PATCH /sandboxes/{id}`: changes the mutable fields (at least one).
pub fn update(id: &str, update: &UpdateSandbox) -> Result<Request> {
    update.validate()?;
    Request::new(Method::PATCH, sandbox_path(id, "")?).json(update)
}

/// `DELETE /sandboxes/{id}`.
pub fn delete(id: &str) -> Result<Request> {
    Ok(Request::delete(sandbox_path(id, "")?))
}

/// `POST /sandboxes/{id}/stop`.
pub fn stop(id: &str) -> Result<Request> {
    Ok(Request::post(sandbox_path(id, "/stop")?))
}

/// `POST /sandboxes/{id}/resume`.
pub fn resume(id: &str) -> Result<Request> {
    Ok(Request::post(sandbox_path(id, "/resume")?))
}

/// `POST /sandboxes/{id}/clone`: snapshots the workspace into a new sandbox.
pub fn clone_sandbox(id: &str, params: &CloneSandbox) -> Result<Request> {
    params.validate()?;
    Request::post(sandbox_path(id, "/clone")?).json(params)
}

/// `POST /sandboxes/{id}/exec`: one shell command, with the command's timeout plus a margin as
/// the call's timeout.
pub fn exec(id: &str, exec: &Exec) -> Result<Request> {
    exec.validate()?;
    Ok(Request::post(sandbox_path(id, "/exec")?)
        .json(exec)?
        .timeout(exec.http_timeout()))
}

/// `POST /sandboxes/{id}/ports`: forwards `port` (1–65535) with `protocol`.
pub fn forward_port(id: &str, port: u16, protocol: &str) -> Result<Request> {
    let body = ForwardPortRequest::new(port, protocol)?;
    Request::post(sandbox_path(id, "/ports")?).json(&body)
}

/// `GET /sandboxes/{id}/ports`.
pub fn list_ports(id: &str) -> Result<Request> {
    Ok(Request::get(sandbox_path(id, "/ports")?))
}

/// `DELETE /sandboxes/{id}/ports/{port}`.
pub fn remove_port(id: &str, port: u16) -> Result<Request> {
    // The port check of forwarding.
    ForwardPortRequest::new(port, "http")?;
    Ok(Request::delete(sandbox_path(id, &format!("/ports/{port}"))?))
}

/// `{method} /sandboxes/{id}/preview/{port}{path}`: a request to the sandbox app on `port`
/// through the Router's proxy. `path` is percent-encoded, without a query (`/index.html`;
/// empty for the root); the whole path must be canonical, as for the escape hatch.
pub fn preview(method: Method, id: &str, port: u16, path: &str) -> Result<Request> {
    if port == 0 {
        return Err(Error::invalid_input("port must be between 1 and 65535"));
    }
    let rest = if path.is_empty() { "/" } else { path };
    check_raw_path(rest)?;
    let path = sandbox_path(id, &format!("/preview/{port}{rest}"))?;
    check_raw_path(&format!("{API_PREFIX}{path}"))?;
    Ok(Request::new(method, path))
}
