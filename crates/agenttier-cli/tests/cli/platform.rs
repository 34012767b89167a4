//! The platform commands of the `agenttier` binary against an in-process router: clone,
//! update, bulk, backups, sharing, API keys, webhooks, policies, audit, analytics and cluster,
//! with their JSON output and the exit code of a refused admin command.

use std::process::Command;

use serde_json::Value;

use super::pty::OnPty;
use super::{BIN, Fixture, output_with_stdin};

#[test]
fn clone_update_backups_share_and_bulk() {
    let fx = Fixture::new();
    fx.json(&["sandbox", "create", "src", "--template", "general-coding", "--wait"]);
    fx.json(&["sandbox", "exec", "src", "--", "sh", "-c", "echo hi > note.txt"]);
    let clone = fx.json(&["sandbox", "clone", "src", "--name", "copy", "--wait"]);
    assert_eq!(clone["sandbox_id"], "copy");
    assert_eq!(clone["status"], "Running");
    let read = fx.json(&["sandbox", "exec", "copy", "--", "cat", "note.txt"]);
    assert_eq!(read["stdout"], "hi\n");
    let pending = fx.json(&["sandbox", "clone", "src"]);
    assert_eq!(pending["clonedFrom"], "src");
    let update = fx.json(&[
        "sandbox",
        "update",
        "src",
        "--idle-timeout",
        "1h",
        "--label",
        "team=a",
        "--cpu",
        "500m",
    ]);
    assert_eq!(update["applied"]["resources"], "on-restart");
    assert_eq!(update["restartRequired"], true);
    let backup = fx.json(&["sandbox", "backups", "create", "src"]);
    let name = backup["name"].as_str().unwrap().to_owned();
    let list = fx.json(&["sandbox", "backups", "list", "src"]);
    assert!(list.as_array().unwrap().iter().any(|b| b["name"] == name.as_str()));
    let restored = fx.json(&["sandbox", "backups", "restore", "src", &name, "--name", "back"]);
    assert_eq!(restored["sandbox_id"], "back");
    let shared = fx.json(&[
        "sandbox",
        "share",
        "grant",
        "src",
        "devs",
        "--group",
        "--level",
        "collaborator",
    ]);
    assert_eq!(shared["groups"][0]["identity"], "devs");
    let link = fx.json(&[
        "sandbox",
        "share",
        "link",
        "src",
        "--expires-in",
        "1h",
        "--max-uses",
        "2",
    ]);
    assert_eq!(link["secret"].as_str().unwrap().len(), 43);
    let bulk = fx.json(&["sandbox", "bulk", "delete", "copy", "back"]);
    assert!(bulk.as_array().unwrap().iter().all(|r| r["status"] == "ok"), "{bulk}");
    let (code, stdout, _) = fx.run_as(
        fx.router.admin_key(),
        &["-o", "json", "sandbox", "bulk", "stop", "nope"],
    );
    let failed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(failed[0]["status"], "error");
    assert_eq!(code, 1, "a failed item fails the command");
}

