//! kube-rs interop (feature `kube`): [`Sandbox`] and [`SandboxSet`] implement
//! [`kube_core::Resource`], so a kube-rs application can use `kube::Api<Sandbox>` (get, list,
//! watch, patch, `kube::runtime` controllers ...) with this crate's spec and status models.
//!
//! They differ from [`super::Sandbox`] and [`super::SandboxSet`] only in their metadata, which
//! is k8s-openapi's `ObjectMeta` (what kube requires); `TryFrom` converts both ways through the
//! JSON they share. Any kube from 2.x (the last for Rust 1.85) to 5.x works: the version is the
//! application's, as is the k8s-openapi Kubernetes version feature (`k8s-openapi/v1_*`, or
//! `K8S_OPENAPI_ENABLED_VERSION` for `cargo check`/`doc`), which a library must not choose.
//!
//! With `kube` (a dependency of the application, not of this crate, so this is not compiled
//! here):
//!
//! ```ignore
//! let sandboxes: kube::Api<agenttier::kruise::kube::Sandbox> = kube::Api::namespaced(client, "team-a");
//! for sb in sandboxes.list(&Default::default()).await? {
//!     println!("{:?} {:?}", sb.metadata.name, sb.status.and_then(|s| s.phase));
//! }
//! ```

use std::borrow::Cow;

use kube_core::{NamespaceResourceScope, ObjectMeta};
use serde::{Deserialize, Serialize};

use super::models::{self, SandboxSetSpec, SandboxSetStatus, SandboxSpec, SandboxStatus, resource_object};
use super::resource::{GROUP, Resource as _, VERSION};

/// The kube view of a Kruise custom resource and its conversions from and to the model.
macro_rules! kube_resource {
    ($(#[$doc:meta])* $name:ident, $model:ident, $spec:ident, $status:ident, kind = $kind:literal) => {
        resource_object! {
            $(#[$doc])*
            $name, ObjectMeta, $spec, $status, kind = $kind,
            status_doc = "Observed state, once the controller has written it."
        }

        impl kube_core::Resource for $name {
            type DynamicType = ();
            type Scope = NamespaceResourceScope;

            fn kind(_: &()) -> Cow<'_, str> {
                Cow::Borrowed(<models::$model>::KIND)
            }

            fn group(_: &()) -> Cow<'_, str> {
                Cow::Borrowed(GROUP)
            }

            fn version(_: &()) -> Cow<'_, str> {
                Cow::Borrowed(VERSION)
            }

            fn plural(_: &()) -> Cow<'_, str> {
                Cow::Borrowed(<models::$model>::PLURAL)
            }

            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }

            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }

        impl TryFrom<models::$model> for $name {
            type Error = serde_json::Error;

            /// Fails only on metadata k8s-openapi cannot read (e.g. a timestamp that is not RFC 3339).
            fn try_from(model: models::$model) -> Result<Self, Self::Error> {
                serde_json::from_value(serde_json::to_value(model)?)
            }
        }

        impl TryFrom<$name> for models::$model {
            type Error = serde_json::Error;

            fn try_from(object: $name) -> Result<Self, Self::Error> {
                serde_json::from_value(serde_json::to_value(object)?)
            }
        }
    };
}

kube_resource!(
    /// A `Sandbox` for `kube::Api`: one sandbox pod with its template and lifecycle.
    Sandbox,
    Sandbox,
    SandboxSpec,
    SandboxStatus,
    kind = "Sandbox"
);

kube_resource!(
    /// A `SandboxSet` for `kube::Api`: a pool of pre-warmed sandboxes.
    SandboxSet,
    SandboxSet,
    SandboxSetSpec,
    SandboxSetStatus,
    kind = "SandboxSet"
);

#[cfg(test)]
mod tests {
    use kube_core::Resource as KubeResource;
    use kube_core::params::{GetParams, PostParams};
    use serde_json::{Value, json};

    use super::*;
    use crate::kruise::request;
    use crate::kruise::resource::API_VERSION;
    use crate::request::Body;

