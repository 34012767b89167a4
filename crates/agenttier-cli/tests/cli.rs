//! The `agenttier` binary against an in-process router: every command in both output modes,
//! the config file round trip and the exit codes. Secrets go through the environment only.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use agenttier_router::{LocalRouter, RouterOptions};
use serde_json::Value;

#[path = "cli/platform.rs"]
mod platform;
#[path = "cli/pty.rs"]
mod pty;
#[path = "cli/shell.rs"]
mod shell;

const BIN: &str = env!("CARGO_BIN_EXE_agenttier");
/// For runs that were given no secret.
const NO_SECRET: &str = "\u{1}no secret";

/// A router plus a private config directory.
struct Fixture {
    router: LocalRouter,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            router: LocalRouter::start(RouterOptions::default()).expect("router starts"),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("cfg").join("config.json")
    }

    /// The CLI with no URL or credentials at all (only a private config path).
    fn bare(&self) -> Command {
        let mut cmd = Command::new(BIN);
        for var in [
            "AGENTTIER_API_URL",
            "AGENTTIER_API_KEY",
            "AGENTTIER_TOKEN",
            "AGENTTIER_CONFIG",
            "NO_COLOR",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("AGENTTIER_CONFIG", self.config_path());
        cmd.env("HOME", self.dir.path());
        cmd
    }

    /// The CLI pointed at the router with the admin key, through the environment.
    fn cmd(&self) -> Command {
        let mut cmd = self.bare();
        cmd.env("AGENTTIER_API_URL", self.router.url());
        cmd.env("AGENTTIER_API_KEY", self.router.admin_key());
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::new(self.cmd().args(args).output().unwrap(), args, self.router.admin_key())
    }

    /// Runs the CLI with `key` instead of the admin key; returns (exit code, stdout, stderr).
    fn run_as(&self, key: &str, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd().env("AGENTTIER_API_KEY", key).args(args).output().unwrap();
        let run = Run::new(out, args, NO_SECRET);
        (run.code.unwrap_or(-1), run.stdout, run.stderr)
    }

    /// A successful run with `-o json` (given first: after `files archive`, `-o` is the
    /// destination, and after `--` it belongs to the remote command).
    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["-o", "json"];
        all.extend_from_slice(args);
        self.run(&all).ok().json()
    }

    /// The raw stdout of a successful run (for binary output).
    fn bytes(&self, args: &[&str]) -> Vec<u8> {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "agenttier {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// A run with `input` on stdin.
    fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        let mut cmd = self.cmd();
        cmd.args(args);
        Run::new(output_with_stdin(cmd, input), args, self.router.admin_key())
    }

    /// Creates a Running sandbox.
    fn sandbox(&self, name: &str) {
        self.run(&["sandbox", "create", name, "--template", "general-coding", "--wait"])
            .ok();
    }
}

/// Runs `cmd` with `input` on stdin, written from a thread (a refusal may come before all of it
/// is read; EPIPE is ignored).
fn output_with_stdin(mut cmd: Command, input: &[u8]) -> Output {
    use std::io::Write as _;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// A finished run of the binary.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    args: String,
}

impl Run {
    fn new(out: Output, args: &[&str], secret: &str) -> Run {
        let run = Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            args: args.join(" "),
        };
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{}: the API key was printed",
            run.args
        );
        assert!(!run.stderr.contains("panicked"), "{}: {}", run.args, run.stderr);
        run
    }

    fn ok(self) -> Run {
        self.code(0)
    }

    fn code(self, want: i32) -> Run {
        assert_eq!(
            self.code,
            Some(want),
            "agenttier {}\nstdout: {}\nstderr: {}",
            self.args,
            self.stdout,
            self.stderr
        );
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{}: not JSON ({e}): {}", self.args, self.stdout))
    }

    /// One `agenttier: ...` line on stderr containing every one of `parts`.
    fn error_line(&self, parts: &[&str]) {
        let line = self.stderr.trim_end();
        assert!(
            line.starts_with("agenttier: ") && !line.contains('\n'),
            "{}: {line:?}",
            self.args
        );
        for part in parts {
            assert!(line.contains(part), "{}: {line:?} lacks {part:?}", self.args);
        }
    }
}

#[test]
fn version_in_both_modes() {
    let fx = Fixture::new();
    let version = env!("CARGO_PKG_VERSION");
    let run = Run::new(fx.bare().arg("version").output().unwrap(), &["version"], NO_SECRET).ok();
    assert_eq!(run.stdout, format!("agenttier {version}\n"));
    let run = Run::new(
        fx.bare().args(["version", "-o", "json"]).output().unwrap(),
        &["version"],
        NO_SECRET,
    )
    .ok();
    assert_eq!(run.json()["version"], version);
    let run = Run::new(fx.bare().arg("--version").output().unwrap(), &["--version"], NO_SECRET).ok();
    assert!(run.stdout.contains(version));
}

#[test]
fn help_documents_the_exit_codes() {
    let fx = Fixture::new();
    let run = Run::new(fx.bare().arg("--help").output().unwrap(), &["--help"], NO_SECRET).ok();
    for code in [
        "Exit codes",
        "3    authentication",
        "5    not found",
        "8    the Router could not be reached",
    ] {
        assert!(run.stdout.contains(code), "{code}: {}", run.stdout);
    }
}

