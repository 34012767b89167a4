//! Lenient models of `Sandbox`, `SandboxSet` and `autoscaling/v1` `Scale`.
//!
//! The CRDs change quickly (openkruise/agents `0b72c83a` is the reference), so every struct
//! takes defaults for missing fields, keeps unknown fields in a flattened `extra` map (a get →
//! modify → replace round-trips them), unknown enum values decode to `Other(..)`, and the pod
//! template and volume claim templates stay JSON values: a pinned typed pod spec would drop
//! fields on replace.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use super::resource::Resource;

/// Unknown fields, kept so that writes send them back.
pub type Extra = BTreeMap<String, Value>;

/// The object of a custom resource whose metadata is a `$meta`: `apiVersion`, `kind`, metadata,
/// spec, status and unknown top-level fields, its `Default` (right `apiVersion` and `kind`) and
/// `new(name, spec)`.
/// The models use it with [`ObjectMeta`], the kube view (`kruise::kube`) with kube's.
macro_rules! resource_object {
    (
        $(#[$doc:meta])*
        $name:ident, $meta:ty, $spec:ident, $status:ident, kind = $kind:literal, status_doc = $status_doc:literal
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(default, rename_all = "camelCase")]
        #[non_exhaustive]
        pub struct $name {
            /// `agents.kruise.io/v1alpha1`.
            pub api_version: String,
            #[doc = concat!("`", $kind, "`.")]
            pub kind: String,
            /// Metadata.
            pub metadata: $meta,
            /// Desired state.
            pub spec: $spec,
            #[doc = $status_doc]
            #[serde(skip_serializing_if = "Option::is_none")]
            pub status: Option<$status>,
            /// Unknown top-level fields, sent back on replace.
            #[serde(flatten)]
            pub extra: $crate::kruise::models::Extra,
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    api_version: $crate::kruise::resource::API_VERSION.to_owned(),
                    kind: $kind.to_owned(),
                    metadata: <$meta>::default(),
                    spec: $spec::default(),
                    status: None,
                    extra: $crate::kruise::models::Extra::new(),
                }
            }
        }

        impl $name {
            #[doc = concat!("A `", $kind, "` called `name` with `spec`.")]
            pub fn new(name: impl Into<String>, spec: $spec) -> Self {
                let mut object = $name {
                    spec,
                    ..Default::default()
                };
                object.metadata.name = Some(name.into());
                object
            }
        }
    };
}
#[cfg(feature = "kube")]
pub(crate) use resource_object;

/// A custom resource model: [`resource_object!`] with [`ObjectMeta`], and its [`Resource`]
/// implementation. The doc comment and examples come first inside the invocation.
macro_rules! custom_resource {
    (
        $(#[$doc:meta])*
        $name:ident, $spec:ident, $status:ident,
        kind = $kind:literal, plural = $plural:literal, has_scale = $scale:literal,
        status_doc = $status_doc:literal $(,)?
    ) => {
        resource_object! {
            $(#[$doc])*
            $name, ObjectMeta, $spec, $status, kind = $kind, status_doc = $status_doc
        }

        impl Resource for $name {
            const KIND: &'static str = $kind;
            const PLURAL: &'static str = $plural;
            const HAS_SCALE: bool = $scale;

            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }

            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this SDK does not know yet, kept as sent.
            Other(String),
        }

        impl $name {
            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)*
                    $name::Other(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($wire => $name::$variant,)*
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                Ok($name::from(<String as ::serde::Deserialize>::deserialize(d)?.as_str()))
            }
        }
    };
}
pub(crate) use open_enum as open_reason;

open_enum! {
    /// `status.phase` of a Sandbox.
    SandboxPhase {
        /// Created, pod not running yet.
        Pending = "Pending",
        /// Running.
        Running = "Running",
        /// Paused.
        Paused = "Paused",
        /// Being resumed.
        Resuming = "Resuming",
        /// Being upgraded.
        Upgrading = "Upgrading",
        /// Finished successfully.
        Succeeded = "Succeeded",
        /// Failed.
        Failed = "Failed",
        /// Being recycled.
        Recycling = "Recycling",
        /// Being deleted (finalizers pending).
        Terminating = "Terminating",
    }
}

open_enum! {
    /// `status` of a condition.
    ConditionStatus {
        /// `True`.
        True = "True",
        /// `False`.
        False = "False",
        /// `Unknown`.
        Unknown = "Unknown",
    }
}

open_enum! {
    /// What a pause keeps (`spec.persistentContents`).
    PersistentContent {
        /// The pod IP.
        Ip = "ip",
        /// Memory.
        Memory = "memory",
        /// The filesystem.
        Filesystem = "filesystem",
    }
}

