//! Files of one sandbox's workspace: list, read, write, upload, download and zip archives.
//!
//! Transfers are streamed in chunks in both flavours: uploads read the source as the request
//! body is sent, downloads write each chunk as it arrives, so memory stays flat whatever the
//! size. Only [`Files::read`] and [`Files::write`] hold a whole file, by definition. Paths are
//! checked before any request ([`RemotePath`](agenttier_core::models::RemotePath)): see that type
//! for the rules.

use std::path::Path;
use std::sync::Arc;

use agenttier_core::models::{FileEntry, MAX_FILE_BYTES, WriteResult, check_file_size};
use agenttier_core::request::Request;
use agenttier_core::{Error, Result, api, response};

use super::{Sandbox, exchange};
use crate::client::wire::Download;
use crate::fileio::{self, ReadSource, WriteSink};
use crate::maybe;

/// A progress callback: bytes moved so far, and the total when known.
type Progress = Arc<dyn Fn(u64, Option<u64>) + Send + Sync>;

/// File operations on one sandbox; obtained from [`Sandbox::files`].
///
/// Remote paths are absolute inside the sandbox (`/workspace/src/main.py`; the leading `/` is
/// optional). The Router serves files up to [`MAX_FILE_BYTES`] (32 MiB) each; larger uploads
/// are refused locally before anything is sent.
#[derive(Clone)]
pub struct Files {
    sandbox: Sandbox,
    progress: Option<Progress>,
}

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Files")
            .field("sandbox", &self.sandbox.id())
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// A file being downloaded, read as it arrives: `std::io::Read` in the blocking client,
/// `tokio::io::AsyncRead` in the async one. Reads use the stream idle timeout, never a total
/// one; dropping it closes the connection.
#[derive(Debug)]
#[must_use = "a download does nothing unless it is read"]
pub struct FileReader {
    pub(crate) inner: Download,
}

impl FileReader {
    /// The file's size as the Router announced it.
    pub fn len(&self) -> Option<u64> {
        self.inner.content_length()
    }

    /// Whether the Router announced an empty file.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

impl Sandbox {
    /// File operations on this sandbox's workspace.
    pub fn files(&self) -> Files {
        Files {
            sandbox: self.clone(),
            progress: None,
        }
    }
}

impl Files {
    /// Calls `progress(done, total)` as transfers (uploads, downloads, archives) move bytes;
    /// `total` is `None` when the size is not known in advance (archives, readers).
    pub fn with_progress(mut self, progress: impl Fn(u64, Option<u64>) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    fn report(&self, done: u64, total: Option<u64>) {
        if let Some(progress) = &self.progress {
            progress(done, total);
        }
    }
}

#[maybe]
impl Files {
    /// The entries of a directory (`.` and `..` left out).
    pub async fn list(&self, dir: &str) -> Result<Vec<FileEntry>> {
        let req = api::files::list(self.sandbox.id(), dir)?;
        exchange::list(&self.sandbox.client.transport, &req, "entries", "list files").await
    }

    /// A whole file, in memory (at most 32 MiB).
    pub async fn read(&self, path: &str) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut reader = self.open(path).await?;
        let total = reader.len();
        while let Some(chunk) = reader.inner.next_chunk().await? {
            if (out.len() + chunk.len()) as u64 > MAX_FILE_BYTES {
                return Err(Error::stream(format!(
                    "the server sent more than {MAX_FILE_BYTES} bytes for one file"
                )));
            }
            out.extend_from_slice(chunk);
            self.report(out.len() as u64, total);
        }
        Ok(out)
    }

    /// A whole file as UTF-8 text.
    pub async fn read_to_string(&self, path: &str) -> Result<String> {
        let bytes = self.read(path).await?;
        String::from_utf8(bytes)
            .map_err(|e| response::decode_error(&format!("read {path} as UTF-8 text"), &e.to_string(), e.as_bytes()))
    }

    /// Opens a file for streaming reads (see [`FileReader`]); a missing file is
    /// [`Error::NotFound`].
    pub async fn open(&self, path: &str) -> Result<FileReader> {
        let req = api::files::download(self.sandbox.id(), path)?;
        let inner = exchange::download(&self.sandbox.client.transport, &req).await?;
        Ok(FileReader { inner })
    }

