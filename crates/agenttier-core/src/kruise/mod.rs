//! The Kubernetes REST layer for the OpenKruise agents custom resources `Sandbox` and
//! `SandboxSet` (group `agents.kruise.io`, version `v1alpha1`), behind the `kruise` feature.
//!
//! Like the rest of this crate it does no network I/O: it builds [`Request`](crate::request::Request)
//! descriptors, decodes answers, splits watch streams into events and decides what a watch or a
//! wait does next. The blocking and async crates send the requests over their own transports,
//! from one shared client source, so both flavours behave identically.
//!
//! | module | what it holds |
//! |---|---|
//! | [`resource`] | group/version constants, the [`Resource`] trait, URL paths |
//! | [`params`] | list, watch, delete and patch parameters |
//! | [`request`] | a request descriptor for every operation, `status` and `scale` included |
//! | [`models`] | lenient `Sandbox`, `SandboxSet`, `Scale` models that round-trip unknown fields |
//! | [`status`] | `metav1.Status` and its mapping to [`Error::Kubernetes`](crate::Error::Kubernetes) |
//! | [`watch`] | the watch-stream decoder and the reconnect/relist state machine |
//! | [`wait`] | the wait state machine and its predicates |
//! | [`config`] | kubeconfig loading and merging, in-cluster configuration |
//! | [`exec`] | credentials: token, token file, basic, exec plugins (`client.authentication.k8s.io`) |
//!
//! Differences from the Python client (`agents_api_client`), on purpose:
//! * configuration is looked up kubeconfig first (`KUBECONFIG`, then `~/.kube/config`), then
//!   in-cluster, as kube-rs and client-go do; Python tries in-cluster first;
//! * every operation maps errors, not only `get`;
//! * waits have a real deadline, even when the object is quiet;
//! * watches reconnect from the last seen `resourceVersion` and relist after `410 Gone`;
//! * `scale` goes through the `/scale` subresource (RBAC rule `sandboxsets/scale`), where Python
//!   patches the main resource.
//!
//! The models follow the Go types of openkruise/agents at commit `0b72c83a`; re-diff on upgrades.

pub mod config;
pub mod exec;
#[cfg(feature = "kube")]
#[cfg_attr(docsrs, doc(cfg(feature = "kube")))]
pub mod kube;
pub mod models;
pub mod params;
pub mod request;
pub mod resource;
pub mod status;
pub mod wait;
pub mod watch;

pub use crate::auth::{Secret, TokenFile};
pub use config::{ClusterConfig, Kubeconfig};
pub use exec::KubeAuth;
pub use models::{
    Condition, ConditionStatus, List, ObjectMeta, Sandbox, SandboxPhase, SandboxSet, SandboxSetSpec, SandboxSetStatus,
    SandboxSpec, SandboxStatus, Scale,
};
pub use params::{DeleteParams, ListParams, PatchBody, PropagationPolicy, WatchParams};
pub use resource::Resource;
pub use status::{DeleteOutcome, KubeErrorKind, KubeStatus, StatusReason};
pub use wait::{Goal, WaitState};
pub use watch::{WatchDecoder, WatchEvent, WatchState, WatchStep};

/// Condition types: the Python client's generic names and the ones the Sandbox controller sets.
///
/// The SandboxSet controller sets no condition at all (checked at openkruise/agents `0b72c83a`);
/// wait for a SandboxSet with `wait_for_available` instead.
pub mod conditions {
    /// `Ready` (Sandbox: the pod is ready).
    pub const READY: &str = "Ready";
    /// `Available` (a generic name of the Python client; nothing in Kruise sets it).
    pub const AVAILABLE: &str = "Available";
    /// `Progressing` (a generic name of the Python client; nothing in Kruise sets it).
    pub const PROGRESSING: &str = "Progressing";
    /// `Degraded` (a generic name of the Python client; nothing in Kruise sets it).
    pub const DEGRADED: &str = "Degraded";
    /// `SandboxPaused`.
    pub const SANDBOX_PAUSED: &str = "SandboxPaused";
    /// `SandboxResumed`.
    pub const SANDBOX_RESUMED: &str = "SandboxResumed";
    /// `InplaceUpdate`.
    pub const INPLACE_UPDATE: &str = "InplaceUpdate";
    /// `Upgrading`.
    pub const UPGRADING: &str = "Upgrading";
    /// `RuntimeInitialized`.
    pub const RUNTIME_INITIALIZED: &str = "RuntimeInitialized";
    /// `Recycling`.
    pub const RECYCLING: &str = "Recycling";
}

/// Labels the Kruise controllers read and write (prefix `agents.kruise.io/`).
pub mod labels {
    /// `"true"` once a sandbox has been claimed out of its set.
    pub const SANDBOX_CLAIMED: &str = "agents.kruise.io/sandbox-claimed";
    /// The template a sandbox was created from.
    pub const SANDBOX_TEMPLATE: &str = "agents.kruise.io/sandbox-template";
    /// The SandboxSet a sandbox belongs to (deprecated upstream, still set).
    pub const SANDBOX_POOL: &str = "agents.kruise.io/sandbox-pool";
    /// The claim that took a sandbox.
    pub const CLAIM_NAME: &str = "agents.kruise.io/claim-name";
    /// Hash of the template a sandbox runs.
    pub const TEMPLATE_HASH: &str = "agents.kruise.io/template-hash";
    /// The finalizer the Sandbox controller adds.
    pub const SANDBOX_FINALIZER: &str = "agents.kruise.io/sandbox";
}
