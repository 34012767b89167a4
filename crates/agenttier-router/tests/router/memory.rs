//! What one flood of requests can make the router hold: 50 parallel execs of the worst kind
//! (both streams at their 8 MiB cap, every byte a NUL that JSON escapes to six) leave the
//! router's peak RSS under a stated ceiling, measured from `/proc/<pid>/status` of a router
//! process. Execs past the per-user bound answer `429` with `Retry-After`.

use std::sync::{Arc, Barrier};

use super::common::{Http, free_port, keys, serve_binary};

/// Peak RSS allowed to the router: 16 execs admitted (the per-user bound) × 16 MiB of captured
/// output, plus the process's own ~50 MiB and allocator slack. Unbounded, the same flood held
/// ~100 MiB of encoded JSON per exec (5 GiB).
const CEILING_MIB: u64 = 512;
const PARALLEL: usize = 50;
const WORST: &str = r#"{"command":"head -c 9000000 /dev/zero; head -c 9000000 /dev/zero >&2","timeout":120}"#;

fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

/// Posts an exec and reads the answer to its end without keeping it: status, Retry-After, size.
fn exec_discarding(base: &str, key: &str, sandbox: &str) -> (u16, Option<String>, u64) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(600)))
        .build()
        .into();
    let mut resp = agent
        .post(&format!("{base}/api/v1/sandboxes/{sandbox}/exec"))
        .header("X-API-Key", key)
        .header("Content-Type", "application/json")
        .send(WORST)
        .unwrap();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let size = std::io::copy(&mut resp.body_mut().as_reader(), &mut std::io::sink()).unwrap();
    (resp.status().as_u16(), retry, size)
}

#[test]
fn fifty_parallel_worst_case_execs_stay_under_the_memory_ceiling() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().canonicalize().unwrap();
    let key = keys(&data, &["create", "--name", "flood", "--admin"]).trim().to_owned();
    let port = free_port();
    let mut child = serve_binary(&data, port);
    let base = format!("http://127.0.0.1:{port}");
    let http = Http::new(&base, Some(&key));
    let sandboxes: Vec<String> = (0..5).map(|i| format!("mem{i}")).collect();
    for s in &sandboxes {
        http.create_running(s);
    }
    let before = peak_rss_mib(child.id());
    let start = Arc::new(Barrier::new(PARALLEL));
    let runs: Vec<_> = (0..PARALLEL)
        .map(|i| {
            let (base, key, sandbox, start) = (base.clone(), key.clone(), sandboxes[i % 5].clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                exec_discarding(&base, &key, &sandbox)
            })
        })
        .collect();
    let answers: Vec<_> = runs.into_iter().map(|t| t.join().unwrap()).collect();
    let peak = peak_rss_mib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let ok: Vec<_> = answers.iter().filter(|a| a.0 == 200).collect();
    let throttled: Vec<_> = answers.iter().filter(|a| a.0 == 429).collect();
    println!(
        "router peak RSS {peak} MiB (before the flood {before} MiB); {} execs answered, {} throttled",
        ok.len(),
        throttled.len()
    );
    assert_eq!(ok.len() + throttled.len(), PARALLEL, "{answers:?}");
    assert!(!ok.is_empty());
    for (_, _, size) in &ok {
        // {"stdout":"<8 MiB × 6>\n[truncated]","stderr":…,"exitCode":0}\n
        assert!(*size > 2 * 6 * 8 * 1024 * 1024, "a short answer: {size} bytes");
    }
    for (_, retry, _) in &throttled {
        assert_eq!(retry.as_deref(), Some("1"));
    }
    assert!(peak < CEILING_MIB, "router peak RSS {peak} MiB ≥ {CEILING_MIB} MiB");
}
