//! `GET /api/v1/sandboxes/{id}/files/{path}` (wire spec §5.2): the raw bytes, streamed, with
//! `Content-Length`; exactly the size that was checked against the 32 MiB limit is sent.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::io::AsyncReadExt;

use super::{CHUNK, MAX_FILE_BYTES, blocking, confined, paths, read_error, safe_file_name};
use crate::errors::ApiError;
use crate::running::RunningSandbox;

pub(crate) async fn download(
    RunningSandbox { workspace: root, .. }: RunningSandbox,
    Path((_, path)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let target = paths::resolve(&path)?;
    let wire = target.wire.clone();
    let (file, len) = blocking(move || {
        let missing = || format!("file not found: {}", target.wire);
        let opened = confined::Root::open(&root).and_then(|r| r.open_file(&target.parts));
        match opened {
            Ok(Some(found)) => Ok(found),
            Ok(None) => Err(ApiError::not_found(missing())),
            Err(e) => Err(read_error(e, &target.wire, missing())),
        }
    })
    .await?;
    if len > MAX_FILE_BYTES {
        return Err(ApiError::Json(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("file is {len} bytes, max {MAX_FILE_BYTES} — use the terminal for large files"),
        ));
    }
    let name = safe_file_name(wire.rsplit('/').next().unwrap_or(""), "file");
    let reader = tokio::fs::File::from_std(file).take(len);
    let chunks = futures_util::stream::unfold(reader, |mut reader| async move {
        let mut buf = vec![0u8; CHUNK];
        match reader.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(Bytes::from(buf)), reader))
            }
            Err(e) => Some((Err(e), reader)),
        }
    });
    let mut resp = Body::from_stream(chunks).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
