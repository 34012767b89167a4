//! What one client process reports about itself: wall time and CPU of its workload, peak memory.

use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};
use serde_json::{Value, json};

/// CPU time used by this process so far (user, system).
fn cpu() -> (Duration, Duration) {
    let usage = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let tv = |t: nix::sys::time::TimeVal| Duration::new(t.tv_sec() as u64, (t.tv_usec() * 1000) as u32);
    (tv(usage.user_time()), tv(usage.system_time()))
}

/// Peak resident memory of this process, in KiB: `VmHWM`, the high-water mark of its own address
/// space. Not `getrusage`'s `ru_maxrss`, which Linux carries across `execve`: a child spawned by
/// the benchmark (vfork + exec) would report the parent's peak, router included.
fn max_rss_kib() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or_else(|| getrusage(UsageWho::RUSAGE_SELF).map(|u| u.max_rss()).unwrap_or(0))
}

/// Runs `work` and returns the figures a client child prints: `{wall_s, user_s, sys_s, ops, max_rss_kib}`.
pub fn measure(ops: usize, work: impl FnOnce()) -> Value {
    let (user0, sys0) = cpu();
    let started = Instant::now();
    work();
    let wall = started.elapsed();
    let (user1, sys1) = cpu();
    json!({
        "wall_s": wall.as_secs_f64(),
        "user_s": (user1 - user0).as_secs_f64(),
        "sys_s": (sys1 - sys0).as_secs_f64(),
        "ops": ops,
        "max_rss_kib": max_rss_kib(),
    })
}
