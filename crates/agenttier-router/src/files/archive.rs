//! `GET /api/v1/sandboxes/{id}/archive?path=` (wire spec §5.4): a zip of a directory, streamed.
//!
//! A blocking thread walks the directory and writes the zip (the `zip` crate in streaming mode,
//! sizes in data descriptors) into a writer whose buffers go through a small bounded channel to
//! the response body. Memory stays at a few chunks whatever the archive's size; a slow client
//! slows the walk down, and a client that goes away ends it. Regular files are deflated,
//! directories stored, symlinks stored as a file holding the link target (never followed), FIFOs,
//! sockets and devices skipped without being opened, as the Router does. Like the Router, it stops after 5 GiB or 2 hours: failures after
//! the headers are sent can only cut the zip short.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Query;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use nix::fcntl::{AtFlags, readlinkat};
use nix::sys::stat::{FileStat, fstatat};
use tokio::sync::mpsc;
use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::{CHUNK, blocking, confined, read_error, requested_dir, safe_file_name};
use crate::errors::ApiError;
use crate::running::RunningSandbox;

/// Compressed bytes streamed at most (as the Router's `archiveMaxBytes`).
const MAX_ARCHIVE_BYTES: u64 = 5 << 30;
/// Longest an archive may stream (as the Router's `archiveStreamTimeout`).
const MAX_ARCHIVE_TIME: Duration = Duration::from_secs(2 * 3600);
/// Chunks in flight between the zip thread and the response.
const CHANNEL_CHUNKS: usize = 4;

pub(crate) async fn archive(
    RunningSandbox { id, workspace: root }: RunningSandbox,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let dir = requested_dir(&q)?;
    let wire = dir.wire.clone();
    let parts = dir.parts.clone();
    let source = blocking(move || {
        let missing = || format!("directory not found: {wire}");
        match confined::Root::open(&root).and_then(|r| r.open_dir(&parts)) {
            Ok(Some(fd)) => Ok(fd),
            Ok(None) => Err(ApiError::not_found(missing())),
            Err(e) => Err(read_error(e, &wire, missing())),
        }
    })
    .await?;

    let (tx, mut rx) = mpsc::channel::<Bytes>(CHANNEL_CHUNKS);
    let sandbox = id.clone();
    tokio::task::spawn_blocking(move || {
        let out = ChannelWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
            sent: 0,
            started: Instant::now(),
        };
        if let Err(e) = write_zip(&source, out) {
            tracing::warn!(sandbox = %sandbox, error = %e, "archive stream ended early");
        }
    });
    let body = Body::from_stream(futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx).map(|c| c.map(Ok::<_, io::Error>))
    }));

    let base = safe_file_name(dir.wire.rsplit('/').next().unwrap_or(""), "workspace");
    let filename = format!("{}-{base}.zip", safe_file_name(&id, "sandbox"));
    let mut resp = body.into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// Buffers writes into [`CHUNK`]-sized pieces and hands them to the response, waiting while the
/// channel is full. Fails once the client is gone or a cap is reached.
struct ChannelWriter {
    tx: mpsc::Sender<Bytes>,
    buf: Vec<u8>,
    sent: u64,
    started: Instant,
}

impl ChannelWriter {
    fn send_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.sent += self.buf.len() as u64;
        if self.sent > MAX_ARCHIVE_BYTES {
            return Err(io::Error::other("archive size limit exceeded"));
        }
        if self.started.elapsed() > MAX_ARCHIVE_TIME {
            return Err(io::Error::other("archive time limit exceeded"));
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.send_buf()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buf()
    }
}

fn write_zip(root: &OwnedFd, out: ChannelWriter) -> io::Result<()> {
    let mut zip = ZipWriter::new_stream(out);
    add_dir(&mut zip, root, "")?;
    let mut out = zip.finish().map_err(io::Error::other)?;
    out.flush()
}

fn options(st: &FileStat, method: CompressionMethod) -> SimpleFileOptions {
    let opts = SimpleFileOptions::default()
        .compression_method(method)
        .large_file(st.st_size as u64 >= u32::MAX as u64);
    match modified(st.st_mtime) {
        Some(t) => opts.last_modified_time(t),
        None => opts,
    }
}

fn modified(secs: i64) -> Option<DateTime> {
    let t = time::OffsetDateTime::from_unix_timestamp(secs).ok()?;
    DateTime::from_date_and_time(
        u16::try_from(t.year()).ok()?,
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
    .ok()
}

/// Adds the entries of `dir` (depth first, in name order) under the zip prefix `prefix`. Every
/// entry is opened relative to its directory without following links; special files are skipped
/// unopened.
fn add_dir(zip: &mut ZipWriter<StreamWriter<ChannelWriter>>, dir: &OwnedFd, prefix: &str) -> io::Result<()> {
    for name in confined::names(dir)? {
        let Ok(st) = fstatat(dir, name.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW) else {
            continue; // removed meanwhile
        };
        let entry = format!("{prefix}{name}");
        match confined::kind_of(&st) {
            confined::Kind::Dir => {
                let Ok(sub) = confined::open_subdir(dir, &name) else {
                    continue;
                };
                zip.add_directory(format!("{entry}/"), options(&st, CompressionMethod::Stored))
                    .map_err(io::Error::other)?;
                add_dir(zip, &sub, &format!("{entry}/"))?;
            }
            confined::Kind::Link => {
                let target = readlinkat(dir, name.as_str())?;
                zip.start_file(entry, options(&st, CompressionMethod::Stored))
                    .map_err(io::Error::other)?;
                zip.write_all(target.to_string_lossy().as_bytes())?;
            }
            confined::Kind::File => {
                let Ok(Some((mut file, _))) = confined::open_regular(dir, &name) else {
                    continue;
                };
                zip.start_file(entry, options(&st, CompressionMethod::Deflated))
                    .map_err(io::Error::other)?;
                let mut buf = vec![0u8; CHUNK];
                loop {
                    let n = match file.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    };
                    zip.write_all(&buf[..n])?;
                }
            }
            confined::Kind::Special => {}
        }
    }
    Ok(())
}