#[test]
fn completions_for_every_shell() {
    let fx = Fixture::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        for extra in [&[][..], &["--static"]] {
            let mut args = vec!["completions", shell];
            args.extend(extra);
            let run = Run::new(fx.bare().args(&args).output().unwrap(), &args, NO_SECRET).ok();
            assert!(run.stdout.contains("agenttier"), "{args:?}");
            // The dynamic script calls the binary back; the static one never does.
            assert_eq!(
                run.stdout.contains("COMPLETE"),
                extra.is_empty(),
                "{args:?}: {}",
                run.stdout
            );
        }
    }
}

#[test]
fn completions_offer_the_callers_sandbox_names() {
    let fx = Fixture::new();
    for name in ["alpha", "alps", "beta"] {
        fx.run(&["sandbox", "create", name, "--template", "general-coding"])
            .ok();
    }
    // What the registered script runs at each Tab (fish: one candidate per line, tab, help).
    let complete = |cmd: &mut Command, words: &[&str]| {
        let out = cmd.env("COMPLETE", "fish").arg("--").args(words).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let all = complete(&mut fx.cmd(), &["agenttier", "sandbox", "get", ""]);
    // The names, with their phase and template, then the flags.
    let names: Vec<&str> = all
        .lines()
        .filter(|l| !l.starts_with('-'))
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "alps", "beta"], "{all}");
    assert!(
        all.lines()
            .any(|l| l.starts_with("alpha\t") && l.ends_with("(general-coding)")),
        "{all}"
    );
    let some = complete(&mut fx.cmd(), &["agenttier", "sandbox", "files", "ls", "al"]);
    assert_eq!(
        some.lines()
            .map(|l| &l[..l.find('\t').unwrap_or(l.len())])
            .collect::<Vec<_>>(),
        ["alpha", "alps"],
        "{some}"
    );
    // Commands still complete, and a later position is not a sandbox name.
    let commands = complete(&mut fx.cmd(), &["agenttier", "sandbox", "st"]);
    assert!(commands.lines().any(|l| l.starts_with("stop")), "{commands}");
    let exec = complete(&mut fx.cmd(), &["agenttier", "sandbox", "exec", "alpha", "--", "al"]);
    assert!(!exec.contains("alps"), "{exec}");
    // Without a configured Router, or with a rejected key: no names, no error, no hang.
    let no_names = |out: String| !out.lines().any(|l| !l.starts_with('-'));
    assert!(no_names(complete(&mut fx.bare(), &["agenttier", "sandbox", "get", ""])));
    let mut rejected = fx.cmd();
    rejected.env("AGENTTIER_API_KEY", "atk_wrong");
    assert!(no_names(complete(&mut rejected, &["agenttier", "sandbox", "get", ""])));
}

#[test]
fn missing_url_is_a_usage_error_naming_the_variable() {
    let fx = Fixture::new();
    let run = Run::new(
        fx.bare().args(["sandbox", "list"]).output().unwrap(),
        &["list"],
        NO_SECRET,
    )
    .code(2);
    run.error_line(&["AGENTTIER_API_URL", "agenttier login"]);
    let run = Run::new(fx.bare().arg("login").output().unwrap(), &["login"], NO_SECRET).code(2);
    run.error_line(&["--api-url", "AGENTTIER_API_URL"]);
}

#[test]
fn bad_usage_exits_2() {
    let fx = Fixture::new();
    fx.run(&["sandbox", "create", "x"]).code(2); // --template is required
    fx.run(&["sandbox", "exec", "x"]).code(2); // no command
    fx.run(&["sandbox", "ports", "forward", "x", "--port", "0"]).code(2);
    fx.run(&["sandbox", "create", "x", "--template", "t", "--timeout", "8 hours"])
        .code(2);
    fx.run(&["sandbox", "list", "-o", "yaml"]).code(2);
    // Refused by the SDK before any request: invalid input is a usage error too.
    let run = fx
        .run(&["sandbox", "create", "Bad_Name", "--template", "general-coding"])
        .code(2);
    run.error_line(&["RFC 1123"]);
}

#[test]
fn login_saves_a_private_config_that_later_commands_use() {
    let fx = Fixture::new();
    let mut login = fx.cmd();
    let run = Run::new(login.arg("login").output().unwrap(), &["login"], fx.router.admin_key()).ok();
    let path = fx.config_path();
    assert!(
        run.stdout.contains(&format!("Saved config to {}", path.display())),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Authenticated as: "), "{}", run.stdout);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(saved["api_url"], fx.router.url());
    assert_eq!(saved["api_key"], fx.router.admin_key());
    assert!(saved.get("token").is_none());
    assert_mode_600(&path);

    // Only AGENTTIER_CONFIG now: URL and key come from the file.
    let who = Run::new(
        fx.bare().arg("whoami").output().unwrap(),
        &["whoami"],
        fx.router.admin_key(),
    )
    .ok();
    assert!(who.stdout.trim_end().ends_with("(admin)"), "{}", who.stdout);
    let who = Run::new(
        fx.bare().args(["whoami", "-o", "json"]).output().unwrap(),
        &["whoami"],
        fx.router.admin_key(),
    )
    .ok()
    .json();
    assert_eq!(who["is_admin"], true);
    assert!(who["sub"].is_string() && who["groups"].is_array());

    // The environment overrides the file: a wrong key now fails authentication.
    let run = Run::new(
        fx.bare()
            .env("AGENTTIER_API_KEY", "atk_wrong")
            .arg("whoami")
            .output()
            .unwrap(),
        &["whoami"],
        fx.router.admin_key(),
    )
    .code(3);
    run.error_line(&["AGENTTIER_API_KEY"]);
}

#[test]
fn login_in_json_mode_and_with_rejected_credentials() {
    let fx = Fixture::new();
    let user_key = fx.router.create_key("alice", false, &[]).unwrap();
    let out = fx
        .bare()
        .env("AGENTTIER_API_URL", fx.router.url())
        .env("AGENTTIER_API_KEY", &user_key)
        .args(["login", "-o", "json"])
        .output()
        .unwrap();
    let login = Run::new(out, &["login"], &user_key).ok().json();
    assert_eq!(login["api_url"], fx.router.url());
    assert_eq!(login["user"]["sub"], "alice");
    assert_eq!(login["user"]["is_admin"], false);

    // A token replaces the saved key; the check fails with the authentication exit code.
    let out = fx
        .bare()
        .env("AGENTTIER_API_URL", fx.router.url())
        .env("AGENTTIER_TOKEN", "not-a-valid-token")
        .arg("login")
        .output()
        .unwrap();
    let run = Run::new(out, &["login"], &user_key).code(3);
    run.error_line(&["saved config", "authentication failed"]);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(fx.config_path()).unwrap()).unwrap();
    assert!(saved.get("api_key").is_none());
    assert_eq!(saved["token"], "not-a-valid-token");
    assert_mode_600(&fx.config_path());
}

