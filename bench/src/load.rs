//! `load`: a bounded load test of the local router through the async client, on loopback.
//!
//! ```text
//! cargo run --release -p agenttier-bench --bin load                       # 20 sandboxes, 1000 execs, 100 in flight
//! cargo run --release -p agenttier-bench --bin load -- --sandboxes 5 --execs 200 --in-flight 20 --deadline 120
//! ```
//!
//! Starts an in-process router (API-key auth), creates the sandboxes concurrently and waits for
//! them to run, then spreads the execs over them round-robin with at most `--in-flight` at
//! once. Every exec must succeed with the expected output; any error is counted and makes the
//! program exit non-zero. Latency percentiles (p50/p90/p99/max) of the execs and of the
//! creates are printed, with the throughput. The whole run is bounded by `--deadline` seconds.
//! Then, with every sandbox alive: the process's memory growth per sandbox (router and client
//! share the process; the client's part is small), and the time to list them all. After the
//! deletes it checks that nothing is left: sandbox processes, cgroups, mounts, workspace files
//! (a leak is an error). Figures are reported, never asserted.
//!
//! The scale row of BENCHMARKS.md: `--sandboxes 500 --execs 500 --in-flight 50`.

#![allow(missing_docs)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use agenttier::Client;
use agenttier::models::{CreateSandbox, Exec};
use agenttier_router::{LocalRouter, RouterOptions};
use futures_util::StreamExt;
use futures_util::stream;

struct Args {
    sandboxes: usize,
    execs: usize,
    in_flight: usize,
    deadline: Duration,
}

