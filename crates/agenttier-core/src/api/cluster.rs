//! Warm pools and cluster capacity (wire spec §11.2–§11.3).

use serde::Serialize;

use crate::models::{HeadroomConfig, PoolTarget};
use crate::request::Request;
use crate::{Error, Result};

/// Body of `PUT /warmpool/config`.
#[derive(Serialize)]
struct WarmPoolBody<'a> {
    pools: &'a [PoolTarget],
}

/// `GET /warmpool/status`.
pub fn warm_pool_status() -> Request {
    Request::get("/warmpool/status")
}

/// `PUT /warmpool/config`: replaces the configuration (an empty list clears it); each pool
/// needs a template and 0–10 sandboxes.
pub fn configure_warm_pool(pools: &[PoolTarget]) -> Result<Request> {
    for (i, p) in pools.iter().enumerate() {
        if p.template.is_empty() {
            return Err(Error::invalid_input(format!("pools[{i}]: template must not be empty")));
        }
        if !(0..=10).contains(&p.desired_count) {
            return Err(Error::invalid_input(format!("pools[{i}]: desired count must be 0-10")));
        }
    }
    Request::put("/warmpool/config").json(&WarmPoolBody { pools })
}

/// `GET /cluster/status`.
pub fn status() -> Request {
    Request::get("/cluster/status")
}

/// `GET /cluster/nodes`.
pub fn nodes() -> Request {
    Request::get("/cluster/nodes")
}

/// `GET /cluster/headroom`.
pub fn headroom() -> Request {
    Request::get("/cluster/headroom")
}

/// `PUT /cluster/headroom`.
pub fn set_headroom(config: &HeadroomConfig) -> Result<Request> {
    config.validate()?;
    Request::put("/cluster/headroom").json(config)
}