#[test]
fn malformed_config_file_is_named() {
    let fx = Fixture::new();
    std::fs::create_dir_all(fx.config_path().parent().unwrap()).unwrap();
    std::fs::write(fx.config_path(), "{not json").unwrap();
    let run = Run::new(fx.bare().arg("whoami").output().unwrap(), &["whoami"], NO_SECRET).code(2);
    run.error_line(&["config.json", "agenttier login"]);
}

#[test]
fn authentication_failures_exit_3() {
    let fx = Fixture::new();
    let out = fx
        .bare()
        .env("AGENTTIER_API_URL", fx.router.url())
        .args(["sandbox", "list"])
        .output()
        .unwrap();
    Run::new(out, &["list without key"], NO_SECRET)
        .code(3)
        .error_line(&["AGENTTIER_API_KEY", "AGENTTIER_TOKEN"]);
    let out = fx
        .bare()
        .env("AGENTTIER_API_URL", fx.router.url())
        .env("AGENTTIER_API_KEY", "atk_definitely_wrong")
        .args(["whoami", "-o", "json"])
        .output()
        .unwrap();
    let run = Run::new(out, &["whoami bad key"], "atk_definitely_wrong").code(3);
    assert!(run.stdout.is_empty());
}

#[test]
fn unreachable_router_exits_8() {
    let fx = Fixture::new();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let run = Run::new(
        fx.bare()
            .env("AGENTTIER_API_URL", &url)
            .args(["sandbox", "list"])
            .output()
            .unwrap(),
        &["list"],
        NO_SECRET,
    )
    .code(8);
    run.error_line(&["could not reach", &url, "AGENTTIER_API_URL"]);
    // A malformed URL is a configuration error.
    let run = Run::new(
        fx.bare()
            .env("AGENTTIER_API_URL", "localhost:8080")
            .arg("whoami")
            .output()
            .unwrap(),
        &["whoami"],
        NO_SECRET,
    )
    .code(2);
    run.error_line(&["http://"]);
}

#[test]
fn whoami_in_both_modes() {
    let fx = Fixture::new();
    let text = fx.run(&["whoami"]).ok();
    assert!(text.stdout.ends_with(" (admin)\n"), "{}", text.stdout);
    let json = fx.json(&["whoami"]);
    assert_eq!(json["is_admin"], true);
}