fn args() -> Result<Args, String> {
    let mut out = Args {
        sandboxes: 20,
        execs: 1000,
        in_flight: 100,
        deadline: Duration::from_secs(600),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || -> Result<u64, String> {
            it.next()
                .ok_or(format!("{flag} needs a value"))?
                .parse()
                .map_err(|e| format!("{flag}: {e}"))
        };
        match flag.as_str() {
            "--sandboxes" => out.sandboxes = value()? as usize,
            "--execs" => out.execs = value()? as usize,
            "--in-flight" => out.in_flight = value()? as usize,
            "--deadline" => out.deadline = Duration::from_secs(value()?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if out.sandboxes == 0 || out.in_flight == 0 {
        return Err("--sandboxes and --in-flight must be positive".into());
    }
    Ok(out)
}

/// `(p50, p90, p99, max)` of the samples, nearest-rank.
fn percentiles(samples: &mut [Duration]) -> [Duration; 4] {
    samples.sort_unstable();
    let at = |p: f64| {
        if samples.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
        samples[rank.clamp(1, samples.len()) - 1]
    };
    [at(50.0), at(90.0), at(99.0), *samples.last().unwrap_or(&Duration::ZERO)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn report(what: &str, samples: &mut [Duration], wall: Duration) {
    let n = samples.len();
    let [p50, p90, p99, max] = percentiles(samples);
    println!(
        "{what:<8} n={n:<5} p50={:<10} p90={:<10} p99={:<10} max={:<10} wall={:.2} s ({:.0}/s)",
        ms(p50),
        ms(p90),
        ms(p99),
        ms(max),
        wall.as_secs_f64(),
        n as f64 / wall.as_secs_f64().max(1e-9)
    );
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// What a router with this data directory may have left behind: processes whose command line
/// names it, sandbox cgroups named `load-*`, mounts under it, workspace directories.
/// The sandbox spawners this process started (children named `agenttier-spawn`): pid and
/// proportional set size in KiB.
fn spawners() -> Vec<(u32, u64)> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if std::fs::read(e.path().join("comm")).ok().as_deref() != Some(b"agenttier-spawn\n") {
            continue;
        }
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        if stat.rsplit(')').next().and_then(|r| r.split_whitespace().nth(1)) != Some(me.as_str()) {
            continue;
        }
        let pss = std::fs::read_to_string(e.path().join("smaps_rollup"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        found.push((pid, pss));
    }
    found
}

fn leftovers(data: &std::path::Path) -> Vec<String> {
    let mut found: Vec<String> = spawners().iter().map(|(pid, _)| format!("spawner {pid}")).collect();
    let needle = data.as_os_str().as_encoded_bytes();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if e.file_name().to_str().is_some_and(|n| n.parse::<u32>().is_ok()) {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            if cmd.windows(needle.len()).any(|w| w == needle) {
                found.push(format!("process {}", e.file_name().to_string_lossy()));
            }
        }
    }
    for root in [
        "/sys/fs/cgroup/pids",
        "/sys/fs/cgroup/memory",
        "/sys/fs/cgroup/cpu",
        "/sys/fs/cgroup",
    ] {
        let base = std::path::Path::new(root).join("agenttier");
        for tag in std::fs::read_dir(&base).into_iter().flatten().flatten() {
            for leaf in std::fs::read_dir(tag.path()).into_iter().flatten().flatten() {
                if leaf.file_name().to_string_lossy().starts_with("load-") {
                    found.push(format!("cgroup {}", leaf.path().display()));
                }
            }
        }
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    found.extend(
        mounts
            .lines()
            .filter(|l| l.contains(data.to_str().unwrap_or("\0")))
            .map(|l| format!("mount {l}")),
    );
    for dir in ["sandboxes", "trash"] {
        for e in std::fs::read_dir(data.join(dir)).into_iter().flatten().flatten() {
            found.push(format!("file {}", e.path().display()));
        }
    }
    found
}

async fn run(args: &Args, client: &Client, data: &std::path::Path) -> Result<usize, String> {
    // Create every sandbox at once, then wait for all to run.
    let rss_before = rss_kib();
    let started = Instant::now();
    let mut creates = Vec::new();
    let handles: Vec<_> = stream::iter(0..args.sandboxes)
        .map(|i| async move {
            let t = Instant::now();
            let sb = client
                .create_sandbox(CreateSandbox::new("general-coding", format!("load-{i}")))
                .await
                .map_err(|e| format!("create load-{i}: {e}"))?;
            sb.wait_until_running(Duration::from_secs(120))
                .await
                .map_err(|e| format!("wait load-{i}: {e}"))?;
            Ok::<_, String>((sb, t.elapsed()))
        })
        .buffer_unordered(args.sandboxes)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .map(|r| {
            r.map(|(sb, took)| {
                creates.push(took);
                sb
            })
        })
        .collect::<Result<_, _>>()?;
    report("create", &mut creates, started.elapsed());
    let rss_after = rss_kib();
    println!(
        "memory: {} KiB before, {} KiB with {} sandboxes alive: {:.1} KiB per sandbox",
        rss_before,
        rss_after,
        handles.len(),
        rss_after.saturating_sub(rss_before) as f64 / handles.len() as f64
    );
    let spawners = spawners();
    println!(
        "spawners: {} alive, {:.0} KiB proportional set size each on average",
        spawners.len(),
        spawners.iter().map(|(_, pss)| *pss).sum::<u64>() as f64 / spawners.len().max(1) as f64
    );
    let t = Instant::now();
    let listed = client
        .list_sandboxes(Default::default())
        .await
        .map_err(|e| format!("list: {e}"))?;
    println!("list: {} sandboxes in {}", listed.len(), ms(t.elapsed()));

    let started = Instant::now();
    let handles = &handles;
    let results: Vec<Result<Duration, String>> = stream::iter(0..args.execs)
        .map(|i| async move {
            let sb = &handles[i % handles.len()];
            let t = Instant::now();
            let out = sb
                .exec(Exec::new(format!("echo {i}")))
                .await
                .map_err(|e| format!("exec {i}: {e}"))?;
            let took = t.elapsed();
            if out.exit_code != 0 || out.stdout != format!("{i}\n") {
                return Err(format!("exec {i}: unexpected {out:?}"));
            }
            Ok(took)
        })
        .buffer_unordered(args.in_flight)
        .collect()
        .await;
    let wall = started.elapsed();
    let mut errors = 0;
    let mut latencies = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(d) => latencies.push(d),
            Err(e) => {
                errors += 1;
                if errors <= 5 {
                    eprintln!("error: {e}");
                }
            }
        }
    }
    report("exec", &mut latencies, wall);
    let t = Instant::now();
    stream::iter(handles)
        .for_each_concurrent(args.in_flight, |sb| async move {
            if let Err(e) = sb.terminate().await {
                eprintln!("error: delete: {e}");
            }
        })
        .await;
    println!("delete: {} sandboxes in {}", handles.len(), ms(t.elapsed()));
    // Deletes end processes at once and remove cgroups and trash in the background.
    let deadline = Instant::now() + Duration::from_secs(30);
    let left = loop {
        let left = leftovers(data);
        if left.is_empty() || Instant::now() > deadline {
            break left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("left after delete: {}", left.len());
    for l in left.iter().take(5) {
        eprintln!("leftover: {l}");
    }
    Ok(errors + left.len())
}

fn main() -> ExitCode {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("load: {e}");
            return ExitCode::from(2);
        }
    };
    let router = match LocalRouter::start(RouterOptions::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("load: router: {e}");
            return ExitCode::FAILURE;
        }
    };
    let client = Client::builder()
        .base_url(router.url())
        .api_key(router.admin_key())
        .and_then(|b| b.timeout(Duration::from_secs(120)).build())
        .expect("client");
    println!(
        "load: {} sandboxes, {} execs, {} in flight, deadline {} s, on {}",
        args.sandboxes,
        args.execs,
        args.in_flight,
        args.deadline.as_secs(),
        router.url()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let data = router.data_dir().to_path_buf();
    let outcome = rt.block_on(async { tokio::time::timeout(args.deadline, run(&args, &client, &data)).await });
    router.shutdown();
    match outcome {
        Ok(Ok(0)) => {
            println!("errors: 0");
            ExitCode::SUCCESS
        }
        Ok(Ok(n)) => {
            println!("errors: {n}");
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            eprintln!("load: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("load: deadline of {} s reached", args.deadline.as_secs());
            ExitCode::FAILURE
        }
    }
}
