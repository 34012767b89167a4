//! `agenttier-bench`: the Rust SDK against the official Python SDK and raw HTTP, side by side,
//! on one in-process local router, in one run.
//!
//! ```text
//! cargo run --release -p agenttier-bench            # full run (a few minutes)
//! cargo run --release -p agenttier-bench -- --quick # smoke run, under a minute
//! ```
//!
//! Each client runs in a child process of its own (this binary with `client ...`, or the Python
//! interpreter), so the CPU time and peak memory it reports are its own, not the router's. The
//! Python SDK is installed from PyPI into `bench-out/venv` on the first run. Results are printed
//! as a table and written to `bench-out/results.json`.

#![allow(missing_docs)]

mod client;
mod measure;
mod python;
mod report;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use agenttier::blocking::Client;
use agenttier::models::{Configure, CreateSandbox};
use agenttier_router::{IsolationMode, LocalRouter, RouterOptions};
use report::{Row, Target};
use serde_json::{Value, json};

/// Sizes of one run.
struct Plan {
    quick: bool,
    gets: usize,
    concurrency: usize,
    streams: Vec<usize>,
    cold_runs: usize,
    execs: usize,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                quick,
                gets: 300,
                concurrency: 50,
                streams: vec![10_000],
                cold_runs: 5,
                execs: 30,
            }
        } else {
            Plan {
                quick,
                gets: 2_000,
                concurrency: 200,
                streams: vec![100_000, 1_000_000],
                cold_runs: 20,
                execs: 200,
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("client") {
        let job = client::Job {
            kind: args[2].clone(),
            url: args[3].clone(),
            key: std::env::var("AGENTTIER_API_KEY").expect("AGENTTIER_API_KEY"),
            sandbox: args[4].clone(),
            ops: args[5].parse().expect("ops"),
            concurrency: args[6].parse().expect("concurrency"),
        };
        println!("{}", client::run(&job));
        return;
    }
    let plan = Plan::new(args.iter().any(|a| a == "--quick"));
    if args.iter().any(|a| a == "--exec-only") {
        let isolation = match args.iter().any(|a| a == "--no-isolation") {
            true => IsolationMode::None,
            false => IsolationMode::Auto,
        };
        if let Err(e) = exec_only(plan.execs, isolation) {
            eprintln!("agenttier-bench: {e}");
            std::process::exit(1);
        }
        return;
    }
    let out = PathBuf::from("bench-out");
    std::fs::create_dir_all(&out).expect("create bench-out");
    if let Err(e) = run(&plan, &out) {
        eprintln!("agenttier-bench: {e}");
        std::process::exit(1);
    }
}

/// `--exec-only`: the sandbox figures alone (no Python, no client comparisons): create-to-Running
/// without start delay (median of 20), and exec of `true` through the router against a bare spawn.
/// `--no-isolation` runs the sandboxes as plain processes, to see what isolation costs.
fn exec_only(n: usize, isolation: IsolationMode) -> Result<(), Box<dyn std::error::Error>> {
    let router = LocalRouter::start(RouterOptions {
        start_delay: Duration::ZERO,
        isolation,
        ..RouterOptions::default()
    })?;
    let client = Client::builder()
        .base_url(router.url())
        .api_key(router.admin_key())?
        .build()?;
    let mut starts = Vec::new();
    for i in 0..20 {
        let t = Instant::now();
        let name = format!("start-{i}");
        let sb = client.create_sandbox(CreateSandbox::new("general-coding", &name))?;
        // Polled every 2 ms: the SDK's own wait polls far less often.
        while sb.phase()? != agenttier::models::SandboxPhase::Running {
            std::thread::sleep(Duration::from_millis(2));
        }
        starts.push(t.elapsed());
        sb.terminate()?;
    }
    starts.sort();
    let sandbox = client.create_sandbox(CreateSandbox::new("general-coding", "bench-exec"))?;
    sandbox.wait_until_running(Duration::from_secs(60))?;
    for _ in 0..10 {
        sandbox.exec("true")?; // warm-up
    }
    let per_op = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed().as_secs_f64() * 1000.0 / n as f64
    };
    let routed = per_op(&mut || assert!(sandbox.exec("true").expect("exec").success()));
    // The same HTTP round trip to the same sandbox without a command: what the exec path adds.
    let request = per_op(&mut || {
        sandbox.phase().expect("status");
    });
    let bare = per_op(&mut || {
        assert!(
            Command::new("/bin/sh")
                .args(["-c", "true"])
                .status()
                .expect("spawn")
                .success()
        )
    });
    // The same spawn made with fork instead of vfork, as any spawn that must run code in the child
    // is (the router's joins namespaces and cgroups there): asking for a uid is enough to make
    // std fork, and setting one's own uid changes nothing.
    let forked = per_op(&mut || {
        use std::os::unix::process::CommandExt;
        assert!(
            Command::new("/bin/sh")
                .args(["-c", "true"])
                .uid(nix::unistd::getuid().as_raw())
                .status()
                .expect("spawn")
                .success()
        )
    });
    println!(
        "create to Running (no start delay), median of 20: {:.1} ms",
        starts[10].as_secs_f64() * 1000.0
    );
    println!(
        "exec `true` x{n}: through the router {routed:.2} ms/op, bare spawn {bare:.2} ms/op, ratio {:.2}x",
        routed / bare
    );
    println!(
        "bare spawn through fork x{n}: {forked:.2} ms/op (ratio against it {:.2}x); status request (the round trip alone): {request:.2} ms/op",
        routed / forked
    );
    Ok(())
}

