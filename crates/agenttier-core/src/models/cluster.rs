//! Warm pool and cluster capacity (wire spec §11.2–§11.3).

use serde::{Deserialize, Serialize};

use super::{nullable, nullable_list};
use crate::{Error, Result};

/// One warm pool: pre-started sandboxes of a template.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct WarmPool {
    /// The template.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub template: String,
    /// How many should be ready.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub desired_count: i64,
    /// How many are ready.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub ready_count: i64,
    /// How many are starting.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub pending_count: i64,
}

/// `GET /warmpool/status`: the pools, plus the legacy single-pool fields the Router fills when
/// exactly one pool is configured.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct WarmPoolStatus {
    /// Every configured pool (empty when none).
    #[serde(deserialize_with = "nullable_list::deserialize")]
    pub pools: Vec<WarmPool>,
    /// Legacy: the only pool's template.
    pub template: Option<String>,
    /// Legacy: the only pool's desired count.
    pub desired_count: Option<i64>,
    /// Legacy: the only pool's ready count.
    pub ready_count: Option<i64>,
    /// Legacy: the only pool's pending count.
    pub pending_count: Option<i64>,
}

/// One pool of a warm-pool configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PoolTarget {
    /// The template.
    pub template: String,
    /// How many to keep ready (0–10).
    pub desired_count: i64,
}

impl PoolTarget {
    /// `desired_count` ready sandboxes of `template`.
    pub fn new(template: impl Into<String>, desired_count: i64) -> Self {
        PoolTarget {
            template: template.into(),
            desired_count,
        }
    }
}

/// The answer of `PUT /warmpool/config`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct WarmPoolConfig {
    /// `updated`.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub status: String,
    /// The configuration now in force.
    #[serde(deserialize_with = "nullable_list::deserialize")]
    pub pools: Vec<PoolTarget>,
}

/// `GET /cluster/status`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ClusterStatus {
    /// Nodes.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub nodes: i64,
    /// Ready nodes.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub nodes_ready: i64,
    /// Pods.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub pods: i64,
    /// Sandbox pods.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub sandbox_pods: i64,
    /// Ready headroom placeholders.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub headroom_ready: i64,
    /// Whether a cluster autoscaler runs.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub autoscaler_enabled: bool,
}

/// CPU and memory of a node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct NodeResources {
    /// Millicores.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub cpu_millis: i64,
    /// Bytes.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub mem_bytes: i64,
}

/// One node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Node {
    /// Node name.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub name: String,
    /// Ready.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub ready: bool,
    /// Instance type, when known.
    pub instance_type: Option<String>,
    /// Node group, when known.
    pub node_group: Option<String>,
    /// What pods may use.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub allocatable: NodeResources,
    /// What pods request.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub requests: NodeResources,
}

/// Totals over the nodes.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct NodeSummary {
    /// Ready nodes.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub ready: i64,
    /// All nodes.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub total: i64,
    /// Requested CPU over allocatable, percent.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub cpu_saturation_pct: f64,
    /// Requested memory over allocatable, percent.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub mem_saturation_pct: f64,
    /// Allocatable in total.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub allocatable: NodeResources,
    /// Requested in total.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub requests: NodeResources,
}

/// `GET /cluster/nodes` (admin).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ClusterNodes {
    /// Each node.
    #[serde(deserialize_with = "nullable_list::deserialize")]
    pub nodes: Vec<Node>,
    /// Totals.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub summary: NodeSummary,
}

/// Spare capacity kept warm for new sandboxes (`GET`/`PUT /cluster/headroom`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Headroom {
    /// Placeholder replicas wanted.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub replicas: i64,
    /// CPU of each (quantity).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub cpu: String,
    /// Memory of each (quantity).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub memory: String,
    /// Placeholders ready, when reported.
    pub ready_replicas: Option<i64>,
    /// Whether headroom is deployed at all.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub enabled: bool,
}

/// Body of `PUT /cluster/headroom`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HeadroomConfig {
    /// Placeholder replicas (0–50).
    pub replicas: i64,
    /// CPU of each (quantity), unchanged when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Memory of each (quantity), unchanged when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

impl HeadroomConfig {
    /// `replicas` placeholders of the current size.
    pub fn new(replicas: i64) -> Self {
        HeadroomConfig {
            replicas,
            cpu: None,
            memory: None,
        }
    }

    /// Size of each placeholder.
    pub fn size(mut self, cpu: impl Into<String>, memory: impl Into<String>) -> Self {
        self.cpu = Some(cpu.into());
        self.memory = Some(memory.into());
        self
    }

    /// Refuses replicas outside 0–50.
    pub fn validate(&self) -> Result<()> {
        if (0..=50).contains(&self.replicas) {
            Ok(())
        } else {
            Err(Error::invalid_input("headroom replicas must be 0-50"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_bodies_decode() {
        let w: WarmPoolStatus = serde_json::from_str(
            r#"{"pools":[{"template":"t","desiredCount":2,"readyCount":1,"pendingCount":1}],"template":"t","desiredCount":2,"readyCount":1,"pendingCount":1}"#,
        )
        .unwrap();
        assert_eq!(w.pools[0].ready_count, 1);
        assert_eq!(
            serde_json::from_str::<WarmPoolStatus>("{}").unwrap(),
            WarmPoolStatus::default()
        );
        let n: ClusterNodes = serde_json::from_str(
            r#"{"nodes":[{"name":"n1","ready":true,"instanceType":"m5.large","allocatable":{"cpuMillis":2000,"memBytes":8},"requests":{"cpuMillis":500,"memBytes":4}}],"summary":{"ready":1,"total":1,"cpuSaturationPct":25.0,"memSaturationPct":50.0,"allocatable":{"cpuMillis":2000,"memBytes":8},"requests":{"cpuMillis":500,"memBytes":4}}}"#,
        )
        .unwrap();
        assert_eq!(n.nodes[0].instance_type.as_deref(), Some("m5.large"));
        assert!((n.summary.cpu_saturation_pct - 25.0).abs() < 1e-9);
        let h: Headroom = serde_json::from_str(r#"{"replicas":0,"cpu":"","memory":"","enabled":false}"#).unwrap();
        assert!(h.ready_replicas.is_none());
    }

    #[test]
    fn validation() {
        assert!(HeadroomConfig::new(51).validate().is_err());
        assert!(HeadroomConfig::new(3).size("500m", "1Gi").validate().is_ok());
    }
}
