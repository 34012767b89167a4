//! Files of a sandbox (wire spec §5): list a directory, read and write a file, zip a directory.
//! Remote paths are checked first (see [`RemotePath`] for the rules).

use super::sandbox_path;
use crate::Result;
use crate::models::{RemotePath, check_file_size};
use crate::request::{Accept, Request};

/// `GET /sandboxes/{id}/files/?path={dir}`: the entries of a directory.
pub fn list(id: &str, dir: &str) -> Result<Request> {
    let dir = RemotePath::dir(dir)?;
    Ok(Request::get(sandbox_path(id, "/files/")?).query("path", dir.absolute()))
}

/// `GET /sandboxes/{id}/files/{path}`: a file's bytes.
pub fn download(id: &str, path: &str) -> Result<Request> {
    Ok(Request::get(file_path(id, &RemotePath::file(path)?)?).accept(Accept::Bytes))
}

/// `PUT /sandboxes/{id}/files/{path}` with `data` (at most 32 MiB).
pub fn write(id: &str, path: &str, data: Vec<u8>) -> Result<Request> {
    let path = RemotePath::file(path)?;
    check_file_size(data.len() as u64)?;
    Ok(Request::put(file_path(id, &path)?).bytes(data, "application/octet-stream"))
}

/// `PUT /sandboxes/{id}/files/{path}` without a body: the caller streams it.
pub fn upload(id: &str, path: &str) -> Result<Request> {
    Ok(Request::put(file_path(id, &RemotePath::file(path)?)?))
}

/// `GET /sandboxes/{id}/archive?path={dir}`: a zip of a directory (`/workspace` or below).
pub fn archive(id: &str, dir: &str) -> Result<Request> {
    let dir = RemotePath::dir(dir)?;
    Ok(Request::get(sandbox_path(id, "/archive")?)
        .query("path", dir.absolute())
        .accept(Accept::Bytes))
}

fn file_path(id: &str, path: &RemotePath) -> Result<String> {
    sandbox_path(id, &format!("/files/{}", path.url_tail()))
}
