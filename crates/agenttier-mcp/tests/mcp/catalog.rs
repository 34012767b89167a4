//! What a client discovers: tools (the platform's names and parameter names, schemas,
//! annotations), resources and their template, prompts. Over both transports.

use std::collections::BTreeSet;

use rmcp::model::{GetPromptRequestParams, ReadResourceRequestParams, ResourceContents};
use serde_json::{Map, Value, json};

use crate::fixture::{Connection, Fixture, Via};

/// The platform's MCP server: every tool and its parameter names.
const PLATFORM_TOOLS: &[(&str, &[&str])] = &[
    (
        "sandbox_create",
        &[
            "template",
            "name",
            "namespace",
            "timeout",
            "idle_timeout",
            "storage_size",
        ],
    ),
    ("sandbox_list", &["namespace", "status"]),
    ("sandbox_status", &["sandbox_id"]),
    ("sandbox_stop", &["sandbox_id"]),
    ("sandbox_resume", &["sandbox_id"]),
    ("sandbox_terminate", &["sandbox_id"]),
    ("sandbox_clone", &["sandbox_id", "name", "snapshot_class"]),
    ("sandbox_run_command", &["sandbox_id", "command", "timeout"]),
    ("sandbox_list_ports", &["sandbox_id"]),
    ("sandbox_forward_port", &["sandbox_id", "port", "protocol"]),
    ("sandbox_remove_port", &["sandbox_id", "port"]),
    (
        "sandbox_update",
        &["sandbox_id", "idle_timeout", "resources", "labels", "annotations"],
    ),
    ("template_list", &[]),
    ("template_get", &["name"]),
    ("current_user", &[]),
    ("file_list", &["sandbox_id", "path"]),
    ("file_read", &["sandbox_id", "path"]),
    ("file_write", &["sandbox_id", "path", "content", "encoding"]),
    ("sharing_list", &["sandbox_id"]),
    ("sharing_grant", &["sandbox_id", "identity", "level", "kind"]),
    ("sharing_revoke", &["sandbox_id", "identity"]),
    (
        "sharing_create_link",
        &["sandbox_id", "level", "expires_in", "max_uses"],
    ),
    ("backup_list", &["sandbox_id"]),
    ("backup_create", &["sandbox_id", "snapshot_class"]),
    ("backup_restore", &["sandbox_id", "snapshot_name", "name"]),
    ("backup_delete", &["sandbox_id", "snapshot_name"]),
    ("governance_list_policies", &[]),
    ("governance_get_policy", &["namespace"]),
    (
        "governance_set_policy",
        &[
            "namespace",
            "max_sandboxes_per_user",
            "max_sandboxes_total",
            "max_cpu",
            "max_memory",
            "max_storage",
            "max_timeout",
            "max_idle_timeout",
            "allowed_templates",
            "max_agent_sandboxes",
        ],
    ),
    ("governance_delete_policy", &["namespace"]),
    ("governance_effective_policy", &["namespace"]),
    ("analytics_usage", &[]),
    ("analytics_costs", &[]),
    ("audit_list_events", &[]),
    ("admin_list_sandboxes", &[]),
    ("admin_sharing_overview", &[]),
    ("user_get_preferences", &[]),
    ("user_set_preferences", &["preferences"]),
    ("apikey_list", &[]),
    ("apikey_create", &["name", "expires_in", "sandbox_id", "action_groups"]),
    ("apikey_revoke", &["key_id"]),
    ("warmpool_status", &[]),
    ("warmpool_set_config", &["pools"]),
    ("cluster_status", &[]),
    ("cluster_nodes", &[]),
    ("cluster_get_headroom", &[]),
    ("cluster_set_headroom", &["replicas", "cpu", "memory"]),
    ("sandbox_create_bulk", &["items"]),
    ("sandbox_bulk_action", &["ids", "action"]),
    ("webhook_create", &["url", "event_types", "sandbox_id", "namespace"]),
    ("webhook_delete", &["webhook_id"]),
    ("webhook_deliveries", &["webhook_id"]),
    ("webhook_list", &[]),
];