open_enum! {
    /// `spec.pauseStrategy.type`.
    PauseStrategyType {
        /// Stop the pod.
        Stop = "Stop",
        /// Hibernate it.
        Hibernate = "Hibernate",
    }
}

open_enum! {
    /// `spec.upgradePolicy.type`.
    UpgradePolicyType {
        /// Recreate the pod.
        Recreate = "Recreate",
        /// Checkpoint, then restore.
        CheckpointRestore = "CheckpointRestore",
    }
}

/// `metav1.ObjectMeta`, the fields this SDK uses, everything else in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct ObjectMeta {
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Prefix for a server-generated name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generate_name: Option<String>,
    /// Namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Unique id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Version for optimistic concurrency and watches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// Bumped on every spec change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// RFC 3339 creation time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// RFC 3339 time the deletion was requested; set while finalizers are pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<String>,
    /// Labels.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Finalizers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
    /// Owner references, as sent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<Value>,
    /// Every other field (managedFields, ...), kept for round trips.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ObjectMeta {
    /// Metadata with a name.
    pub fn named(name: impl Into<String>) -> Self {
        ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        }
    }

    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
}

/// `metav1.Condition`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct Condition {
    /// Type, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: Option<ConditionStatus>,
    /// Machine-readable reason.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Human-readable message.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// RFC 3339 time of the last status change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// The generation the condition was computed for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Condition {
    /// A condition of `type_` with `status`.
    pub fn new(type_: impl Into<String>, status: ConditionStatus) -> Self {
        Condition {
            type_: type_.into(),
            status: Some(status),
            ..Default::default()
        }
    }

    /// Whether this is condition `type_` with status `status` (`"True"`, `"False"`, `"Unknown"`).
    pub fn is(&self, type_: &str, status: &str) -> bool {
        self.type_ == type_ && self.status.as_ref().is_some_and(|s| s.as_str() == status)
    }
}

