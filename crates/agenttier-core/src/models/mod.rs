//! Typed models of the Router's JSON bodies.
//!
//! Rust fields are snake_case, the wire is camelCase. Decoding is lenient the way a long-lived
//! client must be: unknown fields are ignored, unknown enum values become an `Unknown` variant,
//! `null` is accepted wherever a list is expected, and timestamps in either of the Router's
//! formats become real [`time::OffsetDateTime`] values.

mod account;
mod agent;
mod backup;
mod bulk;
mod clone;
mod cluster;
mod exec;
mod files;
mod governance;
mod health;
mod install_log;
mod policy;
mod port;
mod sandbox;
mod sharing;
mod template;
mod update;
mod user;
mod webhook;

pub use agent::{
    Configure, ConfigureEvent, ConfigureFile, ConfigureResult, ExitReason, Invoke, InvokeCollector, InvokeEvent,
    InvokeExit, InvokeResult, LogStream, fold_configure,
};
pub use exec::{CommandResult, Exec};
pub use files::{FileEntry, MAX_FILE_BYTES, MAX_PATH_BYTES, RemotePath, WORKSPACE, WriteResult, check_file_size};
pub use health::Health;
pub use install_log::decode_install_log;
pub use policy::Violation;
pub use port::{ForwardPortRequest, ForwardedPort};
pub(crate) use sandbox::check_name;
pub use sandbox::{
    CreateSandbox, CreatedBy, SandboxFilter, SandboxInfo, SandboxMode, SandboxPhase, StorageSpec, TemplateRef,
};
pub use template::{Template, TemplateDefinition};
pub use user::CurrentUser;

pub use account::{ActionGroup, ApiKey, ApiKeyCreated, CreateApiKey};
pub use backup::{Backup, BackupKind};
pub use bulk::{BulkAction, BulkActionResult, BulkCreateResult, ItemStatus, QuotaWouldExceed};
pub use clone::{CloneResult, CloneSandbox};
pub use cluster::{
    ClusterNodes, ClusterStatus, Headroom, HeadroomConfig, Node, NodeResources, NodeSummary, PoolTarget, WarmPool,
    WarmPoolConfig, WarmPoolStatus,
};
pub use governance::{
    AdminSandbox, AuditEvent, CostReport, NamespacePolicy, Policies, Policy, TemplateCost, UsageReport,
};
pub use sharing::{CreateShareLink, GrantShare, Share, ShareLevel, ShareLink, ShareLinkCreated, SharingInfo};
pub use update::{Resources, UpdateResult, UpdateSandbox};
pub use webhook::{CreateWebhook, Delivery, Webhook, WebhookCreated, WebhookEvent, WebhookPayload};

/// Serde adapter: `null` (or absence, with `#[serde(default)]`) decodes as an empty list.
pub(crate) mod nullable_list {
    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
    }
}

/// Serde adapter: `null` decodes as the type's default (for strings, numbers and booleans the
/// Router may leave out or null).
pub(crate) mod nullable {
    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + Default,
    {
        Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
    }
}

/// Implements lenient string-enum serde for a type with an `Unknown(String)` variant.
macro_rules! string_enum {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// The value as the Router spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($ty::$variant => $text,)+
                    $ty::Unknown(other) => other,
                }
            }
        }

        impl From<&str> for $ty {
            fn from(s: &str) -> Self {
                match s {
                    $($text => $ty::$variant,)+
                    other => $ty::Unknown(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = Option::<String>::deserialize(d)?.unwrap_or_default();
                Ok($ty::from(raw.as_str()))
            }
        }
    };
}
pub(crate) use string_enum;
