//! Async: run several sandboxes at once from one client (one connection pool).
//!
//! ```text
//! cargo run --example concurrent
//! ```

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use agenttier::Client;
use agenttier::models::CreateSandbox;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = agenttier_examples::target()?;
    let client = Client::from_config(target.config)?;
    let suffix = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() % 100_000;
    let started = Instant::now();

    let mut tasks = Vec::new();
    for i in 0..4 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let sandbox = client
                .create_sandbox(CreateSandbox::new("general-coding", format!("worker-{suffix}-{i}")))
                .await?;
            sandbox.wait_until_running(Duration::from_secs(120)).await?;
            let out = sandbox
                .exec(format!("echo worker {i} on $(hostname): $(( {i} * {i} ))"))
                .await;
            sandbox.terminate().await?;
            out
        }));
    }
    for task in tasks {
        let out = task.await??;
        print!("{}", out.stdout);
    }
    println!("4 sandboxes created, used and terminated in {:.2?}", started.elapsed());
    Ok(())
}