    /// Writes `data` (bytes or text) to a file, creating parent directories and replacing
    /// what was there.
    pub async fn write(&self, path: &str, data: impl Into<Vec<u8>>) -> Result<WriteResult> {
        let req = api::files::write(self.sandbox.id(), path, data.into())?;
        exchange::json(&self.sandbox.client.transport, &req, "write a file").await
    }

    /// Uploads a local file (at most 32 MiB), streaming it.
    ///
    /// The order is the Python SDK's (`upload(local_path, remote_path)`), and it cannot be
    /// swapped by accident: the local side is a [`Path`], the remote side a `&str`, and a `&str`
    /// is not a `&Path`, so swapped arguments do not compile.
    pub async fn upload(&self, local: &Path, remote: &str) -> Result<WriteResult> {
        let req = api::files::upload(self.sandbox.id(), remote)?;
        let (file, len) = fileio::open(local)
            .await
            .map_err(|e| Error::local_io(format!("opening {}", local.display()), e))?;
        check_file_size(len)?;
        self.put(&req, file, Some(len)).await
    }

    /// Uploads everything `reader` yields (at most 32 MiB: the upload fails locally, without
    /// creating the file, as soon as the reader goes past the limit).
    pub async fn upload_from<R: ReadSource>(&self, reader: R, remote: &str) -> Result<WriteResult> {
        let req = api::files::upload(self.sandbox.id(), remote)?;
        self.put(&req, reader, None).await
    }

    async fn put<R: ReadSource>(&self, req: &Request, reader: R, len: Option<u64>) -> Result<WriteResult> {
        let progress = |done: u64| self.report(done, len);
        let resp = exchange::upload(&self.sandbox.client.transport, req, reader, len, &progress).await?;
        response::decode("upload a file", &resp.body)
    }

    /// Downloads a file to a local path (created or truncated) and returns its size. On failure
    /// the partial local file is removed. Remote first, as in the Python SDK's
    /// `download(remote_path, local_path)`; the local side is a [`Path`], so swapped arguments
    /// do not compile.
    pub async fn download(&self, remote: &str, local: &Path) -> Result<u64> {
        let req = api::files::download(self.sandbox.id(), remote)?;
        self.fetch_to_path(&req, local).await
    }

    /// Downloads a file into `writer` and returns its size.
    pub async fn download_to<W: WriteSink>(&self, remote: &str, writer: W) -> Result<u64> {
        let req = api::files::download(self.sandbox.id(), remote)?;
        self.fetch(&req, writer).await
    }

    /// Downloads a zip of a directory (`/workspace` or below) to a local path and returns its
    /// size. Regular files are deflated, directories stored, symlinks stored as small files
    /// holding their target. Remote directory first, local file second (the Python SDK's
    /// order); the local side is a [`Path`], so swapped arguments do not compile.
    pub async fn archive(&self, dir: &str, local: &Path) -> Result<u64> {
        let req = api::files::archive(self.sandbox.id(), dir)?;
        self.fetch_to_path(&req, local).await
    }

    /// Streams a zip of a directory into `writer` and returns its size.
    pub async fn archive_to<W: WriteSink>(&self, dir: &str, writer: W) -> Result<u64> {
        let req = api::files::archive(self.sandbox.id(), dir)?;
        self.fetch(&req, writer).await
    }

    async fn fetch_to_path(&self, req: &Request, local: &Path) -> Result<u64> {
        // Ask first, so that a refused download leaves no empty local file behind.
        let body = exchange::download(&self.sandbox.client.transport, req).await?;
        let file = fileio::create(local)
            .await
            .map_err(|e| Error::local_io(format!("creating {}", local.display()), e))?;
        let copied = self.copy(body, file).await;
        if copied.is_err() {
            fileio::remove(local).await;
        }
        copied
    }

    async fn fetch<W: WriteSink>(&self, req: &Request, writer: W) -> Result<u64> {
        let body = exchange::download(&self.sandbox.client.transport, req).await?;
        self.copy(body, writer).await
    }

    async fn copy<W: WriteSink>(&self, mut body: Download, mut writer: W) -> Result<u64> {
        let total = body.content_length();
        let mut done = 0u64;
        while let Some(chunk) = body.next_chunk().await? {
            fileio::write_all(&mut writer, chunk)
                .await
                .map_err(|e| Error::local_io("writing the download", e))?;
            done += chunk.len() as u64;
            self.report(done, total);
        }
        fileio::flush(&mut writer)
            .await
            .map_err(|e| Error::local_io("writing the download", e))?;
        Ok(done)
    }
}
