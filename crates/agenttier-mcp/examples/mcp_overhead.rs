//! Benchmark: what the MCP layer adds to one tool call, over the stdio codec and over
//! Streamable HTTP, against the same SDK call made directly. Prints a table; not a test.
//!
//! ```sh
//! cargo run --release -p agenttier-mcp --example mcp_overhead            # 2000 calls per path
//! cargo run --release -p agenttier-mcp --example mcp_overhead -- 200     # quick
//! ```
//!
//! One local router in process, one sandbox; every round calls `sandbox_status` once per path
//! (direct SDK, MCP over an in-process pipe with the stdio transport's codec, MCP over HTTP on
//! loopback), so the three paths see the same machine load. Figures are per call, in µs.

use std::time::{Duration, Instant};

use agenttier::Client;
use agenttier::models::CreateSandbox;
use agenttier_mcp::{AgentTierServer, HttpAccess, serve_http};
use agenttier_router::{LocalRouter, RouterOptions};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};

type McpClient = RunningService<RoleClient, ()>;

async fn call(client: &McpClient, args: &serde_json::Map<String, serde_json::Value>) {
    let result = client
        .call_tool(CallToolRequestParams::new("sandbox_status").with_arguments(args.clone()))
        .await
        .expect("tool call");
    assert_eq!(result.is_error, Some(false));
}

fn stats(name: &str, samples: &mut [Duration], base: Option<f64>) -> f64 {
    samples.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let median = us(samples[samples.len() / 2]);
    let p99 = us(samples[samples.len() * 99 / 100]);
    let mean = samples.iter().map(|d| us(*d)).sum::<f64>() / samples.len() as f64;
    let added = base.map_or(String::from("—"), |b| format!("{:+.0}", median - b));
    println!(
        "| {name} | {} | {median:.0} | {p99:.0} | {mean:.0} | {added} |",
        samples.len()
    );
    median
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // rmcp's HTTP client is a reqwest client built outside the SDK: it needs the process-wide
    // crypto provider (ring, the SDK's) installed first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rounds: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(2000);
    let router = LocalRouter::start(RouterOptions::default()).expect("router starts");
    let sdk = Client::builder()
        .base_url(router.url())
        .api_key(router.admin_key())
        .unwrap()
        .build()
        .unwrap();
    let sandbox = sdk
        .create_sandbox(CreateSandbox::new("general-coding", "bench"))
        .await
        .unwrap();
    sandbox.wait_until_running(Duration::from_secs(60)).await.unwrap();

    let (server_end, client_end) = tokio::io::duplex(1 << 20);
    let server = AgentTierServer::new(sdk.clone());
    let stdio_server = server.clone();
    tokio::spawn(async move {
        let running = stdio_server.serve(server_end).await.unwrap();
        let _ = running.waiting().await;
    });
    let stdio: McpClient = ().serve(client_end).await.unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        serve_http(server, listener, &HttpAccess::new(addr), std::future::pending())
            .await
            .unwrap();
    });
    let http: McpClient =
        ().serve(StreamableHttpClientTransport::from_uri(format!("http://{addr}/mcp")))
            .await
            .unwrap();

    let mut args = serde_json::Map::new();
    args.insert("sandbox_id".into(), "bench".into());
    let (mut direct, mut over_stdio, mut over_http) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds + 50 {
        let t = Instant::now();
        sdk.sandbox_info("bench").await.unwrap();
        let d = t.elapsed();
        let t = Instant::now();
        call(&stdio, &args).await;
        let s = t.elapsed();
        let t = Instant::now();
        call(&http, &args).await;
        let h = t.elapsed();
        if round >= 50 {
            // The first rounds warm connections and caches up.
            direct.push(d);
            over_stdio.push(s);
            over_http.push(h);
        }
    }
    println!("| path | calls | median µs | p99 µs | mean µs | added (median) µs |");
    println!("|---|---:|---:|---:|---:|---:|");
    let base = stats("direct SDK `sandbox_info`", &mut direct, None);
    stats("MCP `sandbox_status`, stdio codec", &mut over_stdio, Some(base));
    stats("MCP `sandbox_status`, Streamable HTTP", &mut over_http, Some(base));
    sandbox.terminate().await.unwrap();
}
