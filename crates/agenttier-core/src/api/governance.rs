//! Governance policies (wire spec §10.1): the cluster policy, namespace policies, the policy in
//! force. Writes are admin-only on the Router.

use super::non_empty;
use crate::Result;
use crate::models::Policy;
use crate::request::{Request, segment};

/// `GET /governance/policies`: the cluster policy and every namespace policy.
pub fn policies() -> Request {
    Request::get("/governance/policies")
}

/// `PUT /governance/policies`: replaces the cluster policy.
pub fn set_cluster_policy(policy: &Policy) -> Result<Request> {
    Request::put("/governance/policies").json(policy)
}

/// `GET /governance/policies/{namespace}`.
pub fn namespace_policy(namespace: &str) -> Result<Request> {
    Ok(Request::get(namespace_path(namespace)?))
}

/// `PUT /governance/policies/{namespace}`: replaces one namespace's policy.
pub fn set_namespace_policy(namespace: &str, policy: &Policy) -> Result<Request> {
    Request::put(namespace_path(namespace)?).json(policy)
}

/// `DELETE /governance/policies/{namespace}`.
pub fn delete_namespace_policy(namespace: &str) -> Result<Request> {
    Ok(Request::delete(namespace_path(namespace)?))
}

/// `GET /governance/effective?namespace=`: the policy in force (the Router's default namespace
/// when `None` or empty).
pub fn effective(namespace: Option<&str>) -> Request {
    let req = Request::get("/governance/effective");
    match namespace.filter(|n| !n.is_empty()) {
        Some(ns) => req.query("namespace", ns),
        None => req,
    }
}

fn namespace_path(namespace: &str) -> Result<String> {
    non_empty(namespace, "namespace")?;
    Ok(format!("/governance/policies/{}", segment(namespace)))
}
