//! The group, version and kinds this layer speaks, and their URL paths.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::models::ObjectMeta;
use crate::request::segment;
use crate::{Error, Result};

/// API group of the OpenKruise agents resources.
pub const GROUP: &str = "agents.kruise.io";
/// API version served (and stored) for both kinds.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of the objects.
pub const API_VERSION: &str = "agents.kruise.io/v1alpha1";
/// Path of the group version on the API server.
pub const API_ROOT: &str = "/apis/agents.kruise.io/v1alpha1";

/// A namespaced custom resource of the `agents.kruise.io/v1alpha1` group.
pub trait Resource: Serialize + DeserializeOwned + Clone + Debug + Send + Sync + 'static {
    /// `kind`, e.g. `Sandbox`.
    const KIND: &'static str;
    /// Plural in URLs, e.g. `sandboxes`.
    const PLURAL: &'static str;
    /// Whether the `scale` subresource exists.
    const HAS_SCALE: bool;

    /// The object's metadata.
    fn metadata(&self) -> &ObjectMeta;
    /// The object's metadata, mutable.
    fn metadata_mut(&mut self) -> &mut ObjectMeta;

    /// The object's name (empty when unset).
    fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or("")
    }

    /// The object's `resourceVersion` (empty when unset).
    fn resource_version(&self) -> &str {
        self.metadata().resource_version.as_deref().unwrap_or("")
    }
}

/// Checks a namespace or object name before it goes into a path.
pub fn check_name(value: &str, what: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid_input(format!("{what} must not be empty")));
    }
    if value.contains('/') || value == "." || value == ".." {
        return Err(Error::invalid_input(format!(
            "{what} {value:?} is not a valid Kubernetes name"
        )));
    }
    Ok(())
}

/// `/apis/agents.kruise.io/v1alpha1[/namespaces/{ns}]/{plural}`; `None` means all namespaces.
///
/// ```
/// use agenttier_core::kruise::{Sandbox, resource::collection_path};
/// assert_eq!(
///     collection_path::<Sandbox>(Some("team-a")).unwrap(),
///     "/apis/agents.kruise.io/v1alpha1/namespaces/team-a/sandboxes"
/// );
/// assert_eq!(collection_path::<Sandbox>(None).unwrap(), "/apis/agents.kruise.io/v1alpha1/sandboxes");
/// ```
pub fn collection_path<K: Resource>(namespace: Option<&str>) -> Result<String> {
    match namespace {
        Some(ns) => {
            check_name(ns, "namespace")?;
            Ok(format!("{API_ROOT}/namespaces/{}/{}", segment(ns), K::PLURAL))
        }
        None => Ok(format!("{API_ROOT}/{}", K::PLURAL)),
    }
}

/// `{collection}/{name}`.
pub fn object_path<K: Resource>(namespace: &str, name: &str) -> Result<String> {
    check_name(name, &format!("{} name", K::KIND))?;
    Ok(format!("{}/{}", collection_path::<K>(Some(namespace))?, segment(name)))
}

/// `{collection}/{name}/{subresource}` (`status` or `scale`).
pub fn subresource_path<K: Resource>(namespace: &str, name: &str, subresource: &str) -> Result<String> {
    if subresource == "scale" && !K::HAS_SCALE {
        return Err(Error::invalid_input(format!("{} has no scale subresource", K::KIND)));
    }
    Ok(format!("{}/{subresource}", object_path::<K>(namespace, name)?))
}