#[test]
fn sandbox_lifecycle_in_both_modes() {
    let fx = Fixture::new();
    // create without --wait, text
    let run = fx
        .run(&["sandbox", "create", "alpha", "--template", "general-coding"])
        .ok();
    assert!(run.stdout.starts_with("created alpha (status: "), "{}", run.stdout);
    // wait, text and JSON
    assert_eq!(
        fx.run(&["sandbox", "wait", "alpha", "--timeout", "30"]).ok().stdout,
        "alpha is running\n"
    );
    assert_eq!(fx.json(&["sandbox", "wait", "alpha"])["status"], "Running");
    // create --wait with every option, JSON
    let created = fx.json(&[
        "sandbox",
        "create",
        "beta",
        "--template",
        "general-coding",
        "--namespace",
        "default",
        "--timeout",
        "8h",
        "--idle-timeout",
        "30m",
        "--storage-size",
        "1Gi",
        "--wait",
        "--wait-timeout",
        "1m",
    ]);
    assert_eq!(created["sandbox_id"], "beta");
    assert_eq!(created["status"], "Running");
    assert_eq!(created["namespace"], "default");
    assert_eq!(created["template_ref"], "general-coding");

    // list, text and JSON (and the filters)
    let table = fx.run(&["sandbox", "list"]).ok().stdout;
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["ID", "NAME", "STATUS", "TEMPLATE", "NAMESPACE"]);
    assert!(table.contains("alpha") && table.contains("beta"), "{table}");
    assert!(!table.contains('\x1b'), "no colour when stdout is not a terminal");
    let list = fx.json(&["sandbox", "list"]);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sandbox_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"alpha") && ids.contains(&"beta"), "{ids:?}");
    assert!(list[0].get("created_at").is_some() && list[0].get("pod_name").is_some());
    assert_eq!(
        fx.json(&["sandbox", "ls", "--status", "Running", "--namespace", "default"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        fx.json(&["sandbox", "list", "--namespace", "elsewhere"]),
        Value::Array(vec![])
    );
    assert!(
        fx.run(&["sandbox", "list", "--namespace", "elsewhere"])
            .ok()
            .stdout
            .contains("(no results)")
    );

    // get, text and JSON
    let get = fx.run(&["sandbox", "get", "alpha"]).ok().stdout;
    assert!(
        get.contains("id:") && get.contains("alpha") && get.contains("Running"),
        "{get}"
    );
    assert_eq!(fx.json(&["sandbox", "get", "alpha"])["name"], "alpha");

    // stop / resume / delete, text and JSON
    assert_eq!(fx.run(&["sandbox", "stop", "alpha"]).ok().stdout, "stopped alpha\n");
    wait_for_phase(&fx, "alpha", "Stopped");
    let resumed = fx.json(&["sandbox", "resume", "alpha"]);
    assert_eq!(resumed["action"], "resumed");
    assert_eq!(resumed["sandbox_id"], "alpha");
    fx.run(&["sandbox", "wait", "alpha"]).ok();
    let stopped = fx.json(&["sandbox", "stop", "beta"]);
    assert_eq!(stopped["action"], "stopped");
    wait_for_phase(&fx, "beta", "Stopped");
    assert_eq!(fx.run(&["sandbox", "resume", "beta"]).ok().stdout, "resumed beta\n");
    assert_eq!(fx.run(&["sandbox", "delete", "alpha"]).ok().stdout, "deleted alpha\n");
    assert_eq!(fx.json(&["sandbox", "rm", "beta"])["action"], "deleted");
    fx.run(&["sandbox", "get", "alpha"]).code(5);
}

fn wait_for_phase(fx: &Fixture, id: &str, phase: &str) {
    for _ in 0..100 {
        if fx.json(&["sandbox", "get", id])["status"] == phase {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{id} never reached {phase}");
}

#[test]
fn not_found_and_conflict_exit_codes() {
    let fx = Fixture::new();
    for args in [
        &["sandbox", "get", "nope"][..],
        &["sandbox", "stop", "nope"],
        &["sandbox", "delete", "nope"],
        &["sandbox", "wait", "nope"],
        &["sandbox", "exec", "nope", "--", "true"],
        &["sandbox", "ports", "list", "nope"],
    ] {
        fx.run(args)
            .code(5)
            .error_line(&["sandbox \"nope\" not found", "agenttier sandbox list"]);
    }
    fx.run(&["template", "get", "nope"])
        .code(5)
        .error_line(&["template \"nope\" not found", "agenttier template list"]);

    fx.sandbox("gamma");
    fx.run(&["sandbox", "create", "gamma", "--template", "general-coding"])
        .code(6)
        .error_line(&["already exists"]);
    fx.run(&["sandbox", "resume", "gamma"])
        .code(6)
        .error_line(&["conflict"]);
    // A stopped sandbox never becomes Running by itself: the wait times out (7).
    fx.run(&["sandbox", "stop", "gamma"]).ok();
    wait_for_phase(&fx, "gamma", "Stopped");
    fx.run(&["sandbox", "wait", "gamma", "--timeout", "1"])
        .code(7)
        .error_line(&["did not become Running", "Stopped"]);
}

#[test]
fn exec_prints_output_and_exits_with_the_remote_code() {
    let fx = Fixture::new();
    fx.sandbox("ex");
    let run = fx
        .run(&["sandbox", "exec", "ex", "--", "echo", "hello world", "it's"])
        .ok();
    assert_eq!(run.stdout, "hello world it's\n");
    let run = fx
        .run(&[
            "sandbox",
            "exec",
            "ex",
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ])
        .code(3);
    assert_eq!(run.stdout, "out\n");
    assert_eq!(run.stderr, "err\n");
    // No `--`: the command's own flags stay the command's.
    let run = fx.run(&["sandbox", "exec", "ex", "printf", "%s-%s", "-n", "x"]).ok();
    assert_eq!(run.stdout, "-n-x");

    let run = fx
        .run(&[
            "sandbox",
            "exec",
            "ex",
            "--timeout",
            "10",
            "-o",
            "json",
            "--",
            "sh",
            "-c",
            "printf hi; exit 42",
        ])
        .code(42);
    let json = run.json();
    assert_eq!(json["stdout"], "hi");
    assert_eq!(json["stderr"], "");
    assert_eq!(json["exit_code"], 42);
}

#[test]
fn ports_in_both_modes() {
    let fx = Fixture::new();
    fx.sandbox("web");
    let run = fx.run(&["sandbox", "ports", "forward", "web", "--port", "8080"]).ok();
    assert!(run.stdout.starts_with("forwarded port 8080 → "), "{}", run.stdout);
    let tcp = fx.json(&[
        "sandbox",
        "ports",
        "forward",
        "web",
        "--port",
        "5432",
        "--protocol",
        "tcp",
    ]);
    assert_eq!(tcp["port"], 5432);
    assert_eq!(tcp["protocol"], "tcp");

    let table = fx.run(&["sandbox", "ports", "list", "web"]).ok().stdout;
    assert!(
        table.starts_with("PORT") && table.contains("8080") && table.contains("5432"),
        "{table}"
    );
    let list = fx.json(&["sandbox", "ports", "list", "web"]);
    let ports: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["port"].as_i64().unwrap())
        .collect();
    assert!(ports.contains(&8080) && ports.contains(&5432), "{list}");
    assert!(list[0].get("preview_url").is_some());

    let run = fx.run(&["sandbox", "ports", "remove", "web", "--port", "8080"]).ok();
    assert_eq!(run.stdout, "removed forward for port 8080\n");
    let removed = fx.json(&["sandbox", "ports", "remove", "web", "--port", "5432"]);
    assert_eq!(removed["port"], 5432);
    assert_eq!(fx.json(&["sandbox", "ports", "list", "web"]), Value::Array(vec![]));
}

#[test]
fn templates_in_both_modes() {
    let fx = Fixture::new();
    let table = fx.run(&["template", "list"]).ok().stdout;
    assert!(table.starts_with("NAME") && table.contains("general-coding") && table.contains("agent-python"));
    let list = fx.json(&["template", "list"]);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"general-coding"), "{names:?}");
    // `template get` prints JSON in both modes, as the Python CLI does.
    let text: Value = serde_json::from_str(&fx.run(&["template", "get", "agent-python"]).ok().stdout).unwrap();
    assert_eq!(text, fx.json(&["template", "get", "agent-python"]));
    assert_eq!(text["spec"]["mode"], "agent");
}

