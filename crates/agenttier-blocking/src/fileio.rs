//! Local I/O of file transfers for the blocking client: `std::io` readers and writers and
//! `std::fs` files, under the names the shared client source calls (the async client has the
//! same names over tokio).

use std::io::{self, Read, Write};
use std::path::Path;

/// What an upload reads from: any [`std::io::Read`] (a `File`, `&[u8]`, `&mut impl Read`, ...).
pub trait ReadSource: Read {}

impl<T: Read + ?Sized> ReadSource for T {}

/// What a download writes to: any [`std::io::Write`] (a `File`, `Vec<u8>`, `&mut impl Write`, ...).
pub trait WriteSink: Write {}

impl<T: Write + ?Sized> WriteSink for T {}

/// Opens a local file for an upload, with its size.
pub(crate) fn open(path: &Path) -> io::Result<(std::fs::File, u64)> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "is a directory"));
    }
    Ok((file, meta.len()))
}

/// Creates (or truncates) a local file for a download.
pub(crate) fn create(path: &Path) -> io::Result<std::fs::File> {
    std::fs::File::create(path)
}

/// Removes a partial download, ignoring failures.
pub(crate) fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}

/// Reads some bytes, retrying on `Interrupted`.
pub(crate) fn read_some<R: ReadSource + ?Sized>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Writes a whole chunk.
pub(crate) fn write_all<W: WriteSink + ?Sized>(writer: &mut W, buf: &[u8]) -> io::Result<()> {
    writer.write_all(buf)
}

/// Flushes the writer at the end of a download.
pub(crate) fn flush<W: WriteSink + ?Sized>(writer: &mut W) -> io::Result<()> {
    writer.flush()
}
