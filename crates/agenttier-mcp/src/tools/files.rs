//! Workspace files: list, read (UTF-8 text, or base64 when the bytes are not text) and write
//! (text, or binary content sent as base64).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::reply::{Outcome, failure, invalid_argument, ok, reply};
use crate::server::AgentTierServer;

/// Arguments of `file_list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListArgs {
    /// The sandbox.
    pub sandbox_id: String,
    /// Directory to list: /workspace or a directory below it.
    #[serde(default = "default_dir")]
    #[schemars(default = "default_dir")]
    pub path: String,
}

fn default_dir() -> String {
    agenttier::models::WORKSPACE.to_owned()
}

/// Arguments of `file_read`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadArgs {
    /// The sandbox.
    pub sandbox_id: String,
    /// Absolute path of the file, under /workspace (e.g. /workspace/main.py).
    pub path: String,
}

/// How `content` is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub(crate) enum Encoding {
    /// Plain text, written as UTF-8.
    #[serde(rename = "utf-8")]
    Utf8,
    /// Binary content, base64-encoded (standard alphabet, with padding).
    #[serde(rename = "base64")]
    Base64,
}

/// Arguments of `file_write`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WriteArgs {
    /// The sandbox.
    pub sandbox_id: String,
    /// Absolute path of the file, under /workspace; parent directories are created.
    pub path: String,
    /// The new content of the file (it replaces what was there).
    pub content: String,
    /// How `content` is encoded: "utf-8" for text, "base64" for binary files.
    #[serde(default = "default_encoding")]
    #[schemars(default = "default_encoding")]
    pub encoding: Encoding,
}

fn default_encoding() -> Encoding {
    Encoding::Utf8
}

/// A file's bytes as the tools and resources return them: text when they are UTF-8, base64
/// (with `encoding: "base64"`) otherwise.
pub(crate) fn file_content(path: &str, bytes: Vec<u8>) -> Value {
    let size = bytes.len();
    match String::from_utf8(bytes) {
        Ok(text) => json!({ "path": path, "content": text, "encoding": "utf-8", "size": size }),
        Err(raw) => {
            json!({ "path": path, "content": BASE64.encode(raw.as_bytes()), "encoding": "base64", "size": size })
        }
    }
}

#[tool_router(router = file_tools, vis = "pub(crate)")]
impl AgentTierServer {
    /// List a directory of a sandbox's workspace: name, path, size, type, mode, modification time.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn file_list(&self, Parameters(args): Parameters<ListArgs>) -> Outcome {
        reply(self.client.sandbox(&args.sandbox_id).files().list(&args.path).await)
    }

    /// Read a file of a sandbox (at most 32 MiB). Returns {path, content, encoding, size}:
    /// encoding is "utf-8" for text, "base64" when the file is binary.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn file_read(&self, Parameters(args): Parameters<ReadArgs>) -> Outcome {
        match self.client.sandbox(&args.sandbox_id).files().read(&args.path).await {
            Ok(bytes) => ok(file_content(&args.path, bytes)),
            Err(e) => failure(&e),
        }
    }

    /// Create or replace a file in a sandbox (at most 32 MiB), text or base64-encoded binary.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn file_write(&self, Parameters(args): Parameters<WriteArgs>) -> Outcome {
        let bytes = match args.encoding {
            Encoding::Utf8 => args.content.into_bytes(),
            Encoding::Base64 => match BASE64.decode(args.content.trim()) {
                Ok(bytes) => bytes,
                Err(e) => {
                    return invalid_argument(format!(
                        "content is not valid base64 ({e}); send standard base64 with padding, or use encoding \"utf-8\" for text"
                    ));
                }
            },
        };
        reply(
            self.client
                .sandbox(&args.sandbox_id)
                .files()
                .write(&args.path, bytes)
                .await,
        )
    }
}
