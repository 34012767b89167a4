//! Who may do what: every tool under rejected credentials, admin tools as a plain user, an
//! unreachable Router, and the HTTP transport's defences (token, Host check), each performed.

use agenttier::{Client, Secret};
use agenttier_mcp::{AgentTierServer, HttpAccess};
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Map, Value, json};

use crate::fixture::{Connection, Fixture, Recorder, Via, start_http};

/// A value for a schema: enough for the tool to reach the Router.
fn sample(name: &str, schema: &Value, defs: &Value) -> Value {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let def = reference.rsplit('/').next().unwrap_or_default();
        return sample(name, &defs[def], defs);
    }
    if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
        return first.clone();
    }
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let option = options.iter().find(|o| o.get("type") != Some(&json!("null"))).unwrap();
            return sample(name, option, defs);
        }
    }
    match schema.get("type").and_then(Value::as_str).unwrap_or("object") {
        "string" if name == "url" => json!("https://hooks.example.com/x"),
        "string" if name == "path" => json!("/workspace/x.txt"),
        "string" => json!("x"),
        "integer" | "number" => json!(1),
        "boolean" => json!(false),
        "array" => json!([sample(name, &schema["items"], defs)]),
        _ => {
            let mut object = Map::new();
            for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                let key = required.as_str().unwrap();
                object.insert(key.to_owned(), sample(key, &schema["properties"][key], defs));
            }
            Value::Object(object)
        }
    }
}

/// Calls every tool with schema-valid arguments; each must fail with `class` (or the override).
async fn every_tool_fails_with(c: &Connection, class: &str, overrides: &[(&str, &str)]) {
    let tools = c.client.list_all_tools().await.unwrap();
    for tool in tools {
        let schema = Value::Object((*tool.input_schema).clone());
        let args = sample("", &schema, schema.get("$defs").unwrap_or(&Value::Null));
        let expected = overrides
            .iter()
            .find(|(name, _)| *name == tool.name)
            .map_or(class, |(_, c)| *c);
        c.err(&tool.name, args, expected).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rejected_credentials_are_typed_tool_errors() {
    let fx = Fixture::start();
    let server = AgentTierServer::new(fx.sdk("atk_not_a_real_key"));
    let c = Connection::open(server, Via::Stdio).await;
    // Configure and update refuse an empty change before asking the Router.
    let local = [
        ("agent_configure", "invalid_input"),
        ("sandbox_update", "invalid_input"),
    ];
    every_tool_fails_with(&c, "authentication", &local).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_router_is_a_typed_tool_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let client = Client::builder()
        .base_url(url)
        .retry(agenttier::RetryPolicy::disabled())
        .build()
        .unwrap();
    let c = Connection::open(AgentTierServer::new(client), Via::Stdio).await;
    let body = c.err("sandbox_list", json!({}), "transport").await;
    assert!(body["hint"].as_str().unwrap().contains("AGENTTIER_API_URL"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_tools_refuse_a_plain_user() {
    let fx = Fixture::start();
    let key = fx.router.create_key("bob", false, &[]).unwrap();
    let c = Connection::open(AgentTierServer::new(fx.sdk(&key)), Via::Http).await;
    c.ok("current_user", json!({})).await;
    for (tool, args) in [
        ("analytics_usage", json!({})),
        ("analytics_costs", json!({})),
        ("audit_list_events", json!({})),
        ("admin_list_sandboxes", json!({})),
        ("admin_sharing_overview", json!({})),
        ("cluster_nodes", json!({})),
        ("cluster_set_headroom", json!({"replicas": 1})),
        ("warmpool_set_config", json!({"pools": []})),
        (
            "governance_set_policy",
            json!({"namespace": "team-a", "max_sandboxes_total": 1}),
        ),
        ("governance_delete_policy", json!({"namespace": "team-a"})),
    ] {
        c.err(tool, args, "authorization").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn http_token_is_required_and_checked() {
    let fx = Fixture::start();
    let access = HttpAccess::new(([127, 0, 0, 1], 0).into()).token(Secret::new("s3cret-token"));
    let (addr, _stop) = start_http(fx.admin_server(), access).await;
    let url = format!("http://{addr}/mcp");
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}});
    let http = reqwest::Client::new();
    let post = |token: Option<&str>| {
        let mut request = http
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(init.to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    for token in [None, Some("wrong"), Some("s3cret-tokenX"), Some("")] {
        let response = post(token).await.unwrap();
        assert_eq!(response.status(), 401, "token {token:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    }
    assert!(post(Some("s3cret-token")).await.unwrap().status().is_success());

    // An MCP client with the token works; without it, it cannot even initialize.
    let config = StreamableHttpClientTransportConfig::with_uri(url.clone()).auth_header("s3cret-token");
    let client = Recorder::default()
        .serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("initializes with the token");
    let me = client
        .call_tool(rmcp::model::CallToolRequestParams::new("current_user"))
        .await
        .unwrap();
    assert_eq!(me.is_error, Some(false));
    let refused = Recorder::default()
        .serve(StreamableHttpClientTransport::from_uri(url))
        .await;
    assert!(refused.is_err(), "a client without the token is refused");
}

#[tokio::test(flavor = "multi_thread")]
async fn http_refuses_foreign_hosts_and_browsers() {
    // A web page that rebinds its DNS name to 127.0.0.1 sends its own name as Host.
    let fx = Fixture::start();
    let (addr, _stop) = start_http(fx.admin_server(), HttpAccess::new(([127, 0, 0, 1], 0).into())).await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}});
    let send = |host: &str| {
        reqwest::Client::new()
            .post(format!("http://{addr}/mcp"))
            .header("host", host)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(init.to_string())
            .send()
    };
    let refused = send("evil.example.com").await.unwrap();
    assert!(
        refused.status().is_client_error(),
        "foreign Host refused: {}",
        refused.status()
    );
    assert!(send(&addr.to_string()).await.unwrap().status().is_success());

    // A page on another site posting to the loopback address directly carries its Origin.
    let from_page = reqwest::Client::new()
        .post(format!("http://{addr}/mcp"))
        .header("origin", "https://evil.example.com")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(init.to_string())
        .send()
        .await
        .unwrap();
    assert!(
        from_page.status().is_client_error(),
        "browser request refused: {}",
        from_page.status()
    );
}
