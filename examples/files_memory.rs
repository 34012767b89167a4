//! Memory benchmark of file transfers (not a test): peak resident memory of the client process
//! and of the router while streaming a 1 GiB workspace archive and 32 MiB uploads and
//! downloads, through both clients.
//!
//! ```text
//! cargo build --release -p agenttier-router
//! cargo run --release -p agenttier-examples --example files_memory
//! ```
//!
//! The router runs as a child process (`agenttier-router serve --dev-auth`, found next to this
//! program in the target directory, or at `$AGENTTIER_ROUTER_BIN`), so its memory is measured
//! apart from the client's. Before each phase the peak of both processes is reset (Linux
//! `/proc/<pid>/clear_refs`); after it the new peak (`VmHWM`) is printed beside the resident
//! size at rest (`VmRSS`). Linux only.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agenttier::models::{CreateSandbox, Exec, MAX_FILE_BYTES};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Size of the workspace archived: 4 files of 256 MiB of random bytes (deflate cannot shrink it).
const ARCHIVE_FILES: u64 = 4;
const ARCHIVE_FILE_MIB: u64 = 256;

fn status_kib(pid: u32, field: &str) -> u64 {
    let path = format!("/proc/{pid}/status");
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

struct Router {
    child: Child,
    url: String,
    _data: tempdir::Dir,
}

impl Drop for Router {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary directory removed on drop (no extra dependency for one directory).
mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn router_binary() -> BoxResult<PathBuf> {
    if let Ok(p) = std::env::var("AGENTTIER_ROUTER_BIN") {
        return Ok(p.into());
    }
    let exe = std::env::current_exe()?;
    // target/<profile>/examples/files_memory → target/<profile>/agenttier-router
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("agenttier-router"))
        .ok_or("no target directory")?;
    if !bin.exists() {
        return Err(format!(
            "{} not found: run `cargo build --release -p agenttier-router` first or set AGENTTIER_ROUTER_BIN",
            bin.display()
        )
        .into());
    }
    Ok(bin)
}

fn start_router() -> BoxResult<Router> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let data = std::env::temp_dir().join(format!("agenttier-files-memory-{}", std::process::id()));
    std::fs::create_dir_all(&data)?;
    let mut child = Command::new(router_binary()?)
        .args(["serve", "--dev-auth", "--start-delay", "100ms", "--log-level", "warn"])
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(err) = child.stderr.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                eprintln!("router: {line}");
            }
        });
    }
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("the router did not start listening".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Router {
        child,
        url,
        _data: tempdir::Dir(data),
    })
}

struct Meter {
    router: u32,
}

impl Meter {
    fn phase<T>(&self, name: &str, f: impl FnOnce() -> BoxResult<T>) -> BoxResult<T> {
        let me = std::process::id();
        let (client_rest, router_rest) = (status_kib(me, "VmRSS:"), status_kib(self.router, "VmRSS:"));
        reset_peak(me);
        reset_peak(self.router);
        let started = Instant::now();
        let out = f()?;
        let took = started.elapsed();
        let (client_peak, router_peak) = (status_kib(me, "VmHWM:"), status_kib(self.router, "VmHWM:"));
        println!(
            "{name:<44} {:>7.1}s   client {:>6.1} → {:>6.1} MiB (+{:>5.1})   router {:>6.1} → {:>6.1} MiB (+{:>5.1})",
            took.as_secs_f64(),
            mib(client_rest),
            mib(client_peak),
            mib(client_peak.saturating_sub(client_rest)),
            mib(router_rest),
            mib(router_peak),
            mib(router_peak.saturating_sub(router_rest)),
        );
        Ok(out)
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Counts what is written and keeps nothing.
#[derive(Default)]
struct Count(u64);

impl std::io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() -> BoxResult<()> {
    if !Path::new("/proc/self/clear_refs").exists() {
        return Err("this benchmark reads /proc (Linux only)".into());
    }
    let router = start_router()?;
    let meter = Meter {
        router: router.child.id(),
    };
    let work = std::env::temp_dir().join(format!("agenttier-files-memory-local-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let _cleanup = tempdir::Dir(work.clone());
    let local = work.join("32MiB.bin");
    let mut data = vec![0u8; MAX_FILE_BYTES as usize];
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    std::fs::write(&local, &data)?;
    drop(data);

    let blocking = agenttier::blocking::Client::builder().base_url(&router.url).build()?;
    let sandbox = blocking.create_sandbox(CreateSandbox::new("general-coding", "files-memory"))?;
    sandbox.wait_until_running(Duration::from_secs(60))?;
    let made = sandbox.exec(
        Exec::new(format!(
            "mkdir -p /workspace/big && for i in $(seq 1 {ARCHIVE_FILES}); do head -c {ARCHIVE_FILE_MIB}M /dev/urandom > /workspace/big/part$i; done && du -sm /workspace/big"
        ))
        .timeout(Duration::from_secs(600)),
    )?;
    if !made.success() {
        return Err(format!("could not fill the workspace: {}", made.stderr).into());
    }
    println!(
        "workspace: {} MiB in {ARCHIVE_FILES} files; client idle RSS {:.1} MiB, router idle RSS {:.1} MiB\n",
        made.stdout.split_whitespace().next().unwrap_or("?"),
        mib(status_kib(std::process::id(), "VmRSS:")),
        mib(status_kib(meter.router, "VmRSS:")),
    );
    println!(
        "{:<44} {:>8}   {:<42}   {:<42}",
        "phase", "time", "client RSS at rest → peak (growth)", "router RSS at rest → peak (growth)"
    );

    let files = sandbox.files();
    meter.phase("blocking: upload 32 MiB (file)", || {
        Ok(files.upload(&local, "/workspace/up.bin")?)
    })?;
    meter.phase("blocking: download 32 MiB (file)", || {
        Ok(files.download("/workspace/up.bin", &work.join("down.bin"))?)
    })?;
    let size = meter.phase("blocking: archive 1 GiB (streamed)", || {
        Ok(files.archive_to("/workspace/big", Count::default())?)
    })?;
    println!("{:<44} {size} bytes of zip", "");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let client = agenttier::Client::builder().base_url(&router.url).build()?;
    let files = client.sandbox("files-memory").files();
    meter.phase("async: upload 32 MiB (file)", || {
        Ok(runtime.block_on(files.upload(&local, "/workspace/up2.bin"))?)
    })?;
    meter.phase("async: download 32 MiB (file)", || {
        Ok(runtime.block_on(files.download("/workspace/up2.bin", &work.join("down2.bin")))?)
    })?;
    let size = meter.phase("async: archive 1 GiB (streamed)", || {
        Ok(runtime.block_on(files.archive_to("/workspace/big", tokio::io::sink()))?)
    })?;
    println!("{:<44} {size} bytes of zip", "");
    let same = std::fs::read(work.join("down.bin"))? == std::fs::read(&local)?
        && std::fs::read(work.join("down2.bin"))? == std::fs::read(&local)?;
    println!("\nround trips byte-identical: {same}");
    sandbox.terminate()?;
    Ok(())
}
