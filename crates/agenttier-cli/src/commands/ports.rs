//! `agenttier sandbox ports list | forward | remove`

use agenttier::blocking::Client;

use super::CmdResult;
use crate::cli::PortsCommand;
use crate::exit::OK;
use crate::output::Out;
use crate::views::{Action, Port};

/// Runs a ports command.
pub fn run(cmd: PortsCommand, client: &Client, out: &mut Out) -> CmdResult {
    match cmd {
        PortsCommand::List { sandbox_id } => {
            let ports = client.sandbox(&sandbox_id).list_ports()?;
            if out.json() {
                let views: Vec<_> = ports.iter().map(Port::from).collect();
                out.print_json(&views)?;
            } else {
                let rows: Vec<Vec<String>> = ports
                    .iter()
                    .map(|p| {
                        let url = p
                            .preview_url
                            .as_deref()
                            .or(p.internal_url.as_deref())
                            .unwrap_or_default();
                        let protocol = if p.protocol.is_empty() { "http" } else { &p.protocol };
                        vec![p.port.to_string(), protocol.to_owned(), url.to_owned()]
                    })
                    .collect();
                out.table(&["PORT", "PROTOCOL", "URL"], &rows, |_, _, c| c.to_owned())?;
            }
        }
        PortsCommand::Forward {
            sandbox_id,
            port,
            protocol,
        } => {
            let fwd = client
                .sandbox(&sandbox_id)
                .forward_port_with_protocol(port, protocol.as_str())?;
            if out.json() {
                out.print_json(&Port::from(&fwd))?;
            } else {
                let target = fwd
                    .preview_url
                    .as_deref()
                    .or(fwd.internal_url.as_deref())
                    .unwrap_or("(no URL)");
                out.line(&format!("forwarded port {} → {target}", fwd.port))?;
            }
        }
        PortsCommand::Remove { sandbox_id, port } => {
            client.sandbox(&sandbox_id).remove_port(port)?;
            if out.json() {
                out.print_json(&Action {
                    sandbox_id: &sandbox_id,
                    action: "port_removed",
                    port: Some(port),
                })?;
            } else {
                out.line(&format!("removed forward for port {port}"))?;
            }
        }
    }
    Ok(OK)
}
