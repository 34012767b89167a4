//! Quick start: create a sandbox, wait for it, run a command, forward a port, terminate it.
//!
//! ```text
//! cargo run --example quickstart                    # against an in-process local router
//! AGENTTIER_API_URL=http://127.0.0.1:8080 AGENTTIER_API_KEY=atk_... cargo run --example quickstart
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agenttier::blocking::Client;
use agenttier::models::CreateSandbox;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = agenttier_examples::target()?;
    let client = Client::from_config(target.config)?;

    let me = client.current_user()?;
    println!("Signed in as {} ({})", me.name, me.email);

    let suffix = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() % 100_000;
    let sandbox = client.create_sandbox(CreateSandbox::new("general-coding", format!("quickstart-{suffix}")))?;
    println!("Created sandbox {}; waiting for it to run...", sandbox.id());
    let info = sandbox.wait_until_running(Duration::from_secs(120))?;
    println!(
        "Sandbox {} is {} (template {})",
        info.id(),
        info.phase,
        info.template_ref
    );

    let result = (|| -> agenttier::Result<()> {
        let out = sandbox.exec("echo \"hello from $(hostname)\" && uname -sm && ls -a /workspace")?;
        println!("exec exited with {}:\n{}", out.exit_code, out.stdout.trim_end());

        let port = sandbox.forward_port(8000)?;
        println!(
            "Port {} forwarded: preview {}, internal {}",
            port.port,
            port.preview_url.as_deref().unwrap_or("-"),
            port.internal_url.as_deref().unwrap_or("-")
        );
        println!(
            "Forwarded ports: {:?}",
            sandbox.list_ports()?.iter().map(|p| p.port).collect::<Vec<_>>()
        );
        sandbox.remove_port(8000)
    })();

    sandbox.terminate()?;
    println!("Terminated {}", sandbox.id());
    result?;
    Ok(())
}