#[test]
fn flags_override_the_environment() {
    let fx = Fixture::new();
    // --api-url on the command line wins over a wrong AGENTTIER_API_URL.
    let out = fx
        .cmd()
        .env("AGENTTIER_API_URL", "http://127.0.0.1:9")
        .args(["whoami", "--api-url", fx.router.url()])
        .output()
        .unwrap();
    Run::new(out, &["whoami --api-url"], fx.router.admin_key()).ok();
}

fn assert_mode_600(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

/// Echoes its arguments, then stdin, then one line on stderr; the last line has no newline.
const ECHO_AGENT: &str = "#!/bin/sh\necho \"args:$*\"\ncat\necho\necho to-stderr >&2\nprintf tail\n";

/// An agent sandbox configured with [`ECHO_AGENT`] (the configure command checked in both modes).
fn echo_agent(fx: &Fixture, name: &str) {
    fx.run(&["sandbox", "create", name, "--template", "agent-python", "--wait"])
        .ok();
    let local = fx.dir.path().join("agent.sh");
    std::fs::write(&local, ECHO_AGENT).unwrap();
    let file = format!("/workspace/agent.sh={}", local.display());
    let args = [
        "configure",
        name,
        "--file",
        &file,
        "--install",
        "sh -c 'chmod +x /workspace/agent.sh && echo installed'",
        "--entrypoint",
        "/workspace/agent.sh",
    ];
    let run = fx.run(&args).ok();
    assert!(run.stdout.contains("installed\n"), "{}", run.stdout);
    assert!(run.stdout.ends_with("skipped=false\n") && run.stdout.contains("configure: install exit 0"));
    // Again, as JSON: the install is skipped, and logs stay off stdout.
    let mut json_args = args.to_vec();
    json_args.extend(["-o", "json"]);
    let again = fx.run(&json_args).ok().json();
    assert_eq!(again["skipped"], true);
    assert_eq!(again["entrypoint"], serde_json::json!(["/workspace/agent.sh"]));
    assert_eq!(again["install_command_hash"].as_str().unwrap().len(), 64);
}

#[test]
fn configure_and_invoke_in_both_modes() {
    let fx = Fixture::new();
    echo_agent(&fx, "agent");
    let run = fx.run(&["invoke", "agent", "--input", "plain text"]).ok();
    assert_eq!(run.stdout, "args:\nplain text\ntail\n");
    assert!(run.stderr.starts_with("invoke started: inv-"), "{}", run.stderr);
    assert!(run.stderr.contains("to-stderr\n") && run.stderr.contains("invoke completed: exit 0"));

    let json = fx.json(&["invoke", "agent", "--prompt", "what's up?", "--timeout", "1m"]);
    assert_eq!(json["stdout"], "args:--prompt=what's up?\nwhat's up?\ntail");
    assert_eq!(json["stderr"], "to-stderr");
    assert_eq!(json["reason"], "completed");
    assert_eq!(json["exit_code"], 0);
    assert!(json["invoke_id"].as_str().unwrap().starts_with("inv-"));

    // --input @file and --input - (stdin)
    let input = fx.dir.path().join("input.txt");
    std::fs::write(&input, "from a file").unwrap();
    let at = format!("@{}", input.display());
    assert_eq!(
        fx.json(&["invoke", "agent", "--input", &at])["stdout"],
        "args:\nfrom a file\ntail"
    );
    let mut child = fx
        .cmd()
        .args(["invoke", "agent", "--input", "-", "-o", "json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(b"from stdin").unwrap();
    let out = child.wait_with_output().unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["stdout"], "args:\nfrom stdin\ntail");
}

#[test]
fn invoke_exits_with_the_agent_code_and_can_be_canceled() {
    let fx = Fixture::new();
    fx.run(&["sandbox", "create", "ag", "--template", "agent-python", "--wait"])
        .ok();
    // Not configured yet: the Router refuses (424), a generic API failure.
    fx.run(&["invoke", "ag"]).code(1).error_line(&["424"]);
    let run = fx
        .run(&["configure", "ag", "--install", "sh -c 'echo broken >&2; exit 9'"])
        .code(1);
    assert!(run.stderr.contains("broken"), "{}", run.stderr);
    assert!(run.stdout.contains("install exit 9"), "{}", run.stdout);
    fx.run(&["configure", "ag"])
        .code(2)
        .error_line(&["--file", "--install", "--entrypoint"]);

    fx.run(&["configure", "ag", "--entrypoint", "sh -c 'echo out; exit 7'"])
        .ok();
    assert_eq!(fx.run(&["invoke", "ag"]).code(7).stdout, "out\n");
    assert_eq!(fx.run(&["invoke", "ag", "-o", "json"]).code(7).json()["exit_code"], 7);

    // Cancel a running invocation from a second process.
    fx.run(&[
        "configure",
        "ag",
        "--entrypoint",
        "sh -c 'while true; do echo tick; sleep 0.05; done'",
    ])
    .ok();
    let mut child = fx
        .cmd()
        .args(["invoke", "ag"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut first).unwrap();
    let id = first
        .trim()
        .strip_prefix("invoke started: ")
        .unwrap_or_else(|| panic!("{first:?}"));
    let cancel = fx.json(&["invoke", "ag", "--cancel", id]);
    assert_eq!(cancel["invoke_id"], id);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "exit -1 (canceled) maps to 1: {rest}");
    assert!(rest.contains("invoke canceled: exit -1"), "{rest}");
    // The invocation is over: cancelling it again is "not found".
    fx.run(&["invoke", "ag", "--cancel", id]).code(5);
    assert_eq!(fx.run(&["invoke", "ag", "--cancel", "inv-unknown"]).code(5).stdout, "");
}

/// Every byte value, then a run that is not valid UTF-8, over more than one transfer chunk.
fn binary_blob() -> Vec<u8> {
    let mut data: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    data.extend_from_slice(b"\xff\xfe\x00\r\n\x80 end");
    data
}

fn unzip(bytes: Vec<u8>) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read as _;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    let mut entries = std::collections::BTreeMap::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        entries.insert(entry.name().to_owned(), data);
    }
    entries
}