struct Bench<'a> {
    url: String,
    key: String,
    python: Option<python::Python>,
    rows: Vec<Row>,
    plan: &'a Plan,
}

fn run(plan: &Plan, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let router = LocalRouter::start(RouterOptions::default())?;
    let client = Client::builder()
        .base_url(router.url())
        .api_key(router.admin_key())?
        .build()?;
    let getter = client.create_sandbox(CreateSandbox::new("general-coding", "bench-get"))?;
    let agent = client.create_sandbox(CreateSandbox::new("agent-python", "bench-agent"))?;
    getter.wait_until_running(Duration::from_secs(60))?;
    agent.wait_until_running(Duration::from_secs(60))?;
    let python = match python::prepare(out) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("Python SDK unavailable, its rows are skipped: {e}");
            None
        }
    };
    let mut bench = Bench {
        url: router.url().to_owned(),
        key: router.admin_key().to_owned(),
        python,
        rows: Vec::new(),
        plan,
    };

    let seq = format!("{} sequential get_sandbox", plan.gets);
    for kind in ["rust-blocking-get", "python-sync-get", "raw-ureq-get"] {
        bench.child(&seq, kind, "bench-get", plan.gets, 1);
    }
    let conc = format!("{} get_sandbox, {} in flight", plan.gets, plan.concurrency);
    for kind in ["rust-async-get", "python-async-get", "raw-reqwest-get"] {
        bench.child(&conc, kind, "bench-get", plan.gets, plan.concurrency);
    }
    for &lines in &plan.streams {
        let ran = agent
            .agent()
            .configure(Configure::new().entrypoint(["seq", "1", &lines.to_string()]));
        if let Err(e) = ran {
            eprintln!("agent mode unavailable, streaming rows are skipped: {e}");
            break;
        }
        let name = format!("invoke stream of {lines} lines");
        for kind in ["rust-blocking-stream", "rust-async-stream", "python-stream"] {
            bench.child(&name, kind, "bench-agent", lines, 1);
        }
    }
    bench.cold_starts();
    bench.exec_overhead(&getter);

    let targets = targets(&bench.rows, plan);
    report::print(&bench.rows, &targets);
    let machine = machine();
    let results = report::json(&bench.rows, &targets, machine, plan.quick);
    let path = out.join("results.json");
    std::fs::write(&path, serde_json::to_string_pretty(&results)?)?;
    println!("\nwrote {} in {:.1?}", path.display(), started.elapsed());
    let _ = getter.terminate();
    let _ = agent.terminate();
    Ok(())
}