/// `spec.pauseStrategy` (added after Kruise agents v0.3.0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct PauseStrategy {
    /// `Stop` or `Hibernate`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<PauseStrategyType>,
    /// `{type: Snapshot}` for hibernation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hibernate_strategy: Option<Value>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec.templateRef`: a `SandboxTemplate` to create from (exclusive with `template`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct TemplateRef {
    /// Template name.
    pub name: String,
    /// Kind of the referenced object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Its apiVersion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One entry of `spec.runtimes` (known names: `csi`, `agent-runtime`, `traffic-proxy`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RuntimeRef {
    /// Runtime name.
    pub name: String,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec.upgradePolicy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct UpgradePolicy {
    /// `Recreate` or `CheckpointRestore`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<UpgradePolicyType>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec` of a Sandbox. The pod template stays a JSON value (the CRD keeps it schemaless).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct SandboxSpec {
    /// Pause the sandbox pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// How to pause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause_strategy: Option<PauseStrategy>,
    /// What a pause keeps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub persistent_contents: Vec<PersistentContent>,
    /// RFC 3339 absolute delete time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shutdown_time: Option<String>,
    /// RFC 3339 auto-pause time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause_time: Option<String>,
    /// Runtimes to inject.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runtimes: Vec<RuntimeRef>,
    /// `{preUpgrade, postUpgrade}` hooks, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Value>,
    /// Upgrade policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade_policy: Option<UpgradePolicy>,
    /// A `SandboxTemplate` to create from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_ref: Option<TemplateRef>,
    /// A core/v1 `PodTemplateSpec`, kept whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<Value>,
    /// core/v1 `PersistentVolumeClaim`s, kept whole.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_claim_templates: Vec<Value>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status` of a Sandbox.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct SandboxStatus {
    /// The generation the controller last acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<SandboxPhase>,
    /// Human-readable message.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Conditions (one per type).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// `{annotations, labels, nodeName, podIP, podUID}` of the pod, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_info: Option<Value>,
    /// Node the pod runs on.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub node_name: String,
    /// The sandbox's IP.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sandbox_ip: String,
    /// Revision of the template in use.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub update_revision: String,
    /// How many times it was recycled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recycled_count: Option<i32>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

custom_resource! {
    /// A `Sandbox` custom resource (`sbx`).
    ///
    /// ```
    /// use agenttier_core::kruise::Sandbox;
    /// let sandbox = Sandbox::from_template_ref("demo", "python-runtime");
    /// let json = serde_json::to_value(&sandbox).unwrap();
    /// assert_eq!(json["spec"]["templateRef"]["name"], "python-runtime");
    /// assert_eq!(json["kind"], "Sandbox");
    /// ```
    Sandbox, SandboxSpec, SandboxStatus,
    kind = "Sandbox", plural = "sandboxes", has_scale = false,
    status_doc = "Observed state (set by the controller; written through `/status` only).",
}

impl Sandbox {
    /// A sandbox created from the `SandboxTemplate` `template`.
    pub fn from_template_ref(name: impl Into<String>, template: impl Into<String>) -> Self {
        let spec = SandboxSpec {
            template_ref: Some(TemplateRef {
                name: template.into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        Self::new(name, spec)
    }

    /// A sandbox from an inline pod template (a `PodTemplateSpec` as JSON).
    pub fn from_pod_template(name: impl Into<String>, template: Value) -> Self {
        let spec = SandboxSpec {
            template: Some(template),
            ..Default::default()
        };
        Self::new(name, spec)
    }

    /// The phase, if the controller set one.
    pub fn phase(&self) -> Option<&SandboxPhase> {
        self.status.as_ref()?.phase.as_ref()
    }

    /// The condition of `type_`, if present.
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.status.as_ref()?.conditions.iter().find(|c| c.type_ == type_)
    }
}

/// `maxUnavailable`-style value: a count or a percentage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    /// A count.
    Int(i64),
    /// A string such as `"20%"`.
    String(String),
}

/// `spec.scaleStrategy` / `spec.updateStrategy` of a SandboxSet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct RolloutStrategy {
    /// How many sandboxes may be unavailable at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec` of a SandboxSet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct SandboxSetSpec {
    /// Warm-pool size: the number of *unclaimed* sandboxes (creating + available). A claimed
    /// sandbox leaves the set. Required by the CRD.
    pub replicas: i32,
    /// How created sandboxes pause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause_strategy: Option<PauseStrategy>,
    /// What a pause keeps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub persistent_contents: Vec<PersistentContent>,
    /// Runtimes to inject.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runtimes: Vec<RuntimeRef>,
    /// A `SandboxTemplate` to create from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_ref: Option<TemplateRef>,
    /// A core/v1 `PodTemplateSpec`, kept whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<Value>,
    /// core/v1 `PersistentVolumeClaim`s, kept whole.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_claim_templates: Vec<Value>,
    /// Scale-up pacing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_strategy: Option<RolloutStrategy>,
    /// Update pacing (default 20 % unavailable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_strategy: Option<RolloutStrategy>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status` of a SandboxSet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct SandboxSetStatus {
    /// The generation the controller last acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Unclaimed sandboxes.
    pub replicas: i32,
    /// Unclaimed sandboxes that are available.
    pub available_replicas: i32,
    /// FNV-32 of the template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub update_revision: String,
    /// Current revision.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub current_revision: String,
    /// Sandboxes on the update revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_replicas: Option<i32>,
    /// Available sandboxes on the update revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_available_replicas: Option<i32>,
    /// Conditions (the Kruise controller sets none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Label selector string for the scale subresource.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub selector: String,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

custom_resource! {
    /// A `SandboxSet` custom resource (`sbs`): a warm pool of sandboxes.
    ///
    /// ```
    /// use agenttier_core::kruise::SandboxSet;
    /// let set = SandboxSet::from_template_ref("pool", "python-runtime", 3);
    /// assert_eq!(serde_json::to_value(&set).unwrap()["spec"]["replicas"], 3);
    /// ```
    SandboxSet, SandboxSetSpec, SandboxSetStatus,
    kind = "SandboxSet", plural = "sandboxsets", has_scale = true,
    status_doc = "Observed state.",
}

impl SandboxSet {
    /// A set of `replicas` sandboxes from the `SandboxTemplate` `template`.
    pub fn from_template_ref(name: impl Into<String>, template: impl Into<String>, replicas: i32) -> Self {
        let spec = SandboxSetSpec {
            replicas,
            template_ref: Some(TemplateRef {
                name: template.into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        Self::new(name, spec)
    }

    /// A set of `replicas` sandboxes from an inline pod template (a `PodTemplateSpec` as JSON).
    pub fn from_pod_template(name: impl Into<String>, template: Value, replicas: i32) -> Self {
        let spec = SandboxSetSpec {
            replicas,
            template: Some(template),
            ..Default::default()
        };
        Self::new(name, spec)
    }

    /// Whether the controller has seen the latest spec and enough sandboxes are available:
    /// `status.observedGeneration >= metadata.generation && status.availableReplicas >= spec.replicas`.
    pub fn is_available(&self) -> bool {
        let Some(status) = &self.status else {
            return false;
        };
        let observed = status.observed_generation.unwrap_or(0);
        observed >= self.metadata.generation.unwrap_or(0) && status.available_replicas >= self.spec.replicas
    }
}

/// `autoscaling/v1` `Scale`, the body of the `scale` subresource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct Scale {
    /// `autoscaling/v1`.
    pub api_version: String,
    /// `Scale`.
    pub kind: String,
    /// Metadata of the scaled object.
    pub metadata: ObjectMeta,
    /// Desired replicas.
    pub spec: ScaleSpec,
    /// Observed replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ScaleStatus>,
}

/// `Scale.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ScaleSpec {
    /// Desired replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
}

/// `Scale.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ScaleStatus {
    /// Observed replicas.
    pub replicas: i32,
    /// Label selector string.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub selector: String,
}

/// One page of a list: the items, the collection's `resourceVersion` and the `continue` token.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct List<K> {
    /// The objects.
    pub items: Vec<K>,
    /// `metadata.resourceVersion` of the list (watch from here to see later changes).
    pub resource_version: String,
    /// `metadata.continue`: pass it to get the next page; `None` on the last page.
    pub continue_token: Option<String>,
    /// `metadata.remainingItemCount`, when the server says.
    pub remaining_item_count: Option<i64>,
}

impl<K> Default for List<K> {
    fn default() -> Self {
        List {
            items: Vec::new(),
            resource_version: String::new(),
            continue_token: None,
            remaining_item_count: None,
        }
    }
}

impl<'de, K: serde::de::DeserializeOwned> Deserialize<'de> for List<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize, Default)]
        #[serde(default, rename_all = "camelCase")]
        struct ListMeta {
            resource_version: String,
            #[serde(rename = "continue")]
            continue_token: Option<String>,
            remaining_item_count: Option<i64>,
        }
        #[derive(Deserialize)]
        #[serde(bound = "K: serde::de::DeserializeOwned")]
        struct Wire<K> {
            #[serde(default)]
            metadata: ListMeta,
            #[serde(default)]
            items: Option<Vec<K>>,
        }
        let wire: Wire<K> = Wire::deserialize(d)?;
        Ok(List {
            items: wire.items.unwrap_or_default(),
            resource_version: wire.metadata.resource_version,
            continue_token: wire.metadata.continue_token.filter(|c| !c.is_empty()),
            remaining_item_count: wire.metadata.remaining_item_count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_and_values_round_trip() {
        let wire = serde_json::json!({
            "apiVersion": "agents.kruise.io/v1alpha1",
            "kind": "Sandbox",
            "metadata": {"name": "s1", "namespace": "ns", "resourceVersion": "7",
                         "managedFields": [{"manager": "kubectl"}], "labels": {"a": "b"}},
            "spec": {"paused": false, "futureField": {"x": 1}, "persistentContents": ["ip", "gpu"],
                     "template": {"spec": {"containers": [{"name": "c", "image": "i", "newPodField": true}]}},
                     "upgradePolicy": {"type": "Teleport"}},
            "status": {"phase": "Hovering", "conditions": [{"type": "Ready", "status": "True", "reason": "PodReady", "extraCond": 1}],
                       "sandboxIp": "10.0.0.1", "newStatus": "y"},
            "topLevelNew": 3
        });
        let sandbox: Sandbox = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(sandbox.phase(), Some(&SandboxPhase::Other("Hovering".into())));
        assert!(sandbox.condition("Ready").unwrap().is("Ready", "True"));
        assert_eq!(
            sandbox.spec.persistent_contents[1],
            PersistentContent::Other("gpu".into())
        );
        assert_eq!(serde_json::to_value(&sandbox).unwrap(), wire);
    }

    #[test]
    fn sandbox_set_availability() {
        let mut set = SandboxSet::from_template_ref("p", "t", 2);
        assert!(!set.is_available());
        set.metadata.generation = Some(2);
        set.status = Some(SandboxSetStatus {
            observed_generation: Some(1),
            available_replicas: 2,
            ..Default::default()
        });
        assert!(!set.is_available(), "stale observedGeneration");
        set.status.as_mut().unwrap().observed_generation = Some(2);
        assert!(set.is_available());
        set.spec.replicas = 3;
        assert!(!set.is_available());
    }

    #[test]
    fn lists_decode_with_and_without_continue() {
        let list: List<Sandbox> = serde_json::from_str(
            r#"{"kind":"SandboxList","metadata":{"resourceVersion":"9","continue":"abc","remainingItemCount":4},"items":[{"metadata":{"name":"a"}}]}"#,
        )
        .unwrap();
        assert_eq!(list.items[0].name(), "a");
        assert_eq!(list.continue_token.as_deref(), Some("abc"));
        assert_eq!(list.remaining_item_count, Some(4));
        let list: List<Sandbox> =
            serde_json::from_str(r#"{"metadata":{"resourceVersion":"9","continue":""},"items":null}"#).unwrap();
        assert!(list.continue_token.is_none() && list.items.is_empty());
    }
}
