//! `Resources<K>`: every operation on one kind in one namespace.

use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use agenttier_core::kruise::params::DEFAULT_PAGE;
use agenttier_core::kruise::status::{KubeErrorKind, decode_delete};
use agenttier_core::kruise::wait::{self, Goal, HasConditions, Progress};
use agenttier_core::kruise::{
    DeleteOutcome, DeleteParams, List, ListParams, PatchBody, Resource, SandboxSet, Scale, WaitState, WatchParams,
    request,
};
use agenttier_core::{Error, Result, response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{KruiseClient, WatchStream, Watcher};
use crate::maybe;

/// Operations on the `K` objects of one namespace (or of all namespaces, for list and watch).
///
/// Obtained from [`KruiseClient::sandboxes`] / [`KruiseClient::sandbox_sets`]. Every failure
/// from the server is [`Error::Kubernetes`] with the server's `Status`; see its `kind()`.
pub struct Resources<K> {
    client: KruiseClient,
    namespace: Option<String>,
    _kind: PhantomData<fn() -> K>,
}

/// Sandbox operations of one namespace.
pub type SandboxClient = Resources<agenttier_core::kruise::Sandbox>;
/// SandboxSet operations of one namespace.
pub type SandboxSetClient = Resources<SandboxSet>;

impl<K> Clone for Resources<K> {
    fn clone(&self) -> Self {
        Resources {
            client: self.client.clone(),
            namespace: self.namespace.clone(),
            _kind: PhantomData,
        }
    }
}

impl<K: Resource> fmt::Debug for Resources<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resources")
            .field("kind", &K::KIND)
            .field("namespace", &self.namespace)
            .finish()
    }
}

impl<K: Resource> Resources<K> {
    pub(crate) fn new(client: KruiseClient, namespace: Option<String>) -> Self {
        Resources {
            client,
            namespace,
            _kind: PhantomData,
        }
    }

    /// The namespace (`None`: all namespaces).
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    pub(crate) fn client(&self) -> &KruiseClient {
        &self.client
    }

    fn ns(&self) -> Result<&str> {
        self.namespace.as_deref().ok_or_else(|| {
            Error::invalid_input(format!(
                "this {} handle spans all namespaces; use a namespaced handle for anything but list and watch",
                K::KIND
            ))
        })
    }
}

#[maybe]
impl<K: Resource> Resources<K> {
    async fn call<T: DeserializeOwned>(&self, req: agenttier_core::request::Request, context: &str) -> Result<T> {
        let resp = self.client.send(req).await?;
        response::decode(context, &resp.body)
    }

    /// Creates an object (`POST`); returns it as stored.
    pub async fn create(&self, obj: &K) -> Result<K> {
        let req = request::create(self.ns()?, obj)?;
        self.call(req, &format!("create {}", K::KIND)).await
    }

    /// Reads an object; a missing one is [`Error::Kubernetes`] of kind `NotFound`.
    pub async fn get(&self, name: &str) -> Result<K> {
        let req = request::get::<K>(self.ns()?, name)?;
        self.call(req, &format!("get {}", K::KIND)).await
    }