impl Bench<'_> {
    /// Runs one client child and records its figures.
    fn child(&mut self, scenario: &str, kind: &str, sandbox: &str, ops: usize, concurrency: usize) {
        let shared = [
            self.url.clone(),
            sandbox.to_owned(),
            ops.to_string(),
            concurrency.to_string(),
        ];
        let mut cmd = if let Some(stripped) = kind.strip_prefix("python-") {
            let Some(py) = &self.python else { return };
            let mut cmd = Command::new(&py.interpreter);
            cmd.arg(&py.script).arg(format!("python-{stripped}")).args(&shared);
            cmd
        } else {
            let mut cmd = Command::new(std::env::current_exe().expect("own path"));
            cmd.args(["client", kind]).args(&shared);
            cmd
        };
        // The key travels in the environment, never on a command line.
        cmd.env("AGENTTIER_API_KEY", &self.key);
        let mut figures = match cmd.output() {
            Ok(out) if out.status.success() => {
                let text = String::from_utf8_lossy(&out.stdout);
                serde_json::from_str(text.lines().last().unwrap_or("")).unwrap_or(Value::Null)
            }
            Ok(out) => {
                eprintln!(
                    "{kind} failed: {}",
                    String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
                );
                return;
            }
            Err(e) => {
                eprintln!("{kind} could not start: {e}");
                return;
            }
        };
        if figures.is_null() {
            eprintln!("{kind} printed no figures");
            return;
        }
        figures["ops"] = json!(ops);
        eprintln!(
            "  {scenario:<34} {kind:<22} {:.3}s",
            figures["wall_s"].as_f64().unwrap_or(0.0)
        );
        self.rows.push(Row {
            scenario: scenario.to_owned(),
            client: kind.to_owned(),
            figures,
        });
    }

    /// Cold start of the CLI against the Python equivalents (the Python CLI 0.8.1 cannot start).
    fn cold_starts(&mut self) {
        let cli = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.join("agenttier")));
        let cli = cli.filter(|p| p.exists());
        if cli.is_none() {
            eprintln!(
                "agenttier CLI not built next to the benchmark: build it with `cargo build --release -p agenttier-cli`"
            );
        }
        let py = self.python.as_ref().map(|p| p.interpreter.clone());
        let list_py = "import os, agenttier; print(len(agenttier.AgentTierClient(os.environ['AGENTTIER_API_URL']).list_sandboxes()))";
        type Case<'a> = (&'a str, &'a str, Option<(PathBuf, Vec<&'a str>)>);
        let cases: Vec<Case> = vec![
            (
                "cold start: --version",
                "rust-cli",
                cli.clone().map(|c| (c, vec!["--version"])),
            ),
            (
                "cold start: --version",
                "python-import",
                py.clone()
                    .map(|p| (p, vec!["-c", "import agenttier; print(agenttier.__version__)"])),
            ),
            (
                "cold start: list sandboxes",
                "rust-cli",
                cli.map(|c| (c, vec!["sandbox", "list"])),
            ),
            (
                "cold start: list sandboxes",
                "python-one-liner",
                py.map(|p| (p, vec!["-c", list_py])),
            ),
        ];
        for (scenario, client, command) in cases {
            let Some((program, args)) = command else { continue };
            let runs = self.plan.cold_runs;
            let started = Instant::now();
            let mut ok = true;
            for _ in 0..runs {
                let status = Command::new(&program)
                    .args(&args)
                    .env("AGENTTIER_API_URL", &self.url)
                    .env("AGENTTIER_API_KEY", &self.key)
                    .stdout(std::process::Stdio::null())
                    .status();
                ok &= status.is_ok_and(|s| s.success());
            }
            if !ok {
                eprintln!("{client} {args:?} failed");
                continue;
            }
            let wall = started.elapsed().as_secs_f64();
            let figures = json!({"wall_s": wall, "ops": runs, "user_s": null, "sys_s": null, "max_rss_kib": null});
            self.rows.push(Row {
                scenario: scenario.to_owned(),
                client: client.to_owned(),
                figures,
            });
        }
    }

    /// Exec of `true` through the router against spawning the same command directly.
    fn exec_overhead(&mut self, sandbox: &agenttier::blocking::Sandbox) {
        let n = self.plan.execs;
        let started = Instant::now();
        for _ in 0..n {
            let out = sandbox.exec("true").expect("exec");
            assert!(out.success());
        }
        let routed = started.elapsed().as_secs_f64();
        let started = Instant::now();
        for _ in 0..n {
            let status = Command::new("/bin/sh").args(["-c", "true"]).status().expect("spawn");
            assert!(status.success());
        }
        let bare = started.elapsed().as_secs_f64();
        for (client, wall) in [("router-exec", routed), ("bare-spawn", bare)] {
            let figures = json!({"wall_s": wall, "ops": n, "user_s": null, "sys_s": null, "max_rss_kib": null});
            self.rows.push(Row {
                scenario: format!("exec `true` x{n}"),
                client: client.to_owned(),
                figures,
            });
        }
    }
}

fn find<'a>(rows: &'a [Row], scenario_prefix: &str, client: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.scenario.starts_with(scenario_prefix) && r.client == client)
}

