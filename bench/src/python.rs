//! The official Python SDK, installed from PyPI into a virtual environment of the benchmark's own,
//! and the workloads it runs (the same as the Rust children's, reporting the same figures).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The published version compared against.
pub const VERSION: &str = "0.8.1";

const SCRIPT: &str = r#"
import asyncio, json, os, resource, sys, time
from agenttier import AgentTierClient, AsyncAgentTierClient, APIKeyAuth

kind, url, sandbox, ops, conc = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
key = os.environ["AGENTTIER_API_KEY"]

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime

def peak_rss_kib():
    # VmHWM: this process's own peak (ru_maxrss would carry the spawning parent's across exec).
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

def report(wall, u0, s0):
    u1, s1 = cpu()
    print(json.dumps({"wall_s": wall, "user_s": u1 - u0, "sys_s": s1 - s0, "ops": ops,
                      "max_rss_kib": peak_rss_kib()}))

def measure(fn):
    u0, s0 = cpu(); t0 = time.perf_counter(); fn(); report(time.perf_counter() - t0, u0, s0)

async def measure_async(coro_fn):
    u0, s0 = cpu(); t0 = time.perf_counter(); await coro_fn(); report(time.perf_counter() - t0, u0, s0)

if kind == "python-sync-get":
    client = AgentTierClient(url, auth=APIKeyAuth(key))
    client.get_sandbox(sandbox)
    measure(lambda: [client.get_sandbox(sandbox) for _ in range(ops)])
elif kind == "python-async-get":
    async def main():
        client = AsyncAgentTierClient(url, auth=APIKeyAuth(key))
        await client.get_sandbox(sandbox)
        gate = asyncio.Semaphore(conc)
        async def one():
            async with gate:
                await client.get_sandbox(sandbox)
        async def everything():
            await asyncio.gather(*(one() for _ in range(ops)))
        await measure_async(everything)
    asyncio.run(main())
elif kind == "python-stream":
    client = AgentTierClient(url, auth=APIKeyAuth(key))
    agent = client.get_sandbox(sandbox).agent
    def run():
        lines = sum(1 for event in agent.invoke_stream(timeout=3600) if event.event == "log")
        assert lines == ops, lines
    measure(run)
else:
    raise SystemExit("unknown kind " + kind)
"#;

/// A ready virtual environment with the Python SDK.
pub struct Python {
    pub interpreter: PathBuf,
    pub script: PathBuf,
}

/// Creates (once) `<dir>/venv` with `agenttier==0.8.1` from PyPI and writes the workload script.
pub fn prepare(dir: &Path) -> Result<Python, String> {
    let venv = dir.join("venv");
    let interpreter = venv.join("bin/python");
    let installed = Command::new(&interpreter)
        .args([
            "-c",
            &format!("import agenttier; assert agenttier.__version__ == '{VERSION}'"),
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        eprintln!("preparing the Python SDK {VERSION} in {} ...", venv.display());
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        run(Command::new(&interpreter).args(["-m", "pip", "install", "-q", &format!("agenttier=={VERSION}")]))?;
    }
    let script = dir.join("python_workloads.py");
    std::fs::write(&script, SCRIPT).map_err(|e| e.to_string())?;
    Ok(Python { interpreter, script })
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr)))
    }
}