    /// Reads an object, `None` when it does not exist.
    pub async fn get_opt(&self, name: &str) -> Result<Option<K>> {
        match self.get(name).await {
            Ok(obj) => Ok(Some(obj)),
            Err(e) if e.kube_kind() == Some(KubeErrorKind::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One page of objects.
    pub async fn list(&self, params: &ListParams) -> Result<List<K>> {
        let req = request::list::<K>(self.namespace.as_deref(), params)?;
        self.call(req, &format!("list {}", K::KIND)).await
    }

    /// Every object, following `continue` tokens (pages of `params.limit`, default 500). A
    /// continue token that expires (410) restarts the listing once.
    pub async fn list_all(&self, params: &ListParams) -> Result<List<K>> {
        let mut restarted = false;
        'restart: loop {
            let mut page_params = params.clone();
            page_params.limit = Some(params.limit.unwrap_or(DEFAULT_PAGE));
            page_params.continue_token = None;
            let mut all = List::default();
            loop {
                let page = match self.list(&page_params).await {
                    Ok(page) => page,
                    Err(e) if e.kube_kind() == Some(KubeErrorKind::Gone) && !restarted => {
                        restarted = true;
                        continue 'restart;
                    }
                    Err(e) => return Err(e),
                };
                all.items.extend(page.items);
                all.resource_version = page.resource_version;
                match page.continue_token {
                    Some(token) => page_params.continue_token = Some(token),
                    None => return Ok(all),
                }
            }
        }
    }

    /// Merge-patches an object (`application/merge-patch+json`), as the Python client's
    /// `update_*` does. Use [`replace`](Self::replace) for a full update with a version check.
    pub async fn update(&self, name: &str, patch: Value) -> Result<K> {
        self.patch(name, &PatchBody::Merge(patch)).await
    }

    /// Replaces an object whole (`PUT`); it must carry the `resourceVersion` it was read at,
    /// and a stale one is a `Conflict`. Unknown fields read earlier are sent back unchanged.
    pub async fn replace(&self, obj: &K) -> Result<K> {
        let req = request::replace(self.ns()?, obj)?;
        self.call(req, &format!("replace {}", K::KIND)).await
    }

    /// Patches an object with a merge patch or a JSON patch.
    pub async fn patch(&self, name: &str, patch: &PatchBody) -> Result<K> {
        let req = request::patch::<K>(self.ns()?, name, patch)?;
        self.call(req, &format!("patch {}", K::KIND)).await
    }

    /// Reads an object through its `status` subresource.
    pub async fn get_status(&self, name: &str) -> Result<K> {
        let req = request::get_status::<K>(self.ns()?, name)?;
        self.call(req, &format!("get {} status", K::KIND)).await
    }

    /// Merge-patches the `status` subresource (`patch` is the whole patch, e.g.
    /// `{"status": {...}}`); only status changes persist.
    pub async fn update_status(&self, name: &str, patch: Value) -> Result<K> {
        self.patch_status(name, &PatchBody::Merge(patch)).await
    }

    /// Patches the `status` subresource.
    pub async fn patch_status(&self, name: &str, patch: &PatchBody) -> Result<K> {
        let req = request::patch_status::<K>(self.ns()?, name, patch)?;
        self.call(req, &format!("patch {} status", K::KIND)).await
    }

    /// Replaces the `status` subresource (`PUT`, with the `resourceVersion` check).
    pub async fn replace_status(&self, obj: &K) -> Result<K> {
        let req = request::replace_status(self.ns()?, obj)?;
        self.call(req, &format!("replace {} status", K::KIND)).await
    }

    /// Deletes an object: [`DeleteOutcome::Deleted`] when it is gone, or
    /// [`DeleteOutcome::Pending`] with the object while finalizers hold it (the usual case for
    /// a Sandbox); follow with [`wait_for_deleted`](Self::wait_for_deleted).
    pub async fn delete(&self, name: &str, params: &DeleteParams) -> Result<DeleteOutcome<K>> {
        let req = request::delete::<K>(self.ns()?, name, params)?;
        let resp = self.client.send(req).await?;
        decode_delete(resp.status, &resp.body)
    }

    /// Deletes every object the selectors match; returns the objects the server reported
    /// (empty when it answered with a bare `Status`).
    pub async fn delete_collection(&self, list: &ListParams, params: &DeleteParams) -> Result<Vec<K>> {
        let req = request::delete_collection::<K>(self.ns()?, list, params)?;
        let resp = self.client.send(req).await?;
        let value: Value = response::decode("delete collection", &resp.body)?;
        if value.get("kind").and_then(Value::as_str) == Some("Status") {
            return Ok(Vec::new());
        }
        let list: List<K> = serde_json::from_value(value)
            .map_err(|e| response::decode_error("delete collection", &e.to_string(), &resp.body))?;
        Ok(list.items)
    }

    /// Watches objects: an `Iterator` (blocking) or `Stream` (async) of `Added`, `Modified` and
    /// `Deleted` events. It lists first unless `params.resource_version` is set, reconnects from
    /// the last seen `resourceVersion` whenever a connection ends, relists after `410 Gone`
    /// (reporting what changed in the gap), and ends cleanly at `params.timeout`. The initial
    /// list (or first connection) happens in this call, so a refusal is returned here.
    pub async fn watch(&self, params: &WatchParams) -> Result<WatchStream<K>> {
        let mut watcher = Watcher::new(self.clone(), params.clone());
        watcher.start().await?;
        Ok(WatchStream::new(watcher))
    }

    /// Waits until `goal` holds (`Ok(Some(object))`) or the object is gone for
    /// [`Goal::Deleted`] (`Ok(None)`); [`Error::WaitTimeout`] when `timeout` passes first.
    pub async fn wait_for(&self, name: &str, goal: Goal<K>, timeout: Duration) -> Result<Option<K>> {
        let mut wait = WaitState::new(goal, self.ns()?, name, timeout, Instant::now())?;
        let first = self.get(name).await;
        if let Progress::Done(obj) = wait.on_get(first)? {
            return Ok(obj);
        }
        let mut events = Watcher::new(self.clone(), wait.watch_params(Instant::now()));
        while let Some(event) = events.next_event().await {
            if let Progress::Done(obj) = wait.on_event(event?)? {
                return Ok(obj);
            }
        }
        Err(wait.timed_out())
    }

    /// Waits until the object has condition `condition_type` with `status` (`"True"`, ...).
    pub async fn wait_for_condition(
        &self,
        name: &str,
        condition_type: &str,
        status: &str,
        timeout: Duration,
    ) -> Result<K>
    where
        K: HasConditions,
    {
        let found = self
            .wait_for(name, wait::condition(condition_type, status), timeout)
            .await?;
        found.ok_or_else(|| Error::invalid_input("a condition wait ended without an object"))
    }

    /// Waits until the object no longer exists (finalizers done).
    pub async fn wait_for_deleted(&self, name: &str, timeout: Duration) -> Result<()> {
        self.wait_for(name, Goal::Deleted, timeout).await?;
        Ok(())
    }
}

#[maybe]
impl Resources<SandboxSet> {
    /// Sets the desired warm-pool size through the `scale` subresource (`PATCH .../scale`;
    /// RBAC rule `sandboxsets/scale`). The Python client patches the main resource instead.
    pub async fn scale(&self, name: &str, replicas: i32) -> Result<Scale> {
        let req = request::patch_scale::<SandboxSet>(self.ns()?, name, replicas)?;
        self.call(req, "scale SandboxSet").await
    }

    /// Reads the `scale` subresource (desired and observed replicas, selector).
    pub async fn get_scale(&self, name: &str) -> Result<Scale> {
        let req = request::get_scale::<SandboxSet>(self.ns()?, name)?;
        self.call(req, "get SandboxSet scale").await
    }

    /// The desired replica count, `spec.replicas` (as the Python client returns).
    pub async fn get_replicas(&self, name: &str) -> Result<i32> {
        Ok(self.get(name).await?.spec.replicas)
    }

    /// Waits until the controller has seen the latest spec and enough sandboxes are available
    /// (`observedGeneration >= generation`, `availableReplicas >= spec.replicas`): the Kruise
    /// SandboxSet controller sets no conditions to wait on.
    pub async fn wait_for_available(&self, name: &str, timeout: Duration) -> Result<SandboxSet> {
        let found = self.wait_for(name, wait::sandbox_set_available(), timeout).await?;
        found.ok_or_else(|| Error::invalid_input("an availability wait ended without an object"))
    }
}
