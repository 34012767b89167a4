//! Every tool, with valid and invalid input, over both transports: written once, run twice.

use serde_json::{Value, json};

use crate::fixture::{Connection, Fixture, Via};

#[tokio::test(flavor = "multi_thread")]
async fn every_tool_over_stdio() {
    every_tool(Via::Stdio).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_tool_over_http() {
    every_tool(Via::Http).await;
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected a list: {list}"))
        .iter()
        .map(|item| item[key].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn every_tool(via: Via) {
    let fx = Fixture::start();
    let c = Connection::open(fx.admin_server(), via).await;

    // Identity and templates.
    let me = c.ok("current_user", json!({})).await;
    assert!(me.is_object(), "{me}");
    let templates = c.ok("template_list", json!({})).await;
    assert!(
        names(&templates, "name").contains(&"general-coding".to_owned()),
        "{templates}"
    );
    c.ok("template_get", json!({"name": "general-coding"})).await;
    c.err("template_get", json!({"name": "no-such-template"}), "not_found")
        .await;
    c.err("template_get", json!({}), "invalid_arguments").await;

    // Lifecycle.
    let created = c
        .ok("sandbox_create", json!({"template": "general-coding", "name": "mcp-a"}))
        .await;
    assert_eq!(
        created,
        json!({"sandbox_id": "mcp-a", "name": "mcp-a", "namespace": "default"})
    );
    c.err(
        "sandbox_create",
        json!({"template": "general-coding", "name": "Bad_Name"}),
        "invalid_input",
    )
    .await;
    c.err("sandbox_create", json!({"name": "x"}), "invalid_arguments").await;
    c.err(
        "sandbox_create",
        json!({"template": "general-coding", "name": "y", "timeout": "forever"}),
        "invalid_arguments",
    )
    .await;
    c.err(
        "sandbox_create",
        json!({"template": "general-coding", "name": "mcp-a"}),
        "conflict",
    )
    .await;
    let running = c
        .ok("sandbox_wait", json!({"sandbox_id": "mcp-a", "timeout": 60}))
        .await;
    assert_eq!(running["status"], "Running", "{running}");
    assert_eq!(running["sandbox_id"], "mcp-a", "snake_case fields: {running}");
    c.err(
        "sandbox_wait",
        json!({"sandbox_id": "mcp-a", "timeout": 0}),
        "invalid_arguments",
    )
    .await;
    c.err("sandbox_wait", json!({"sandbox_id": "nope", "timeout": 5}), "not_found")
        .await;
    let listed = c.ok("sandbox_list", json!({"status": "Running"})).await;
    assert!(names(&listed, "sandbox_id").contains(&"mcp-a".to_owned()), "{listed}");
    c.err("sandbox_list", json!({"status": "Sleeping"}), "invalid_arguments")
        .await;
    let status = c.ok("sandbox_status", json!({"sandbox_id": "mcp-a"})).await;
    assert_eq!(status["template_ref"], "general-coding", "{status}");
    c.err("sandbox_status", json!({"sandbox_id": "nope"}), "not_found")
        .await;
    c.err(
        "sandbox_status",
        json!({"sandbox_id": "mcp-a", "extra": 1}),
        "invalid_arguments",
    )
    .await;

    // Commands.
    let out = c
        .ok(
            "sandbox_run_command",
            json!({"sandbox_id": "mcp-a", "command": "echo hi; echo oops >&2; exit 3"}),
        )
        .await;
    assert_eq!(
        (
            out["stdout"].as_str(),
            out["stderr"].as_str(),
            out["exit_code"].as_i64()
        ),
        (Some("hi\n"), Some("oops\n"), Some(3)),
        "{out}"
    );
    c.err(
        "sandbox_run_command",
        json!({"sandbox_id": "mcp-a", "command": "  "}),
        "invalid_input",
    )
    .await;
    c.err(
        "sandbox_run_command",
        json!({"sandbox_id": "mcp-a", "command": "true", "timeout": "soon"}),
        "invalid_arguments",
    )
    .await;

    // Files: text and binary, both ways.
    c.ok(
        "file_write",
        json!({"sandbox_id": "mcp-a", "path": "/workspace/src/hello.txt", "content": "héllo\n"}),
    )
    .await;
    let bytes = [0u8, 159, 146, 150, 255];
    let b64 = "AJ+Slv8=";
    c.ok(
        "file_write",
        json!({"sandbox_id": "mcp-a", "path": "/workspace/blob.bin", "content": b64, "encoding": "base64"}),
    )
    .await;
    c.err(
        "file_write",
        json!({"sandbox_id": "mcp-a", "path": "/workspace/x", "content": "%%%", "encoding": "base64"}),
        "invalid_arguments",
    )
    .await;
    c.err(
        "file_write",
        json!({"sandbox_id": "mcp-a", "path": "/workspace/x", "content": "x", "encoding": "latin-1"}),
        "invalid_arguments",
    )
    .await;
    let text = c
        .ok(
            "file_read",
            json!({"sandbox_id": "mcp-a", "path": "/workspace/src/hello.txt"}),
        )
        .await;
    assert_eq!(
        (text["content"].as_str(), text["encoding"].as_str()),
        (Some("héllo\n"), Some("utf-8")),
        "{text}"
    );
    let blob = c
        .ok(
            "file_read",
            json!({"sandbox_id": "mcp-a", "path": "/workspace/blob.bin"}),
        )
        .await;
    assert_eq!(
        (
            blob["content"].as_str(),
            blob["encoding"].as_str(),
            blob["size"].as_u64()
        ),
        (Some(b64), Some("base64"), Some(bytes.len() as u64)),
        "{blob}"
    );
    c.err(
        "file_read",
        json!({"sandbox_id": "mcp-a", "path": "/workspace/missing.txt"}),
        "not_found",
    )
    .await;
    c.err(
        "file_read",
        json!({"sandbox_id": "mcp-a", "path": "/workspace/../etc/passwd"}),
        "invalid_input",
    )
    .await;
    let entries = c.ok("file_list", json!({"sandbox_id": "mcp-a"})).await;
    let entry_names = names(&entries, "name");
    assert!(
        entry_names.contains(&"blob.bin".to_owned()) && entry_names.contains(&"src".to_owned()),
        "{entries}"
    );
    c.ok("file_list", json!({"sandbox_id": "mcp-a", "path": "/workspace/src"}))
        .await;
    c.err(
        "file_list",
        json!({"sandbox_id": "mcp-a", "path": "/workspace/nowhere"}),
        "not_found",
    )
    .await;

    // Ports.
    c.ok("sandbox_forward_port", json!({"sandbox_id": "mcp-a", "port": 8080}))
        .await;
    let ports = c.ok("sandbox_list_ports", json!({"sandbox_id": "mcp-a"})).await;
    assert_eq!(ports.as_array().map(Vec::len), Some(1), "{ports}");
    c.err(
        "sandbox_forward_port",
        json!({"sandbox_id": "mcp-a", "port": 70000}),
        "invalid_arguments",
    )
    .await;
    c.err(
        "sandbox_forward_port",
        json!({"sandbox_id": "mcp-a", "port": 80, "protocol": "udp"}),
        "invalid_arguments",
    )
    .await;
    c.err("sandbox_list_ports", json!({"sandbox_id": "nope"}), "not_found")
        .await;
    let removed = c
        .ok("sandbox_remove_port", json!({"sandbox_id": "mcp-a", "port": 8080}))
        .await;
    assert_eq!(removed["status"], "removed");
    c.err(
        "sandbox_remove_port",
        json!({"sandbox_id": "mcp-a", "port": 0}),
        "invalid_input",
    )
    .await;

    // Update.
    let updated = c
        .ok(
            "sandbox_update",
            json!({"sandbox_id": "mcp-a", "idle_timeout": "1h", "labels": {"myTeam": "a"}}),
        )
        .await;
    assert!(updated.is_object(), "{updated}");
    c.err(
        "sandbox_update",
        json!({"sandbox_id": "mcp-a", "idle_timeout": "soon"}),
        "invalid_arguments",
    )
    .await;
    c.err(
        "sandbox_update",
        json!({"sandbox_id": "mcp-a", "resources": {"cpu": "1"}}),
        "invalid_arguments",
    )
    .await;

    // Sharing.
    let shared = c
        .ok(
            "sharing_grant",
            json!({"sandbox_id": "mcp-a", "identity": "bob@example.com"}),
        )
        .await;
    assert_eq!(shared["users"][0]["level"], "viewer", "{shared}");
    c.ok(
        "sharing_grant",
        json!({"sandbox_id": "mcp-a", "identity": "devs", "kind": "group", "level": "collaborator"}),
    )
    .await;
    c.err(
        "sharing_grant",
        json!({"sandbox_id": "mcp-a", "identity": "bob@example.com", "level": "owner"}),
        "invalid_arguments",
    )
    .await;
    let sharing = c.ok("sharing_list", json!({"sandbox_id": "mcp-a"})).await;
    assert_eq!(sharing["groups"][0]["identity"], "devs", "{sharing}");
    // The platform answers 403 for sharing calls on a sandbox the caller does not own.
    c.err("sharing_list", json!({"sandbox_id": "nope"}), "authorization")
        .await;
    c.ok(
        "sharing_revoke",
        json!({"sandbox_id": "mcp-a", "identity": "bob@example.com"}),
    )
    .await;
    c.err(
        "sharing_revoke",
        json!({"sandbox_id": "mcp-a", "identity": ""}),
        "invalid_input",
    )
    .await;
    let link = c
        .ok(
            "sharing_create_link",
            json!({"sandbox_id": "mcp-a", "expires_in": "24h", "max_uses": 2}),
        )
        .await;
    assert!(
        !link["token"].as_str().unwrap_or_default().is_empty(),
        "the token is returned: {link}"
    );
    c.err(
        "sharing_create_link",
        json!({"sandbox_id": "mcp-a", "expires_in": "tomorrow"}),
        "invalid_arguments",
    )
    .await;

    // Backups and clones.
    let backup = c.ok("backup_create", json!({"sandbox_id": "mcp-a"})).await;
    let snapshot = backup["name"].as_str().expect("backup name").to_owned();
    let backups = c.ok("backup_list", json!({"sandbox_id": "mcp-a"})).await;
    assert!(names(&backups, "name").contains(&snapshot), "{backups}");
    c.err("backup_list", json!({"sandbox_id": "nope"}), "not_found").await;
    c.err("backup_create", json!({"sandbox_id": "nope"}), "not_found").await;
    let restored = c
        .ok(
            "backup_restore",
            json!({"sandbox_id": "mcp-a", "snapshot_name": snapshot, "name": "mcp-restored"}),
        )
        .await;
    assert_eq!(restored["sandbox_id"], "mcp-restored", "{restored}");
    c.err(
        "backup_restore",
        json!({"sandbox_id": "mcp-a", "snapshot_name": "no-such-backup"}),
        "not_found",
    )
    .await;
    c.ok(
        "backup_delete",
        json!({"sandbox_id": "mcp-a", "snapshot_name": snapshot}),
    )
    .await;
    c.err(
        "backup_delete",
        json!({"sandbox_id": "mcp-a", "snapshot_name": ""}),
        "invalid_input",
    )
    .await;
    let clone = c
        .ok("sandbox_clone", json!({"sandbox_id": "mcp-a", "name": "mcp-clone"}))
        .await;
    assert_eq!(clone["name"], "mcp-clone", "{clone}");
    c.err(
        "sandbox_clone",
        json!({"sandbox_id": "mcp-a", "name": "Not A Name"}),
        "invalid_input",
    )
    .await;

    // Bulk.
    let bulk = c
        .ok("sandbox_create_bulk", json!({"items": [{"template": "general-coding", "name": "mcp-b1"}, {"template": "general-coding", "name": "mcp-b2"}]}))
        .await;
    assert_eq!(names(&bulk, "status"), ["created", "created"], "{bulk}");
    c.err("sandbox_create_bulk", json!({"items": []}), "invalid_input")
        .await;
    c.err(
        "sandbox_create_bulk",
        json!({"items": [{"template": "general-coding", "name": "b", "timeout": "x"}]}),
        "invalid_arguments",
    )
    .await;
    let acted = c
        .ok(
            "sandbox_bulk_action",
            json!({"ids": ["mcp-b1", "mcp-b2", "mcp-restored", "mcp-clone"], "action": "delete"}),
        )
        .await;
    assert_eq!(acted.as_array().map(Vec::len), Some(4), "{acted}");
    c.err(
        "sandbox_bulk_action",
        json!({"ids": ["mcp-b1"], "action": "explode"}),
        "invalid_arguments",
    )
    .await;
    c.err(
        "sandbox_bulk_action",
        json!({"ids": [], "action": "stop"}),
        "invalid_input",
    )
    .await;

    // Governance.
    c.ok("governance_list_policies", json!({})).await;
    let set = c
        .ok(
            "governance_set_policy",
            json!({"namespace": "team-a", "max_sandboxes_per_user": 5, "max_timeout": "24h"}),
        )
        .await;
    assert_eq!(set["max_sandboxes_per_user"], 5, "{set}");
    let got = c.ok("governance_get_policy", json!({"namespace": "team-a"})).await;
    assert_eq!(got["max_timeout"], "24h", "{got}");
    let effective = c
        .ok("governance_effective_policy", json!({"namespace": "team-a"}))
        .await;
    assert!(effective.to_string().contains("max_sandboxes_per_user"), "{effective}");
    c.ok("governance_effective_policy", json!({})).await;
    c.ok("governance_delete_policy", json!({"namespace": "team-a"})).await;
    c.err(
        "governance_set_policy",
        json!({"namespace": "team-a", "max_idle_timeout": "forever"}),
        "invalid_arguments",
    )
    .await;
    c.err("governance_get_policy", json!({"namespace": ""}), "invalid_input")
        .await;
    c.err("governance_delete_policy", json!({}), "invalid_arguments").await;
    c.err(
        "governance_effective_policy",
        json!({"namespace": 7}),
        "invalid_arguments",
    )
    .await;

    // Admin views (as admin here; refused to others in `non_admin_is_refused_typed`).
    c.ok("analytics_usage", json!({})).await;
    c.ok("analytics_costs", json!({})).await;
    let events = c.ok("audit_list_events", json!({})).await;
    assert!(events.as_array().is_some_and(|e| !e.is_empty()), "{events}");
    let all = c.ok("admin_list_sandboxes", json!({})).await;
    assert!(all.to_string().contains("mcp-a"), "{all}");
    c.ok("admin_sharing_overview", json!({})).await;

    // Preferences keep the user's own key names.
    let prefs = json!({"theme": "dark", "myKey": {"innerKey": 1}});
    assert_eq!(c.ok("user_set_preferences", json!({"preferences": prefs})).await, prefs);
    assert_eq!(c.ok("user_get_preferences", json!({})).await, prefs);
    c.err(
        "user_set_preferences",
        json!({"preferences": "dark"}),
        "invalid_arguments",
    )
    .await;

    // API keys: the key is shown once, never listed.
    let key = c
        .ok("apikey_create", json!({"name": "mcp-key", "expires_in": "720h"}))
        .await;
    assert!(key["key"].as_str().unwrap_or_default().starts_with("atk_"), "{key}");
    let scoped = c
        .ok(
            "apikey_create",
            json!({"sandbox_id": "mcp-a", "action_groups": ["run-command", "files:read"]}),
        )
        .await;
    assert_eq!(
        scoped["action_groups"],
        json!(["run-command", "files:read"]),
        "{scoped}"
    );
    let keys = c.ok("apikey_list", json!({})).await;
    assert!(
        names(&keys, "id").contains(&key["id"].as_str().unwrap().to_owned()),
        "{keys}"
    );
    assert!(
        !keys.to_string().contains(key["key"].as_str().unwrap()),
        "a listed key leaks its secret: {keys}"
    );
    c.err(
        "apikey_create",
        json!({"action_groups": ["teleport"]}),
        "invalid_arguments",
    )
    .await;
    c.err("apikey_create", json!({"action_groups": ["stop"]}), "invalid_input")
        .await;
    c.ok("apikey_revoke", json!({"key_id": key["id"]})).await;
    c.err("apikey_revoke", json!({"key_id": ""}), "invalid_input").await;

    // Warm pool and cluster.
    c.ok("warmpool_status", json!({})).await;
    c.ok(
        "warmpool_set_config",
        json!({"pools": [{"template": "general-coding", "desired_count": 0}]}),
    )
    .await;
    c.err(
        "warmpool_set_config",
        json!({"pools": [{"template": "general-coding", "desired_count": 99}]}),
        "invalid_input",
    )
    .await;
    c.err(
        "warmpool_set_config",
        json!({"pools": [{"template": "general-coding"}]}),
        "invalid_arguments",
    )
    .await;
    c.ok("cluster_status", json!({})).await;
    c.ok("cluster_nodes", json!({})).await;
    c.ok("cluster_get_headroom", json!({})).await;
    c.ok(
        "cluster_set_headroom",
        json!({"replicas": 1, "cpu": "500m", "memory": "1Gi"}),
    )
    .await;
    c.err("cluster_set_headroom", json!({"replicas": 99}), "invalid_input")
        .await;
    c.err("cluster_set_headroom", json!({}), "invalid_arguments").await;

    // Webhooks: the secret is shown once.
    let hook = c
        .ok(
            "webhook_create",
            json!({"url": "http://127.0.0.1:9/hook", "event_types": ["sandbox.running"], "sandbox_id": "mcp-a"}),
        )
        .await;
    assert!(!hook["secret"].as_str().unwrap_or_default().is_empty(), "{hook}");
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    let hooks = c.ok("webhook_list", json!({})).await;
    assert!(names(&hooks, "id").contains(&hook_id), "{hooks}");
    assert_eq!(hooks[0]["event_types"], json!(["sandbox.running"]), "{hooks}");
    c.ok("webhook_deliveries", json!({"webhook_id": hook_id})).await;
    c.ok("webhook_delete", json!({"webhook_id": hook_id})).await;
    c.err("webhook_deliveries", json!({"webhook_id": hook_id}), "not_found")
        .await;
    c.err(
        "webhook_create",
        json!({"url": "http://127.0.0.1:9/h", "event_types": ["sandbox.exploded"]}),
        "invalid_arguments",
    )
    .await;
    c.err(
        "webhook_create",
        json!({"url": "ftp://example.com", "event_types": ["sandbox.running"]}),
        "invalid_input",
    )
    .await;
    c.err("webhook_delete", json!({"webhook_id": ""}), "invalid_input")
        .await;

    // Agent mode: configure and invoke with streamed lines.
    c.ok(
        "sandbox_create",
        json!({"template": "agent-python", "name": "mcp-agent"}),
    )
    .await;
    c.ok("sandbox_wait", json!({"sandbox_id": "mcp-agent", "timeout": 60}))
        .await;
    let script = "#!/bin/sh\necho line1\necho line2\ncat\n";
    let configured = c
        .ok(
            "agent_configure",
            json!({"sandbox_id": "mcp-agent",
                   "files": [{"path": "/workspace/agent.sh", "content": script}],
                   "install_command": ["chmod", "+x", "/workspace/agent.sh"],
                   "entrypoint": ["/workspace/agent.sh"]}),
        )
        .await;
    assert_eq!(configured["install_exit_code"], 0, "{configured}");
    c.err("agent_configure", json!({"sandbox_id": "mcp-agent"}), "invalid_input")
        .await;
    c.err(
        "agent_configure",
        json!({"sandbox_id": "mcp-agent", "files": [{"path": "/workspace/a", "content": "!", "encoding": "base64"}]}),
        "invalid_arguments",
    )
    .await;
    let invoked = c
        .ok("agent_invoke", json!({"sandbox_id": "mcp-agent", "input": "hello"}))
        .await;
    assert_eq!(invoked["stdout"], "line1\nline2\nhello", "{invoked}");
    assert_eq!(
        (
            invoked["exit_code"].as_i64(),
            invoked["reason"].as_str(),
            invoked["success"].as_bool()
        ),
        (Some(0), Some("completed"), Some(true))
    );
    let invoked = c
        .ok(
            "agent_invoke",
            json!({"sandbox_id": "mcp-agent", "json": {"a": 1}, "timeout": 30}),
        )
        .await;
    assert!(invoked["stdout"].as_str().unwrap().ends_with(r#"{"a":1}"#), "{invoked}");
    c.err(
        "agent_invoke",
        json!({"sandbox_id": "mcp-agent", "input": "x", "json": {}}),
        "invalid_arguments",
    )
    .await;
    c.err("agent_invoke", json!({"sandbox_id": "nope", "input": "x"}), "not_found")
        .await;
    c.err(
        "agent_cancel",
        json!({"sandbox_id": "mcp-agent", "invoke_id": ""}),
        "invalid_input",
    )
    .await;
    c.err("agent_cancel", json!({"sandbox_id": "mcp-agent"}), "invalid_arguments")
        .await;

    // The end of the loop: stop, resume, terminate.
    assert_eq!(
        c.ok("sandbox_stop", json!({"sandbox_id": "mcp-a"})).await,
        json!({"sandbox_id": "mcp-a", "status": "stopped"})
    );
    c.err("sandbox_stop", json!({"sandbox_id": "nope"}), "not_found").await;
    wait_phase(&c, "mcp-a", "Stopped").await;
    assert_eq!(
        c.ok("sandbox_resume", json!({"sandbox_id": "mcp-a"})).await["status"],
        "resuming"
    );
    c.err("sandbox_resume", json!({"sandbox_id": "nope"}), "not_found")
        .await;
    c.ok("sandbox_wait", json!({"sandbox_id": "mcp-a", "timeout": 60}))
        .await;
    for id in ["mcp-a", "mcp-agent"] {
        assert_eq!(
            c.ok("sandbox_terminate", json!({"sandbox_id": id})).await["status"],
            "terminated"
        );
    }
    c.err("sandbox_terminate", json!({"sandbox_id": "nope"}), "not_found")
        .await;
    c.err("sandbox_terminate", json!({}), "invalid_arguments").await;
}

async fn wait_phase(c: &Connection, id: &str, phase: &str) {
    for _ in 0..100 {
        if c.ok("sandbox_status", json!({"sandbox_id": id})).await["status"] == phase {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{id} never reached {phase}");
}