#[test]
fn files_upload_cat_download_round_trip_binary_in_both_modes() {
    let fx = Fixture::new();
    fx.sandbox("fs");
    let blob = binary_blob();
    let local = fx.dir.path().join("blob.bin");
    std::fs::write(&local, &blob).unwrap();
    let local_arg = local.to_str().unwrap();

    // upload: text, then JSON
    let run = fx
        .run(&["sandbox", "files", "upload", "fs", local_arg, "/workspace/bin/blob.bin"])
        .ok();
    assert_eq!(
        run.stdout,
        format!("uploaded {} bytes to /workspace/bin/blob.bin\n", blob.len())
    );
    assert!(run.stderr.is_empty(), "no progress bar off a terminal: {}", run.stderr);
    let json = fx.json(&["sandbox", "files", "upload", "fs", local_arg, "workspace//bin/copy.bin"]);
    assert_eq!(json["path"], "/workspace/bin/copy.bin");
    assert_eq!(json["bytes"], blob.len());
    assert_eq!(json["local"], local_arg);

    // cat: raw bytes in both modes
    assert_eq!(
        fx.bytes(&["sandbox", "files", "cat", "fs", "/workspace/bin/blob.bin"]),
        blob
    );
    assert_eq!(
        fx.bytes(&["sandbox", "files", "cat", "fs", "/workspace/bin/copy.bin", "-o", "json"]),
        blob
    );

    // download: text to a file, JSON into a directory (the remote name is kept)
    let down = fx.dir.path().join("down.bin");
    let run = fx
        .run(&[
            "sandbox",
            "files",
            "download",
            "fs",
            "/workspace/bin/blob.bin",
            down.to_str().unwrap(),
        ])
        .ok();
    assert_eq!(
        run.stdout,
        format!("downloaded {} bytes to {}\n", blob.len(), down.display())
    );
    assert_eq!(std::fs::read(&down).unwrap(), blob);
    let into = fx.dir.path().join("into");
    std::fs::create_dir(&into).unwrap();
    let json = fx.json(&[
        "sandbox",
        "files",
        "download",
        "fs",
        "/workspace/bin/copy.bin",
        into.to_str().unwrap(),
    ]);
    let landed = into.join("copy.bin");
    assert_eq!(json["path"], "/workspace/bin/copy.bin");
    assert_eq!(json["bytes"], blob.len());
    assert_eq!(json["local"], landed.to_str().unwrap());
    assert_eq!(std::fs::read(&landed).unwrap(), blob);

    // ls: table and JSON
    let table = fx.run(&["sandbox", "files", "ls", "fs"]).ok().stdout;
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "SIZE", "MODE", "MODIFIED"]);
    assert!(table.lines().any(|l| l.starts_with("bin/ ")), "{table}");
    let table = fx
        .run(&["sandbox", "files", "ls", "fs", "--path", "/workspace/bin"])
        .ok()
        .stdout;
    let row: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with("blob.bin "))
        .unwrap_or_else(|| panic!("{table}"))
        .split_whitespace()
        .collect();
    assert_eq!(row[1], blob.len().to_string());
    assert!(row[2].starts_with('-') && row[3].contains('T'), "{row:?}");
    let list = fx.json(&["sandbox", "files", "list", "fs", "--path", "/workspace/bin"]);
    let entries = list.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{list}");
    let blob_entry = entries.iter().find(|e| e["name"] == "blob.bin").unwrap();
    assert_eq!(blob_entry["size"], blob.len());
    assert_eq!(blob_entry["is_dir"], false);
    assert!(blob_entry["mode"].as_str().unwrap().starts_with('-'));
    assert!(blob_entry["modified_at"].as_i64().unwrap() > 1_600_000_000);
    let top = fx.json(&["sandbox", "files", "ls", "fs"]);
    let bin = top.as_array().unwrap().iter().find(|e| e["name"] == "bin").unwrap();
    assert_eq!(bin["is_dir"], true);
}