#[test]
fn keys_webhooks_policies_and_reports() {
    let fx = Fixture::new();
    let key = fx.json(&["api-keys", "create", "--name", "ci"]);
    let secret = key["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("atk_"));
    let (code, stdout, _) = fx.run_as(&secret, &["whoami", "-o", "json"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("\"ci\""), "{stdout}");
    // The minted key is not an admin: admin commands exit 4.
    let (code, _, stderr) = fx.run_as(&secret, &["audit"]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("admin_required"), "{stderr}");
    let keys = fx.json(&["api-keys", "list"]);
    let id = keys.as_array().unwrap().iter().find(|k| k["name"] == "ci").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    fx.json(&["api-keys", "revoke", &id]);
    let (code, _, _) = fx.run_as(&secret, &["whoami"]);
    assert_eq!(code, 3, "revoked keys fail authentication");

    let hook = fx.json(&[
        "webhooks",
        "create",
        "--url",
        "http://127.0.0.1:9/hook",
        "--event",
        "sandbox.running",
    ]);
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    let hooks = fx.json(&["webhooks", "list"]);
    assert_eq!(hooks[0]["id"], hook_id.as_str());
    assert_eq!(fx.json(&["webhooks", "deliveries", &hook_id]), serde_json::json!([]));
    fx.json(&["webhooks", "delete", &hook_id]);

    let file = fx.dir.path().join("policy.json");
    std::fs::write(&file, r#"{"maxSandboxesPerUser": 3}"#).unwrap();
    let set = fx.json(&["policy", "set", "--file", file.to_str().unwrap(), "--namespace", "team"]);
    assert_eq!(set["maxSandboxesPerUser"], 3);
    let effective = fx.json(&["policy", "effective", "--namespace", "team"]);
    assert_eq!(effective["policy"]["maxSandboxesPerUser"], 3);
    let all = fx.json(&["policy", "list"]);
    assert_eq!(all["namespaces"][0]["namespace"], "team");
    fx.json(&["policy", "delete", "team"]);

    let audit = fx.json(&["audit"]);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["eventType"] == "PolicyUpdated")
    );
    let usage = fx.json(&["analytics", "usage"]);
    assert!(usage.get("total_sandboxes").is_some());
    let costs = fx.json(&["analytics", "costs"]);
    assert!(costs.get("per_template").is_some());
    let status = fx.json(&["cluster", "status"]);
    assert_eq!(status["nodes"], 1);
    let nodes = fx.json(&["cluster", "nodes"]);
    assert_eq!(nodes["summary"]["total"], 1);
    fx.json(&["cluster", "headroom"]);
    fx.json(&["cluster", "warm-pool"]);
}

#[test]
fn template_create_update_delete_from_files_and_flags() {
    let fx = Fixture::new();
    let yaml = fx.dir.path().join("t.yaml");
    std::fs::write(
        &yaml,
        "name: from-yaml\ndescription: a YAML template\nspec:\n  mode: agent\n  harness:\n    shell: /bin/sh\n",
    )
    .unwrap();
    let created = fx.json(&["template", "create", "-f", yaml.to_str().unwrap()]);
    assert_eq!(created["name"], "from-yaml");
    assert_eq!(created["description"], "a YAML template");
    assert_eq!(created["spec"]["mode"], "agent");

    // Flags only: a code template with an image.
    let flags = fx.json(&[
        "template",
        "create",
        "by-flags",
        "--mode",
        "code",
        "--image",
        "busybox",
        "--description",
        "d",
    ]);
    assert_eq!(
        flags["spec"],
        serde_json::json!({"mode": "code", "image": {"repository": "busybox"}})
    );
    assert_eq!(flags["image"], "busybox");

    // `template get` output feeds back in, under a new name, in JSON.
    let json_file = fx.dir.path().join("t.json");
    std::fs::write(
        &json_file,
        serde_json::to_string(&fx.json(&["template", "get", "from-yaml"])).unwrap(),
    )
    .unwrap();
    let copy = fx.json(&["template", "create", "copied", "--file", json_file.to_str().unwrap()]);
    assert_eq!(
        (copy["name"].as_str(), copy["spec"]["mode"].as_str()),
        (Some("copied"), Some("agent"))
    );

    // Update with flags edits the current template; with a file it replaces the spec.
    let edited = fx.json(&["template", "update", "from-yaml", "--image", "alpine"]);
    assert_eq!(edited["spec"]["mode"], "agent", "the rest of the spec is kept");
    assert_eq!(edited["spec"]["image"]["repository"], "alpine");
    assert_eq!(edited["resource_version"], "2");
    let replaced = fx.json(&[
        "template",
        "update",
        "from-yaml",
        "-f",
        json_file.to_str().unwrap(),
        "--mode",
        "code",
    ]);
    assert_eq!(replaced["spec"]["mode"], "code");
    assert!(replaced["spec"].get("image").is_none(), "{replaced}");

    let (code, stdout, _) = fx.run_as(fx.router.admin_key(), &["template", "delete", "by-flags"]);
    assert_eq!((code, stdout.trim()), (0, "deleted template by-flags"));
    let (code, _, stderr) = fx.run_as(fx.router.admin_key(), &["template", "get", "by-flags"]);
    assert_eq!(code, 5, "{stderr}");

    // Refusals: not admin (4), a built-in (6), no name (2), a bad file (2).
    let user = fx.router.create_key("user", false, &[]).unwrap();
    let (code, _, stderr) = fx.run_as(&user, &["template", "delete", "copied"]);
    assert_eq!(code, 4, "{stderr}");
    let (code, _, stderr) = fx.run_as(
        fx.router.admin_key(),
        &["template", "update", "general-coding", "--mode", "agent"],
    );
    assert_eq!(code, 6, "{stderr}");
    let (code, _, stderr) = fx.run_as(fx.router.admin_key(), &["template", "create", "--mode", "code"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("template name is needed"), "{stderr}");
    std::fs::write(&yaml, "name: [unclosed").unwrap();
    let (code, _, stderr) = fx.run_as(
        fx.router.admin_key(),
        &["template", "create", "-f", yaml.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("neither JSON nor YAML"), "{stderr}");
}

#[test]
fn status_and_install_log() {
    let fx = Fixture::new();
    let (code, stdout, _) = fx.run_as(fx.router.admin_key(), &["status"]);
    assert_eq!(
        (code, stdout.trim()),
        (0, format!("{}: up and ready", fx.router.url()).as_str())
    );
    let status = fx.json(&["status"]);
    assert_eq!(
        (status["live"].as_bool(), status["ready"].as_bool()),
        (Some(true), Some(true))
    );

    fx.json(&["sandbox", "create", "ag", "--template", "agent-python", "--wait"]);
    let (code, _, stderr) = fx.run_as(fx.router.admin_key(), &["configure", "ag", "--install-log"]);
    assert_eq!(code, 5, "no install ran yet: {stderr}");
    fx.json(&[
        "configure",
        "ag",
        "--install",
        "sh -c 'echo building; echo done'",
        "--entrypoint",
        "cat",
    ]);
    let (code, stdout, _) = fx.run_as(fx.router.admin_key(), &["configure", "ag", "--install-log"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("building\ndone"), "{stdout}");
    let log = fx.json(&["configure", "ag", "--install-log"]);
    assert!(log["log"].as_str().unwrap().contains("building"), "{log}");
    let (code, _, stderr) = fx.run_as(
        fx.router.admin_key(),
        &["configure", "ag", "--install-log", "--install", "true"],
    );
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn preferences_admin_bulk_create_warm_pool_and_headroom() {
    let fx = Fixture::new();
    let admin = fx.router.admin_key().to_owned();
    assert_eq!(fx.json(&["preferences", "get"]), serde_json::json!({}));
    let set = fx.json(&["preferences", "set", r#"{"theme":"dark","n":2}"#]);
    assert_eq!(set, serde_json::json!({"theme": "dark", "n": 2}));
    assert_eq!(fx.json(&["preferences", "get"])["theme"], "dark");
    let (code, _, stderr) = fx.run_as(&admin, &["preferences", "set", "[1]"]);
    assert_eq!(code, 2, "{stderr}");

    let (code, stdout, stderr) = fx.run_as(
        &admin,
        &[
            "sandbox",
            "bulk-create",
            "--template",
            "general-coding",
            "bc-1",
            "bc-2",
            "bc-1",
        ],
    );
    assert_eq!(code, 1, "the repeated name failed: {stdout}{stderr}");
    assert!(stdout.contains("already exists"), "{stdout}");
    let (code, _, stderr) = fx.run_as(
        &admin,
        &["sandbox", "bulk-create", "--template", "general-coding", "Bad_Name"],
    );
    assert_eq!(code, 2, "checked before sending: {stderr}");
    let listed = fx.json(&["admin", "sandboxes", "--status", "Creating"]);
    let all = fx.json(&["admin", "sandboxes"]);
    assert!(
        all.as_array().unwrap().iter().any(|s| s["sandboxId"] == "bc-2"),
        "{all}"
    );
    assert!(
        listed.as_array().unwrap().iter().all(|s| s["status"] == "Creating"),
        "{listed}"
    );
    let (code, _, stderr) = fx.run_as(&admin, &["admin", "sandboxes", "--status", "Sleeping"]);
    assert_eq!(code, 2, "value enums refuse unknown phases: {stderr}");
    assert!(stderr.contains("Running"), "{stderr}");
    assert!(fx.json(&["admin", "sharing"]).is_object());

    let pools = fx.json(&["cluster", "set-warm-pool", "general-coding=2"]);
    assert_eq!(pools["pools"][0]["desiredCount"], 2);
    assert_eq!(
        fx.json(&["cluster", "warm-pool"])["pools"][0]["template"],
        "general-coding"
    );
    let (code, _, stderr) = fx.run_as(&admin, &["cluster", "set-warm-pool", "general-coding=many"]);
    assert_eq!(code, 2, "{stderr}");
    let headroom = fx.json(&[
        "cluster",
        "set-headroom",
        "--replicas",
        "3",
        "--cpu",
        "500m",
        "--memory",
        "1Gi",
    ]);
    assert_eq!(headroom["replicas"], 3);

    let user = fx.router.create_key("plain", false, &[]).unwrap();
    let (code, _, stderr) = fx.run_as(&user, &["admin", "sandboxes"]);
    assert_eq!(code, 4, "{stderr}");
}

#[test]
fn login_from_stdin_logout_and_xdg_config_home() {
    let fx = Fixture::new();
    let xdg = fx.dir.path().join("xdg");
    let run = |args: &[&str], stdin: &str| {
        let mut cmd = Command::new(BIN);
        cmd.env_remove("AGENTTIER_CONFIG")
            .env_remove("AGENTTIER_API_KEY")
            .env_remove("AGENTTIER_TOKEN")
            .env("XDG_CONFIG_HOME", &xdg)
            .env("HOME", fx.dir.path())
            .env("AGENTTIER_API_URL", fx.router.url())
            .args(args);
        let out = output_with_stdin(cmd, stdin.as_bytes());
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    };
    let key = fx.router.admin_key();
    let (code, text) = run(&["login", "--with-api-key"], &format!("{key}\n"));
    assert_eq!(code, 0, "{text}");
    let config = xdg.join("agenttier").join("config.json");
    let saved = std::fs::read_to_string(&config).unwrap();
    assert!(saved.contains(key), "saved under XDG_CONFIG_HOME");
    assert!(!text.contains(key), "the key is never echoed: {text}");
    let (code, text) = run(&["whoami"], "");
    assert_eq!(code, 0, "{text}");

    let (code, text) = run(&["login", "--with-token"], "");
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("no token on stdin"), "{text}");
    let (code, text) = run(&["login", "--with-token"], "not-a-valid-jwt\n");
    assert_eq!(code, 3, "the token is checked: {text}");

    let (code, text) = run(&["logout"], "");
    assert_eq!(
        (code, text.trim()),
        (
            0,
            format!("Removed the saved credentials from {}", config.display()).as_str()
        )
    );
    let saved = std::fs::read_to_string(&config).unwrap();
    assert!(
        !saved.contains("api_key") && !saved.contains("token") && saved.contains("api_url"),
        "{saved}"
    );
    let (code, text) = run(&["whoami"], "");
    assert_eq!(code, 3, "no credentials any more: {text}");
    let (code, text) = run(&["logout"], "");
    assert_eq!((code, text.trim()), (0, "No saved credentials"));
}

#[test]
fn login_on_a_terminal_prompts_for_a_hidden_key_and_argv_secrets_get_a_warning() {
    let fx = Fixture::new();
    let config = fx.dir.path().join("prompted.json");
    let key = fx.router.admin_key().to_owned();
    let mut base = fx.bare();
    base.env("AGENTTIER_CONFIG", &config)
        .env("AGENTTIER_API_URL", fx.router.url());
    let mut pty = OnPty::start(base, &["login"]);
    pty.wait_for("API key (input hidden");
    pty.type_keys(&format!("{key}\r"));
    assert_eq!(pty.wait_exit(), 0, "{:?}", pty.screen());
    assert!(!pty.screen().contains(&key), "the key was echoed: {:?}", pty.screen());
    assert!(pty.screen().contains("Saved config"), "{:?}", pty.screen());
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(saved["api_key"], key.as_str());

    // Enter alone: no key saved, and the login check then fails for want of credentials.
    let empty = fx.dir.path().join("empty.json");
    let mut base = fx.bare();
    base.env("AGENTTIER_CONFIG", &empty)
        .env("AGENTTIER_API_URL", fx.router.url());
    let mut pty = OnPty::start(base, &["login"]);
    pty.wait_for("API key (input hidden");
    pty.type_keys("\r");
    assert_eq!(pty.wait_exit(), 3, "{:?}", pty.screen());
    assert!(!std::fs::read_to_string(&empty).unwrap().contains("api_key"));

    // A secret on argv still works (scripts rely on it), with a warning saying what to use instead.
    let out = fx
        .bare()
        .args(["login", "--api-url", fx.router.url(), &format!("--api-key={key}")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("--with-api-key"),
        "{stderr}"
    );
    assert!(!stderr.contains(&key), "{stderr}");
}

#[test]
fn verbose_logs_requests_without_secrets_and_color_is_chosen() {
    let fx = Fixture::new();
    let key = fx.router.admin_key().to_owned();
    let (code, stdout, stderr) = fx.run_as(&key, &["-v", "template", "list"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("general-coding"));
    assert!(stderr.contains("agenttier.request"), "{stderr}");
    assert!(stderr.contains("http.route=/api/v1/templates"), "{stderr}");
    assert!(stderr.contains("http.response.status_code=200"), "{stderr}");
    assert!(!stderr.contains(&key), "the key never reaches the log");
    let (_, _, quiet) = fx.run_as(&key, &["template", "list"]);
    assert!(quiet.is_empty(), "no log without -v: {quiet}");

    fx.json(&["sandbox", "create", "painted", "--template", "general-coding", "--wait"]);
    let (_, plain, _) = fx.run_as(&key, &["sandbox", "list"]);
    assert!(!plain.contains("\x1b["), "a pipe gets no colour by default");
    let (_, forced, _) = fx.run_as(&key, &["sandbox", "list", "--color", "always"]);
    assert!(forced.contains("\x1b[32mRunning\x1b[0m"), "{forced:?}");
    let out = Command::new(BIN)
        .env("AGENTTIER_CONFIG", fx.dir.path().join("config.json"))
        .env("AGENTTIER_API_URL", fx.router.url())
        .env("AGENTTIER_API_KEY", &key)
        .env("CLICOLOR_FORCE", "1")
        .env_remove("NO_COLOR")
        .args(["sandbox", "list"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\x1b[32m"),
        "CLICOLOR_FORCE colours a pipe"
    );
    let (_, never, _) = fx.run_as(&key, &["sandbox", "list", "--color", "never"]);
    assert!(!never.contains("\x1b["));
}
