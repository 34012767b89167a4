//! Workspace files as MCP resources: `agenttier://{sandbox_id}/workspace/{path}`.
//!
//! A URI ending in `/` is a directory and reads as its JSON listing; any other URI reads as the
//! file, as text when it is UTF-8 and as a base64 blob otherwise, with a MIME type guessed from
//! its name. `resources/list` offers the workspace root and its top-level entries of every
//! Running sandbox; the template reaches everything below.

use agenttier::Client;
use agenttier::models::{FileEntry, SandboxFilter, SandboxPhase, WORKSPACE};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rmcp::ErrorData;
use rmcp::model::{Resource, ResourceContents, ResourceTemplate};
use serde_json::json;

use crate::reply::to_json;

/// The URI scheme.
const SCHEME: &str = "agenttier://";

/// Most resources `resources/list` returns: it is a starting point, the template reaches the rest.
const MAX_LISTED: usize = 500;

/// The resource template of every workspace file.
pub(crate) fn template() -> ResourceTemplate {
    ResourceTemplate::new("agenttier://{sandbox_id}/workspace/{+path}", "workspace-file")
        .with_title("A file in a sandbox's workspace")
        .with_description(
            "A file (or, with a trailing '/', a directory listing as JSON) under /workspace of a Running sandbox",
        )
}

/// The URI of a path (absolute, under /workspace) of a sandbox.
fn uri(sandbox_id: &str, path: &str) -> String {
    format!("{SCHEME}{sandbox_id}{path}")
}

/// Splits a URI into the sandbox id and the absolute path, refusing anything else.
fn parse(uri: &str) -> Result<(&str, &str), ErrorData> {
    let invalid = || {
        ErrorData::invalid_params(
            format!("{uri:?} is not a workspace resource: use agenttier://<sandbox_id>/workspace/<path>"),
            None,
        )
    };
    let rest = uri.strip_prefix(SCHEME).ok_or_else(invalid)?;
    let slash = rest.find('/').ok_or_else(invalid)?;
    let (sandbox, path) = rest.split_at(slash);
    let under_workspace = path == WORKSPACE || path.starts_with(&format!("{WORKSPACE}/"));
    if sandbox.is_empty() || !under_workspace {
        return Err(invalid());
    }
    Ok((sandbox, path))
}

/// The MIME type of a file name.
fn mime(path: &str) -> String {
    mime_guess::from_path(path)
        .first_or_text_plain()
        .essence_str()
        .to_owned()
}

fn entry_resource(sandbox_id: &str, dir: &str, entry: &FileEntry) -> Resource {
    let path = format!("{}/{}", dir.trim_end_matches('/'), entry.name);
    if entry.is_dir {
        Resource::new(uri(sandbox_id, &format!("{path}/")), format!("{sandbox_id}:{path}/"))
            .with_mime_type("application/json")
            .with_description("directory listing")
    } else {
        Resource::new(uri(sandbox_id, &path), format!("{sandbox_id}:{path}"))
            .with_mime_type(mime(&path))
            .with_size(entry.size)
    }
}

/// The workspace root and top-level entries of every Running sandbox.
pub(crate) async fn list(client: &Client) -> Result<Vec<Resource>, ErrorData> {
    let sandboxes = client
        .list_sandboxes(SandboxFilter::all().phase(SandboxPhase::Running))
        .await
        .map_err(|e| to_protocol(&e))?;
    let mut resources = Vec::new();
    for sandbox in sandboxes {
        let id = sandbox.id().to_owned();
        resources.push(
            Resource::new(uri(&id, &format!("{WORKSPACE}/")), format!("{id}:{WORKSPACE}/"))
                .with_mime_type("application/json")
                .with_description(format!("the workspace of sandbox {id} (directory listing)")),
        );
        // A sandbox that stops between the two calls just has no entries listed.
        if let Ok(entries) = client.sandbox(&id).files().list(WORKSPACE).await {
            resources.extend(entries.iter().map(|e| entry_resource(&id, WORKSPACE, e)));
        }
        if resources.len() >= MAX_LISTED {
            resources.truncate(MAX_LISTED);
            break;
        }
    }
    Ok(resources)
}

/// Reads one resource.
pub(crate) async fn read(client: &Client, uri_text: &str) -> Result<ResourceContents, ErrorData> {
    let (sandbox_id, path) = parse(uri_text)?;
    let files = client.sandbox(sandbox_id).files();
    if path.ends_with('/') || path == WORKSPACE {
        let entries = files.list(path).await.map_err(|e| to_protocol(&e))?;
        let listing = json!({ "path": path, "entries": to_json(&entries) });
        return Ok(ResourceContents::text(listing.to_string(), uri_text).with_mime_type("application/json"));
    }
    let bytes = files.read(path).await.map_err(|e| to_protocol(&e))?;
    let mime = mime(path);
    Ok(match String::from_utf8(bytes) {
        Ok(text) => ResourceContents::text(text, uri_text).with_mime_type(mime),
        Err(raw) => {
            let mime = if mime.starts_with("text/") {
                "application/octet-stream".to_owned()
            } else {
                mime
            };
            ResourceContents::blob(BASE64.encode(raw.as_bytes()), uri_text).with_mime_type(mime)
        }
    })
}

/// Resource reads are protocol requests, so their errors are protocol errors (not found is
/// MCP's resource-not-found), still carrying the class and message.
fn to_protocol(e: &agenttier::Error) -> ErrorData {
    let data = Some(json!({ "error_message": e.to_string(), "status": e.status() }));
    match e {
        agenttier::Error::NotFound { .. } => ErrorData::resource_not_found(e.to_string(), data),
        agenttier::Error::InvalidInput { .. } => ErrorData::invalid_params(e.to_string(), data),
        _ => ErrorData::internal_error(e.to_string(), data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_parse_and_refuse() {
        assert_eq!(
            parse("agenttier://demo/workspace/src/a.py").unwrap(),
            ("demo", "/workspace/src/a.py")
        );
        assert_eq!(parse("agenttier://demo/workspace/").unwrap(), ("demo", "/workspace/"));
        for bad in [
            "file:///etc/passwd",
            "agenttier://demo/etc/passwd",
            "agenttier:///workspace/a",
            "agenttier://demo",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(mime("/workspace/a.json"), "application/json");
        assert_eq!(mime("/workspace/README"), "text/plain");
    }
}
