//! A request descriptor for every operation on the two kinds, `status` and `scale` included.
//!
//! Paths are complete (`/apis/agents.kruise.io/v1alpha1/...`), so the descriptors carry an
//! empty [`prefix`](crate::request::Request::prefix); send them to the API server's URL.

use std::time::Duration;

use http::Method;
use serde_json::Value;

use super::params::{DeleteParams, ListParams, PatchBody, WatchParams};
use super::resource::{Resource, collection_path, object_path, subresource_path};
use crate::request::{Accept, Request};
use crate::{Error, Result};

fn at(method: Method, path: String) -> Request {
    Request::new(method, path).prefix("")
}

fn ns_of<'a, K: Resource>(namespace: &'a str, obj: &'a K) -> Result<&'a str> {
    match obj.metadata().namespace.as_deref() {
        Some(own) if !own.is_empty() && own != namespace => Err(Error::invalid_input(format!(
            "{} {:?} names namespace {own:?} but the client is for {namespace:?}",
            K::KIND,
            obj.name()
        ))),
        _ => Ok(namespace),
    }
}

/// `POST {collection}` with the object.
pub fn create<K: Resource>(namespace: &str, obj: &K) -> Result<Request> {
    let meta = obj.metadata();
    if meta.name.as_deref().unwrap_or("").is_empty() && meta.generate_name.as_deref().unwrap_or("").is_empty() {
        return Err(Error::invalid_input(format!(
            "a {} needs metadata.name or metadata.generateName",
            K::KIND
        )));
    }
    let path = collection_path::<K>(Some(ns_of(namespace, obj)?))?;
    at(Method::POST, path).json(obj)
}

/// `GET {collection}/{name}`.
pub fn get<K: Resource>(namespace: &str, name: &str) -> Result<Request> {
    Ok(at(Method::GET, object_path::<K>(namespace, name)?))
}

/// `GET {collection}?...`; `None` lists across all namespaces.
pub fn list<K: Resource>(namespace: Option<&str>, params: &ListParams) -> Result<Request> {
    Ok(at(Method::GET, collection_path::<K>(namespace)?).queries(params.query()))
}

/// `PUT {collection}/{name}` with the whole object, which must carry its `resourceVersion`
/// (the server answers 409 Conflict when it is stale).
pub fn replace<K: Resource>(namespace: &str, obj: &K) -> Result<Request> {
    require_rv(obj)?;
    let path = object_path::<K>(ns_of(namespace, obj)?, obj.name())?;
    at(Method::PUT, path).json(obj)
}

/// `PATCH {collection}/{name}`.
pub fn patch<K: Resource>(namespace: &str, name: &str, patch: &PatchBody) -> Result<Request> {
    patch_at(object_path::<K>(namespace, name)?, patch)
}

/// `GET {collection}/{name}/status`.
pub fn get_status<K: Resource>(namespace: &str, name: &str) -> Result<Request> {
    Ok(at(Method::GET, subresource_path::<K>(namespace, name, "status")?))
}

/// `PUT {collection}/{name}/status` with the whole object (only `status` changes persist).
pub fn replace_status<K: Resource>(namespace: &str, obj: &K) -> Result<Request> {
    require_rv(obj)?;
    let path = subresource_path::<K>(ns_of(namespace, obj)?, obj.name(), "status")?;
    at(Method::PUT, path).json(obj)
}

/// `PATCH {collection}/{name}/status` (only `status` changes persist).
pub fn patch_status<K: Resource>(namespace: &str, name: &str, patch: &PatchBody) -> Result<Request> {
    patch_at(subresource_path::<K>(namespace, name, "status")?, patch)
}

/// `DELETE {collection}/{name}` with a `DeleteOptions` body.
pub fn delete<K: Resource>(namespace: &str, name: &str, params: &DeleteParams) -> Result<Request> {
    at(Method::DELETE, object_path::<K>(namespace, name)?).json(&params.body()?)
}

/// `DELETE {collection}?labelSelector=&fieldSelector=` with a `DeleteOptions` body.
pub fn delete_collection<K: Resource>(namespace: &str, list: &ListParams, params: &DeleteParams) -> Result<Request> {
    at(Method::DELETE, collection_path::<K>(Some(namespace))?)
        .queries(list.selectors())
        .json(&params.body()?)
}

/// `GET {collection}/{name}/scale`.
pub fn get_scale<K: Resource>(namespace: &str, name: &str) -> Result<Request> {
    Ok(at(Method::GET, subresource_path::<K>(namespace, name, "scale")?))
}

/// `PATCH {collection}/{name}/scale` with `{"spec":{"replicas":N}}` (merge patch).
pub fn patch_scale<K: Resource>(namespace: &str, name: &str, replicas: i32) -> Result<Request> {
    if replicas < 0 {
        return Err(Error::invalid_input(format!(
            "replicas must not be negative (got {replicas})"
        )));
    }
    let body = PatchBody::Merge(serde_json::json!({"spec": {"replicas": replicas}}));
    patch_at(subresource_path::<K>(namespace, name, "scale")?, &body)
}

/// `GET {collection}?watch=true&...`, one connection of a watch.
///
/// `server_timeout` goes into `timeoutSeconds` (at least 1 s); it must stay below the client's
/// read timeout so that a quiet watch ends on the server's side first.
pub fn watch<K: Resource>(
    namespace: Option<&str>,
    params: &WatchParams,
    resource_version: Option<&str>,
    server_timeout: Duration,
) -> Result<Request> {
    let mut req = at(Method::GET, collection_path::<K>(namespace)?).query("watch", "true");
    if let Some(rv) = resource_version.filter(|rv| !rv.is_empty()) {
        req = req.query("resourceVersion", rv);
    }
    if params.bookmarks {
        req = req.query("allowWatchBookmarks", "true");
    }
    let seconds = server_timeout.as_secs_f64().ceil().max(1.0) as u64;
    req = req.query("timeoutSeconds", seconds.to_string());
    if let Some(s) = params.label_selector.as_deref().filter(|s| !s.is_empty()) {
        req = req.query("labelSelector", s);
    }
    if let Some(s) = params.field_selector.as_deref().filter(|s| !s.is_empty()) {
        req = req.query("fieldSelector", s);
    }
    Ok(req.accept(Accept::JsonStream))
}

/// `GET /apis/agents.kruise.io/v1alpha1`: discovery of the group version (a preflight).
pub fn discovery() -> Request {
    at(Method::GET, super::resource::API_ROOT.to_owned())
}

fn patch_at(path: String, patch: &PatchBody) -> Result<Request> {
    Ok(at(Method::PATCH, path).bytes(patch.to_bytes()?, patch.content_type()))
}

fn require_rv<K: Resource>(obj: &K) -> Result<()> {
    if obj.resource_version().is_empty() {
        return Err(Error::invalid_input(format!(
            "replacing {} {:?} needs metadata.resourceVersion (get the object first, or use a merge patch)",
            K::KIND,
            obj.name()
        )));
    }
    Ok(())
}

/// A merge patch that sets `status` to `status` (for `update_status`).
pub fn status_patch(status: Value) -> PatchBody {
    PatchBody::Merge(serde_json::json!({ "status": status }))
}
