//! Warm pool and cluster capacity (wire spec §11.2–§11.3): `client.warm_pool()`,
//! `client.cluster()`.

use agenttier_core::Result;
use agenttier_core::api::cluster;
use agenttier_core::models::{
    ClusterNodes, ClusterStatus, Headroom, HeadroomConfig, PoolTarget, WarmPoolConfig, WarmPoolStatus,
};

use super::{Client, exchange};
use crate::maybe;

/// Warm pools of pre-started sandboxes.
#[derive(Clone, Debug)]
pub struct WarmPools {
    client: Client,
}

/// Cluster capacity.
#[derive(Clone, Debug)]
pub struct Cluster {
    client: Client,
}

impl Client {
    /// Warm pools.
    pub fn warm_pool(&self) -> WarmPools {
        WarmPools { client: self.clone() }
    }

    /// Cluster capacity.
    pub fn cluster(&self) -> Cluster {
        Cluster { client: self.clone() }
    }
}

#[maybe]
impl WarmPools {
    /// The pools and their readiness.
    pub async fn status(&self) -> Result<WarmPoolStatus> {
        exchange::json(&self.client.transport, &cluster::warm_pool_status(), "get warm pool").await
    }

    /// Replaces the configuration (admin); an empty list clears it.
    pub async fn configure(&self, pools: &[PoolTarget]) -> Result<WarmPoolConfig> {
        let req = cluster::configure_warm_pool(pools)?;
        exchange::json(&self.client.transport, &req, "configure warm pool").await
    }
}

#[maybe]
impl Cluster {
    /// Node, pod and headroom counts.
    pub async fn status(&self) -> Result<ClusterStatus> {
        exchange::json(&self.client.transport, &cluster::status(), "get cluster status").await
    }

    /// Each node's capacity and requests (admin).
    pub async fn nodes(&self) -> Result<ClusterNodes> {
        exchange::json(&self.client.transport, &cluster::nodes(), "get cluster nodes").await
    }

    /// The headroom configuration.
    pub async fn headroom(&self) -> Result<Headroom> {
        exchange::json(&self.client.transport, &cluster::headroom(), "get headroom").await
    }

    /// Changes the headroom (admin).
    pub async fn set_headroom(&self, config: &HeadroomConfig) -> Result<Headroom> {
        let req = cluster::set_headroom(config)?;
        exchange::json(&self.client.transport, &req, "set headroom").await
    }
}
