//! Local I/O of file transfers for the async client: tokio readers and writers and
//! `tokio::fs` files, under the names the shared client source calls (the blocking client has
//! the same names over `std::io`).

use std::io;
use std::path::Path;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// What an upload reads from: any [`tokio::io::AsyncRead`] that is `Unpin + Send` (a
/// `tokio::fs::File`, `&[u8]`, `&mut impl AsyncRead`, ...).
pub trait ReadSource: AsyncRead + Unpin + Send {}

impl<T: AsyncRead + Unpin + Send + ?Sized> ReadSource for T {}

/// What a download writes to: any [`tokio::io::AsyncWrite`] that is `Unpin + Send` (a
/// `tokio::fs::File`, `Vec<u8>`, `&mut impl AsyncWrite`, ...).
pub trait WriteSink: AsyncWrite + Unpin + Send {}

impl<T: AsyncWrite + Unpin + Send + ?Sized> WriteSink for T {}

/// Opens a local file for an upload, with its size.
pub(crate) async fn open(path: &Path) -> io::Result<(tokio::fs::File, u64)> {
    let file = tokio::fs::File::open(path).await?;
    let meta = file.metadata().await?;
    if meta.is_dir() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "is a directory"));
    }
    Ok((file, meta.len()))
}

/// Creates (or truncates) a local file for a download.
pub(crate) async fn create(path: &Path) -> io::Result<tokio::fs::File> {
    tokio::fs::File::create(path).await
}

/// Removes a partial download, ignoring failures.
pub(crate) async fn remove(path: &Path) {
    let _ = tokio::fs::remove_file(path).await;
}

/// Reads some bytes.
pub(crate) async fn read_some<R: ReadSource + ?Sized>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    reader.read(buf).await
}

/// Writes a whole chunk.
pub(crate) async fn write_all<W: WriteSink + ?Sized>(writer: &mut W, buf: &[u8]) -> io::Result<()> {
    writer.write_all(buf).await
}

/// Flushes the writer at the end of a download (a `tokio::fs::File` finishes its last write
/// here).
pub(crate) async fn flush<W: WriteSink + ?Sized>(writer: &mut W) -> io::Result<()> {
    writer.flush().await
}