/// What we add.
const OUR_TOOLS: &[&str] = &["sandbox_wait", "agent_configure", "agent_invoke", "agent_cancel"];

#[tokio::test(flavor = "multi_thread")]
async fn discovery_over_stdio() {
    discovery(Via::Stdio).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_over_http() {
    discovery(Via::Http).await;
}

fn properties(schema: &Map<String, Value>) -> BTreeSet<String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

async fn discovery(via: Via) {
    let fx = Fixture::start();
    let c = Connection::open(fx.admin_server(), via).await;

    let info = c.client.peer_info().expect("server info after initialize");
    assert_eq!(info.server_info.as_ref().map(|i| i.name.as_str()), Some("agenttier"));
    assert!(
        info.instructions
            .as_deref()
            .unwrap_or_default()
            .contains("sandbox_create")
    );

    let tools = c.client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), PLATFORM_TOOLS.len() + OUR_TOOLS.len());
    assert_eq!(PLATFORM_TOOLS.len(), 53);
    for (name, params) in PLATFORM_TOOLS {
        let tool = tools
            .iter()
            .find(|t| t.name == *name)
            .unwrap_or_else(|| panic!("missing tool {name}"));
        let expected: BTreeSet<String> = params.iter().map(|p| (*p).to_owned()).collect();
        assert_eq!(properties(&tool.input_schema), expected, "parameters of {name}");
    }
    for tool in &tools {
        let name = &tool.name;
        assert!(
            tool.description.as_deref().is_some_and(|d| d.len() > 20),
            "{name} has a description"
        );
        assert_eq!(tool.input_schema.get("type"), Some(&json!("object")), "{name}");
        let a = tool
            .annotations
            .as_ref()
            .unwrap_or_else(|| panic!("{name} has annotations"));
        let read_only = a.read_only_hint.unwrap_or_else(|| panic!("{name}: read_only_hint set"));
        assert!(
            read_only || a.destructive_hint.is_some() && a.idempotent_hint.is_some(),
            "{name}: write hints set"
        );
        assert!(a.open_world_hint.is_some(), "{name}: open_world_hint set");
        if let Some(Value::Object(props)) = tool.input_schema.get("properties") {
            for (param, schema) in props {
                let text = schema.to_string();
                assert!(text.contains("description"), "{name}.{param} has a description: {text}");
            }
        }
    }
    let tool = |name: &str| tools.iter().find(|t| t.name == name).unwrap();
    let read_only = |name: &str| tool(name).annotations.as_ref().unwrap().read_only_hint;
    let destructive = |name: &str| tool(name).annotations.as_ref().unwrap().destructive_hint;
    assert_eq!(read_only("sandbox_status"), Some(true));
    assert_eq!(read_only("file_read"), Some(true));
    assert_eq!(destructive("sandbox_terminate"), Some(true));
    assert_eq!(destructive("sandbox_create"), Some(false));
    let schema = |name: &str| Value::Object((*tool(name).input_schema).clone()).to_string();
    for (name, values) in [
        ("sandbox_list", ["Creating", "Running", "Stopped"].as_slice()),
        ("file_write", &["utf-8", "base64"]),
        ("sandbox_bulk_action", &["stop", "resume", "delete"]),
        ("sharing_grant", &["viewer", "collaborator", "user", "group"]),
        ("webhook_create", &["sandbox.running", "agent.invoke.completed"]),
        ("apikey_create", &["run-command", "files:read"]),
    ] {
        let text = schema(name);
        assert!(
            text.contains("enum") || text.contains("const"),
            "{name} has enums: {text}"
        );
        for v in values {
            assert!(text.contains(&format!("\"{v}\"")), "{name} offers {v}: {text}");
        }
    }
    let required = |name: &str| tool(name).input_schema.get("required").cloned().unwrap_or(json!([]));
    assert_eq!(required("sandbox_run_command"), json!(["sandbox_id", "command"]));

    // Prompts.
    let prompts = c.client.list_prompts(None).await.unwrap().prompts;
    let prompt_names: Vec<_> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(prompt_names, ["sandbox_task", "agent_deploy"]);
    let mut args = Map::new();
    args.insert("task".into(), json!("count the lines of /etc/os-release"));
    let prompt = c
        .client
        .get_prompt(GetPromptRequestParams::new("sandbox_task").with_arguments(args))
        .await
        .unwrap();
    let text = serde_json::to_string(&prompt.messages).unwrap();
    for step in [
        "sandbox_create",
        "sandbox_wait",
        "sandbox_run_command",
        "sandbox_terminate",
        "os-release",
    ] {
        assert!(text.contains(step), "prompt mentions {step}: {text}");
    }
    let missing = c.client.get_prompt(GetPromptRequestParams::new("sandbox_task")).await;
    assert!(missing.is_err(), "a prompt without its required argument is refused");
    assert!(c.client.get_prompt(GetPromptRequestParams::new("nope")).await.is_err());

    // Resources: template, list, read text, binary and directory; refusals.
    let templates = c.client.list_resource_templates(None).await.unwrap().resource_templates;
    assert_eq!(templates[0].uri_template, "agenttier://{sandbox_id}/workspace/{+path}");
    c.ok("sandbox_create", json!({"template": "general-coding", "name": "res"}))
        .await;
    c.ok("sandbox_wait", json!({"sandbox_id": "res"})).await;
    c.ok(
        "file_write",
        json!({"sandbox_id": "res", "path": "/workspace/notes.md", "content": "# hi\n"}),
    )
    .await;
    c.ok(
        "file_write",
        json!({"sandbox_id": "res", "path": "/workspace/img.png", "content": "iVBORw0KGgo=", "encoding": "base64"}),
    )
    .await;
    c.ok(
        "file_write",
        json!({"sandbox_id": "res", "path": "/workspace/sub/a.txt", "content": "a"}),
    )
    .await;
    let listed = c.client.list_resources(None).await.unwrap().resources;
    let uris: Vec<_> = listed.iter().map(|r| r.uri.as_str()).collect();
    for uri in [
        "agenttier://res/workspace/",
        "agenttier://res/workspace/notes.md",
        "agenttier://res/workspace/sub/",
    ] {
        assert!(uris.contains(&uri), "{uri} listed: {uris:?}");
    }
    let notes = listed.iter().find(|r| r.uri.ends_with("notes.md")).unwrap();
    assert_eq!(notes.mime_type.as_deref(), Some("text/markdown"));
    let read = |uri: &str| {
        let client = &c.client;
        let uri = uri.to_owned();
        async move { client.read_resource(ReadResourceRequestParams::new(uri)).await }
    };
    match &read("agenttier://res/workspace/notes.md").await.unwrap().contents[0] {
        ResourceContents::TextResourceContents { text, mime_type, .. } => {
            assert_eq!((text.as_str(), mime_type.as_deref()), ("# hi\n", Some("text/markdown")));
        }
        other => panic!("text expected: {other:?}"),
    }
    match &read("agenttier://res/workspace/img.png").await.unwrap().contents[0] {
        ResourceContents::BlobResourceContents { blob, mime_type, .. } => {
            assert_eq!(
                (blob.as_str(), mime_type.as_deref()),
                ("iVBORw0KGgo=", Some("image/png"))
            );
        }
        other => panic!("blob expected: {other:?}"),
    }
    match &read("agenttier://res/workspace/sub/").await.unwrap().contents[0] {
        ResourceContents::TextResourceContents { text, .. } => assert!(text.contains("a.txt"), "{text}"),
        other => panic!("listing expected: {other:?}"),
    }
    for bad in [
        "agenttier://res/workspace/missing.txt",
        "agenttier://res/etc/passwd",
        "file:///etc/passwd",
    ] {
        assert!(read(bad).await.is_err(), "{bad} is refused");
    }
}
