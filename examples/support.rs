//! What the examples share: find a Router to talk to.
//!
//! With `AGENTTIER_API_URL` set, the examples use that Router and the usual auth chain
//! (`AGENTTIER_API_KEY`, `AGENTTIER_TOKEN`, ...). Without it, they start the local development
//! router in-process, on a free loopback port with a temporary data directory, and use its
//! admin key; it stops (and ends every sandbox process) when the example ends.

use agenttier::ClientConfig;
use agenttier_router::{LocalRouter, RouterOptions};

/// Where the examples send their requests.
pub struct Target {
    /// Client configuration (URL and credentials).
    pub config: ClientConfig,
    /// The in-process router, when one was started; dropping it stops it.
    pub local: Option<LocalRouter>,
}

/// `AGENTTIER_API_URL` when set, else a fresh in-process local router.
pub fn target() -> Result<Target, Box<dyn std::error::Error>> {
    if std::env::var("AGENTTIER_API_URL").is_ok_and(|u| !u.is_empty()) {
        let config = ClientConfig::from_env()?;
        println!("Using the router at {}", config.base_url);
        return Ok(Target { config, local: None });
    }
    let local = LocalRouter::start(RouterOptions::default())?;
    println!(
        "AGENTTIER_API_URL is not set: started the local router at {}",
        local.url()
    );
    let mut config = ClientConfig::new(local.url());
    config.auth = agenttier::Auth::api_key(local.admin_key())?;
    Ok(Target {
        config,
        local: Some(local),
    })
}