fn target(name: &str, goal: &str, value: Option<f64>, unit: &str, ok: impl Fn(f64) -> bool) -> Target {
    Target {
        name: name.to_owned(),
        goal: goal.to_owned(),
        measured: value.map_or("not measured".to_owned(), |v| format!("{v:.2}{unit}")),
        met: value.map(ok),
    }
}

/// Where a ratio must stand.
#[derive(Clone, Copy)]
enum Bound {
    AtLeast(f64),
    AtMost(f64),
}

impl Bound {
    fn holds(self, v: f64) -> bool {
        match self {
            Bound::AtLeast(b) => v >= b,
            Bound::AtMost(b) => v <= b,
        }
    }

    fn goal(self) -> String {
        match self {
            Bound::AtLeast(b) => format!(">= {b}x"),
            Bound::AtMost(b) => format!("<= {b}x"),
        }
    }
}

fn targets(rows: &[Row], plan: &Plan) -> Vec<Target> {
    use Bound::{AtLeast, AtMost};
    let seq = format!("{} sequential", plan.gets);
    let conc = format!("{} get_sandbox,", plan.gets);
    let biggest = plan
        .streams
        .last()
        .map(|n| format!("invoke stream of {n} lines"))
        .unwrap_or_default();
    // (target, scenario, client a, client b, metric, bound on metric(a) / metric(b))
    type Ratio<'a> = (&'a str, &'a str, &'a str, &'a str, fn(&Row) -> f64, Bound);
    let ratios: [Ratio; 10] = [
        (
            "async throughput vs Python async",
            &conc,
            "rust-async-get",
            "python-async-get",
            Row::rate,
            AtLeast(10.0),
        ),
        (
            "CPU per call: Python sync / Rust blocking",
            &seq,
            "python-sync-get",
            "rust-blocking-get",
            Row::cpu_us_per_op,
            AtLeast(30.0),
        ),
        (
            "CPU per call: Python async / Rust async",
            &conc,
            "python-async-get",
            "rust-async-get",
            Row::cpu_us_per_op,
            AtLeast(30.0),
        ),
        (
            "CPU per call: Rust blocking / raw ureq",
            &seq,
            "rust-blocking-get",
            "raw-ureq-get",
            Row::cpu_us_per_op,
            AtMost(1.5),
        ),
        (
            "CPU per call: Rust async / raw reqwest",
            &conc,
            "rust-async-get",
            "raw-reqwest-get",
            Row::cpu_us_per_op,
            AtMost(1.5),
        ),
        (
            "stream events/s: Rust blocking / Python",
            &biggest,
            "rust-blocking-stream",
            "python-stream",
            Row::rate,
            AtLeast(50.0),
        ),
        (
            "stream events/s: Rust async / Python",
            &biggest,
            "rust-async-stream",
            "python-stream",
            Row::rate,
            AtLeast(50.0),
        ),
        (
            "cold start --version: Python / Rust",
            "cold start: --version",
            "python-import",
            "rust-cli",
            Row::ms_per_op,
            AtLeast(20.0),
        ),
        (
            "cold start list: Python / Rust",
            "cold start: list",
            "python-one-liner",
            "rust-cli",
            Row::ms_per_op,
            AtLeast(20.0),
        ),
        (
            "exec overhead: router / bare spawn",
            "exec",
            "router-exec",
            "bare-spawn",
            Row::ms_per_op,
            AtMost(2.0),
        ),
    ];
    let mut out: Vec<Target> = ratios
        .into_iter()
        .map(|(name, scenario, a, b, metric, bound)| {
            let value = find(rows, scenario, a)
                .zip(find(rows, scenario, b))
                .map(|(a, b)| metric(a) / metric(b));
            target(name, &bound.goal(), value, "x", move |v| bound.holds(v))
        })
        .collect();
    let rust_rss = ["rust-blocking-stream", "rust-async-stream"]
        .iter()
        .filter_map(|c| find(rows, &biggest, c).map(Row::rss_mib))
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    // After the stream rows, as in the table of BENCHMARKS.md.
    out.insert(
        7,
        target(
            &format!("Rust client peak RSS, {biggest}"),
            "< 20 MiB",
            rust_rss,
            " MiB",
            |v| v < 20.0,
        ),
    );
    out
}

fn machine() -> Value {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    let date = Command::new("date").arg("-u").arg("+%Y-%m-%dT%H:%M:%SZ").output().ok();
    let date = date
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    json!({"cores": cores, "memory_gib": mem_kib as f64 / 1048576.0, "cpu": cpu, "date": date, "python_sdk": python::VERSION})
}