#[test]
fn files_write_in_both_modes() {
    let fx = Fixture::new();
    fx.sandbox("wr");
    // --data, text
    let run = fx
        .run(&[
            "sandbox",
            "files",
            "write",
            "wr",
            "/workspace/notes/a.txt",
            "--data",
            "héllo\n",
        ])
        .ok();
    assert_eq!(run.stdout, "wrote /workspace/notes/a.txt\n");
    assert_eq!(
        fx.bytes(&["sandbox", "files", "cat", "wr", "/workspace/notes/a.txt"]),
        "héllo\n".as_bytes()
    );
    // --data, JSON (an empty file is fine)
    let json = fx.json(&["sandbox", "files", "write", "wr", "/workspace/empty", "--data", ""]);
    assert_eq!(json, serde_json::json!({"path": "/workspace/empty", "bytes": 0}));
    // --file LOCAL, JSON
    let blob = binary_blob();
    let local = fx.dir.path().join("w.bin");
    std::fs::write(&local, &blob).unwrap();
    let json = fx.json(&[
        "sandbox",
        "files",
        "write",
        "wr",
        "/workspace/w.bin",
        "--file",
        local.to_str().unwrap(),
    ]);
    assert_eq!(json["bytes"], blob.len());
    assert_eq!(json["local"], local.to_str().unwrap());
    assert_eq!(fx.bytes(&["sandbox", "files", "cat", "wr", "/workspace/w.bin"]), blob);
    // --file - (stdin), text and JSON
    let run = fx
        .run_with_stdin(
            &["sandbox", "files", "write", "wr", "/workspace/stdin.bin", "--file", "-"],
            &blob,
        )
        .ok();
    assert_eq!(run.stdout, "wrote /workspace/stdin.bin\n");
    assert_eq!(
        fx.bytes(&["sandbox", "files", "cat", "wr", "/workspace/stdin.bin"]),
        blob
    );
    let json = fx
        .run_with_stdin(
            &[
                "sandbox",
                "files",
                "write",
                "wr",
                "/workspace/stdin.txt",
                "--file",
                "-",
                "-o",
                "json",
            ],
            b"piped",
        )
        .ok()
        .json();
    assert_eq!(
        json,
        serde_json::json!({"path": "/workspace/stdin.txt", "bytes": 5, "local": "-"})
    );
    // exactly one of --data and --file
    fx.run(&["sandbox", "files", "write", "wr", "/workspace/x"]).code(2);
    fx.run(&[
        "sandbox",
        "files",
        "write",
        "wr",
        "/workspace/x",
        "--data",
        "a",
        "--file",
        "-",
    ])
    .code(2);
}

#[test]
fn files_archive_unzips_in_both_modes() {
    let fx = Fixture::new();
    fx.sandbox("ar");
    let blob = binary_blob();
    let local = fx.dir.path().join("blob.bin");
    std::fs::write(&local, &blob).unwrap();
    fx.run(&[
        "sandbox",
        "files",
        "upload",
        "ar",
        local.to_str().unwrap(),
        "/workspace/app/data/blob.bin",
    ])
    .ok();
    fx.run(&[
        "sandbox",
        "files",
        "write",
        "ar",
        "/workspace/app/main.py",
        "--data",
        "print('hi')\n",
    ])
    .ok();

    // text, default --path /workspace
    let dest = fx.dir.path().join("ws.zip");
    let run = fx
        .run(&["sandbox", "files", "archive", "ar", "--dest", dest.to_str().unwrap()])
        .ok();
    let size = std::fs::metadata(&dest).unwrap().len();
    assert_eq!(
        run.stdout,
        format!("archived /workspace to {} ({size} bytes)\n", dest.display())
    );
    let entries = unzip(std::fs::read(&dest).unwrap());
    assert_eq!(entries["app/data/blob.bin"], blob);
    assert_eq!(entries["app/main.py"], b"print('hi')\n");

    // JSON, with --path; `-o` stays the output format
    let dest = fx.dir.path().join("app.zip");
    let json = fx.json(&[
        "sandbox",
        "files",
        "archive",
        "ar",
        "--path",
        "/workspace/app",
        "--dest",
        dest.to_str().unwrap(),
    ]);
    assert_eq!(json["path"], "/workspace/app");
    assert_eq!(json["local"], dest.to_str().unwrap());
    assert_eq!(json["bytes"], std::fs::metadata(&dest).unwrap().len());
    let entries = unzip(std::fs::read(&dest).unwrap());
    assert_eq!(entries["data/blob.bin"], blob);
    assert!(entries.contains_key("main.py"), "{:?}", entries.keys());

    // --dest -: the zip on stdout, in both modes
    for format in ["text", "json"] {
        let args = [
            "-o",
            format,
            "sandbox",
            "files",
            "archive",
            "ar",
            "--path",
            "/workspace/app",
            "--dest",
            "-",
        ];
        let entries = unzip(fx.bytes(&args));
        assert_eq!(entries["data/blob.bin"], blob);
    }

    // After `archive`, `-o FILE` is the destination, as in the Python CLI (every spelling);
    // the format is then `--output`, or `-o` before `archive`.
    for (i, spelling) in ["-o", "-o=", "-o"].iter().enumerate() {
        let dest = fx.dir.path().join(format!("short{i}.zip"));
        let dest = dest.to_str().unwrap();
        let mut args = vec!["sandbox", "files", "archive", "ar"];
        let joined = format!("{spelling}{dest}");
        if i == 0 {
            args.extend([*spelling, dest]);
        } else {
            args.push(&joined);
        }
        args.extend(["--output", "json"]);
        let run = fx.run(&args).ok();
        assert_eq!(run.json()["local"], dest, "{args:?}");
        assert_eq!(unzip(std::fs::read(dest).unwrap())["app/main.py"], b"print('hi')\n");
    }
    let dest = fx.dir.path().join("mixed.zip");
    let run = fx
        .run(&[
            "-o",
            "json",
            "sandbox",
            "files",
            "archive",
            "ar",
            "-o",
            dest.to_str().unwrap(),
        ])
        .ok();
    assert_eq!(run.json()["bytes"], std::fs::metadata(&dest).unwrap().len());
    // Elsewhere `-o` is still the format only.
    fx.run(&["sandbox", "files", "ls", "ar", "-o", "out.zip"]).code(2);

    // A destination is required
    fx.run(&["sandbox", "files", "archive", "ar"]).code(2);
    fx.run(&["sandbox", "files", "archive", "ar", "-o"]).code(2);
}

