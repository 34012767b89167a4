//! `cluster ...`: capacity, the warm pool and headroom. Reports are JSON.

use agenttier::blocking::Client;
use agenttier::models::{HeadroomConfig, PoolTarget};

use super::CmdResult;
use crate::cli::ClusterCommand;
use crate::exit::{Failure, OK};
use crate::output::Out;

/// `cluster ...`
pub fn cluster(cmd: ClusterCommand, client: &Client, out: &mut Out) -> CmdResult {
    match cmd {
        ClusterCommand::Status => out.print_json(&client.cluster().status()?)?,
        ClusterCommand::Nodes => out.print_json(&client.cluster().nodes()?)?,
        ClusterCommand::Headroom => out.print_json(&client.cluster().headroom()?)?,
        ClusterCommand::WarmPool => out.print_json(&client.warm_pool().status()?)?,
        ClusterCommand::SetWarmPool { pools } => return set_warm_pool(client, out, &pools),
        ClusterCommand::SetHeadroom { replicas, cpu, memory } => {
            return set_headroom(client, out, replicas, cpu.zip(memory));
        }
    }
    Ok(OK)
}

/// `cluster set-warm-pool TEMPLATE=COUNT...`
pub fn set_warm_pool(client: &Client, out: &mut Out, pools: &[(String, String)]) -> CmdResult {
    let mut targets = Vec::new();
    for (template, count) in pools {
        let count: i64 = count
            .parse()
            .map_err(|_| Failure::config(format!("{template}={count}: the count must be a whole number (0-10)")))?;
        targets.push(PoolTarget::new(template, count));
    }
    out.print_json(&client.warm_pool().configure(&targets)?)?;
    Ok(OK)
}

/// `cluster set-headroom --replicas N [--cpu C --memory M]`
pub fn set_headroom(client: &Client, out: &mut Out, replicas: i64, size: Option<(String, String)>) -> CmdResult {
    let mut config = HeadroomConfig::new(replicas);
    if let Some((cpu, memory)) = size {
        config = config.size(cpu, memory);
    }
    out.print_json(&client.cluster().set_headroom(&config)?)?;
    Ok(OK)
}