    /// A Sandbox as an API server returns it: server-set metadata, unknown fields, status.
    fn served() -> Value {
        json!({
            "apiVersion": "agents.kruise.io/v1alpha1",
            "kind": "Sandbox",
            "metadata": {
                "name": "sb-1", "namespace": "team-a", "uid": "0f8e", "resourceVersion": "42",
                "generation": 3, "creationTimestamp": "2026-12-01T10:00:00Z",
                "labels": {"app": "demo"}, "finalizers": ["agents.kruise.io/cleanup"]
            },
            "spec": {"template": {"spec": {"containers": [{"name": "main", "image": "python:3.12"}]}}},
            "status": {"phase": "Running", "observedGeneration": 3},
            "somethingNew": {"kept": true}
        })
    }

    #[test]
    fn kube_finds_the_same_urls_as_the_own_client() {
        for ns in [Some("team-a"), None] {
            assert_eq!(
                <Sandbox as KubeResource>::url_path(&(), ns),
                crate::kruise::resource::collection_path::<models::Sandbox>(ns).unwrap()
            );
            assert_eq!(
                <SandboxSet as KubeResource>::url_path(&(), ns),
                crate::kruise::resource::collection_path::<models::SandboxSet>(ns).unwrap()
            );
        }
        assert_eq!(<Sandbox as KubeResource>::api_version(&()), API_VERSION);
        assert_eq!(<SandboxSet as KubeResource>::kind(&()), "SandboxSet");
        let get = kube_core::Request::new(<Sandbox as KubeResource>::url_path(&(), Some("team-a")))
            .get("sb-1", &GetParams::default())
            .unwrap();
        assert_eq!(
            get.uri().path(),
            request::get::<models::Sandbox>("team-a", "sb-1").unwrap().path
        );
    }

    #[test]
    fn kube_creates_the_same_body_as_the_own_client() {
        let model = models::Sandbox::new("sb-1", SandboxSpec::default());
        let object = Sandbox::try_from(model.clone()).unwrap();
        let url = <Sandbox as KubeResource>::url_path(&(), Some("team-a"));
        let theirs = kube_core::Request::new(url)
            .create(&PostParams::default(), serde_json::to_vec(&object).unwrap())
            .unwrap();
        let ours = request::create("team-a", &model).unwrap();
        assert_eq!(theirs.method(), ours.method);
        assert_eq!(theirs.uri().path(), ours.path);
        let Body::Json(body) = &ours.body else {
            panic!("create sends JSON")
        };
        let ours: Value = serde_json::from_slice(body).unwrap();
        let theirs: Value = serde_json::from_slice(theirs.body()).unwrap();
        assert_eq!(theirs, ours);
        assert_eq!(theirs["apiVersion"], API_VERSION);
        assert_eq!(theirs["kind"], "Sandbox");
    }

    #[test]
    fn a_served_object_converts_both_ways_without_losing_anything() {
        let object: Sandbox = serde_json::from_value(served()).unwrap();
        assert_eq!(object.metadata.resource_version.as_deref(), Some("42"));
        assert_eq!(object.meta().labels.as_ref().unwrap()["app"], "demo");
        assert_eq!(object.extra["somethingNew"], json!({"kept": true}));
        let model = models::Sandbox::try_from(object.clone()).unwrap();
        assert_eq!(model.metadata.uid.as_deref(), Some("0f8e"));
        assert_eq!(model.status.as_ref().unwrap().observed_generation, Some(3));
        assert_eq!(Sandbox::try_from(model).unwrap(), object);
        // What kube would send back on replace is what the server sent.
        let mut sent = serde_json::to_value(&object).unwrap();
        let mut want = served();
        for v in [&mut sent, &mut want] {
            v["spec"].as_object_mut().unwrap().retain(|k, _| k == "template");
            v["status"]
                .as_object_mut()
                .unwrap()
                .retain(|k, _| k == "phase" || k == "observedGeneration");
        }
        assert_eq!(sent["metadata"], want["metadata"]);
        assert_eq!(sent["somethingNew"], want["somethingNew"]);
        assert_eq!(sent["spec"], want["spec"]);
    }

    #[test]
    fn new_objects_carry_their_type() {
        let set = SandboxSet::new("pool", SandboxSetSpec::default());
        assert_eq!(set.metadata.name.as_deref(), Some("pool"));
        assert_eq!(
            (set.api_version.as_str(), set.kind.as_str()),
            (API_VERSION, "SandboxSet")
        );
        let model = models::SandboxSet::try_from(set).unwrap();
        assert_eq!(model.metadata.name.as_deref(), Some("pool"));
    }
}