#[test]
fn files_errors_map_to_exit_codes() {
    let fx = Fixture::new();
    fx.sandbox("er");
    let local = fx.dir.path().join("small.txt");
    std::fs::write(&local, "x").unwrap();
    let local_arg = local.to_str().unwrap();

    // A missing remote file or directory: 5, naming the path (not the sandbox).
    fx.run(&["sandbox", "files", "cat", "er", "/workspace/missing.txt"])
        .code(5)
        .error_line(&[
            "\"/workspace/missing.txt\" not found in sandbox \"er\"",
            "files ls er --path /workspace",
        ]);
    let down = fx.dir.path().join("never.txt");
    fx.run(&[
        "sandbox",
        "files",
        "download",
        "er",
        "/workspace/missing.txt",
        down.to_str().unwrap(),
        "-o",
        "json",
    ])
    .code(5);
    assert!(!down.exists(), "a refused download leaves no local file");
    fx.run(&["sandbox", "files", "ls", "er", "--path", "/workspace/nodir"])
        .code(5)
        .error_line(&["/workspace/nodir", "not found"]);
    let zip = fx.dir.path().join("never.zip");
    fx.run(&[
        "sandbox",
        "files",
        "archive",
        "er",
        "--path",
        "/workspace/nodir",
        "--dest",
        zip.to_str().unwrap(),
    ])
    .code(5);
    assert!(!zip.exists());
    // A missing sandbox: 5, naming the sandbox.
    for args in [
        &["sandbox", "files", "ls", "nope"][..],
        &["sandbox", "files", "cat", "nope", "/workspace/a"],
        &["sandbox", "files", "upload", "nope", local_arg, "/workspace/a"],
        &["sandbox", "files", "write", "nope", "/workspace/a", "--data", "x"],
    ] {
        fx.run(args)
            .code(5)
            .error_line(&["sandbox \"nope\" not found", "agenttier sandbox list"]);
    }

    // Refused locally, before any request: usage errors (2).
    let missing = fx.dir.path().join("no-such-file");
    fx.run(&[
        "sandbox",
        "files",
        "upload",
        "er",
        missing.to_str().unwrap(),
        "/workspace/a",
    ])
    .code(2)
    .error_line(&["cannot read", "no-such-file"]);
    fx.run(&[
        "sandbox",
        "files",
        "upload",
        "er",
        fx.dir.path().to_str().unwrap(),
        "/workspace/a",
    ])
    .code(2)
    .error_line(&["is a directory"]);
    fx.run(&["sandbox", "files", "cat", "er", "/workspace/../etc/passwd"])
        .code(2)
        .error_line(&["'..'"]);
    let big = fx.dir.path().join("big.bin");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(32 * 1024 * 1024 + 1)
        .unwrap();
    fx.run(&[
        "sandbox",
        "files",
        "upload",
        "er",
        big.to_str().unwrap(),
        "/workspace/big.bin",
    ])
    .code(2)
    .error_line(&["32 MiB"]);
    fx.run(&[
        "sandbox",
        "files",
        "write",
        "er",
        "/workspace/big.bin",
        "--file",
        big.to_str().unwrap(),
    ])
    .code(2)
    .error_line(&["32 MiB"]);
    let over = vec![b'a'; 32 * 1024 * 1024 + 1];
    fx.run_with_stdin(
        &["sandbox", "files", "write", "er", "/workspace/big.bin", "--file", "-"],
        &over,
    )
    .code(2);
    fx.run(&["sandbox", "files", "cat", "er", "/workspace/big.bin"]).code(5);

    // A local destination that cannot be created: a local failure (1).
    let nowhere = fx.dir.path().join("no-dir").join("x");
    fx.run(&["sandbox", "files", "write", "er", "/workspace/ok.txt", "--data", "ok"])
        .ok();
    fx.run(&[
        "sandbox",
        "files",
        "download",
        "er",
        "/workspace/ok.txt",
        nowhere.to_str().unwrap(),
    ])
    .code(1)
    .error_line(&["no-dir"]);

    // A stopped sandbox: conflict (6).
    fx.run(&["sandbox", "stop", "er"]).ok();
    wait_for_phase(&fx, "er", "Stopped");
    fx.run(&["sandbox", "files", "cat", "er", "/workspace/ok.txt"]).code(6);
    fx.run(&["sandbox", "files", "upload", "er", local_arg, "/workspace/a"])
        .code(6);
}
