//! How results look. JSON shapes of `--output json`: the keys of the Python CLI's JSON output
//! (snake_case, `null` for an absent value), so scripts written for it keep working; timestamps
//! are RFC 3339. And the text view of one sandbox.

use agenttier::models::{CommandResult, CurrentUser, FileEntry, ForwardedPort, SandboxInfo, Template};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::exit::Failure;
use crate::output::Out;

fn opt(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// A timestamp as RFC 3339.
pub fn rfc3339(t: Option<OffsetDateTime>) -> Option<String> {
    t.and_then(|t| t.format(&Rfc3339).ok())
}

/// A sandbox (`SandboxSummary` of the Python SDK, plus `mode`).
#[derive(Serialize)]
pub struct Sandbox<'a> {
    sandbox_id: &'a str,
    name: &'a str,
    namespace: &'a str,
    status: &'a str,
    pod_name: Option<&'a str>,
    pvc_name: Option<&'a str>,
    template_ref: Option<&'a str>,
    created_at: Option<String>,
    last_activity_at: Option<String>,
    created_by: Option<CreatedBy<'a>>,
    message: Option<&'a str>,
    mode: &'a str,
}

/// Who created a sandbox.
#[derive(Serialize)]
pub struct CreatedBy<'a> {
    email: Option<&'a str>,
    display_name: Option<&'a str>,
}

impl<'a> From<&'a SandboxInfo> for Sandbox<'a> {
    fn from(s: &'a SandboxInfo) -> Self {
        Sandbox {
            sandbox_id: s.id(),
            name: &s.name,
            namespace: &s.namespace,
            status: s.phase.as_str(),
            pod_name: opt(&s.pod_name),
            pvc_name: opt(&s.pvc_name),
            template_ref: opt(&s.template_ref),
            created_at: rfc3339(s.created_at),
            last_activity_at: rfc3339(s.last_activity_at),
            created_by: s.created_by.as_ref().map(|c| CreatedBy {
                email: opt(&c.email),
                display_name: opt(&c.display_name),
            }),
            message: opt(&s.message),
            mode: s.mode.as_str(),
        }
    }
}

/// The result of `sandbox exec`.
#[derive(Serialize)]
pub struct Command<'a> {
    stdout: &'a str,
    stderr: &'a str,
    exit_code: i32,
}

impl<'a> From<&'a CommandResult> for Command<'a> {
    fn from(r: &'a CommandResult) -> Self {
        Command {
            stdout: &r.stdout,
            stderr: &r.stderr,
            exit_code: r.exit_code,
        }
    }
}

/// A forwarded port.
#[derive(Serialize)]
pub struct Port<'a> {
    port: u16,
    protocol: &'a str,
    preview_url: Option<&'a str>,
    internal_url: Option<&'a str>,
}

impl<'a> From<&'a ForwardedPort> for Port<'a> {
    fn from(p: &'a ForwardedPort) -> Self {
        Port {
            port: p.port,
            protocol: &p.protocol,
            preview_url: p.preview_url.as_deref().and_then(opt),
            internal_url: p.internal_url.as_deref().and_then(opt),
        }
    }
}

/// A template; `spec` is passed through untouched.
#[derive(Serialize)]
pub struct TemplateView<'a> {
    name: &'a str,
    description: Option<&'a str>,
    image: Option<&'a str>,
    resource_version: Option<&'a str>,
    spec: &'a serde_json::Value,
}

impl<'a> From<&'a Template> for TemplateView<'a> {
    fn from(t: &'a Template) -> Self {
        TemplateView {
            name: &t.name,
            description: opt(&t.description),
            image: opt(&t.image),
            resource_version: opt(&t.resource_version),
            spec: &t.spec,
        }
    }
}

/// A directory entry (`FileEntry` of the Python SDK; `modified_at` in unix seconds).
#[derive(Serialize)]
pub struct File<'a> {
    name: &'a str,
    size: u64,
    is_dir: bool,
    mode: Option<&'a str>,
    modified_at: Option<i64>,
}

impl<'a> From<&'a FileEntry> for File<'a> {
    fn from(e: &'a FileEntry) -> Self {
        File {
            name: &e.name,
            size: e.size,
            is_dir: e.is_dir,
            mode: opt(&e.mode),
            modified_at: (e.modified_at != 0).then_some(e.modified_at),
        }
    }
}

/// The outcome of a file transfer: the remote path, the bytes moved, and the local side.
#[derive(Serialize)]
pub struct Transferred<'a> {
    /// The absolute path in the sandbox (the file, or the archived directory).
    pub path: &'a str,
    /// Bytes written (the file's size, or the archive's).
    pub bytes: u64,
    /// The local file, or `-` for stdin/stdout; absent for inline `write --data`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<String>,
}

/// The caller's identity.
#[derive(Serialize)]
pub struct User<'a> {
    sub: &'a str,
    email: Option<&'a str>,
    name: Option<&'a str>,
    groups: &'a [String],
    is_admin: bool,
}

impl<'a> From<&'a CurrentUser> for User<'a> {
    fn from(u: &'a CurrentUser) -> Self {
        User {
            sub: &u.sub,
            email: opt(&u.email),
            name: opt(&u.name),
            groups: &u.groups,
            is_admin: u.is_admin,
        }
    }
}

/// The outcome of an action without a result of its own (stop, resume, delete, remove port ...).
#[derive(Serialize)]
pub struct Action<'a> {
    /// The sandbox acted on.
    pub sandbox_id: &'a str,
    /// What was done, in the past tense (`stopped`, `resumed`, `deleted`, `port_removed`).
    pub action: &'a str,
    /// The port, for port actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// Something minted with its secret (an API key, a webhook's signing secret, a share link's
/// token), printed once because the server never shows the secret again.
#[derive(Serialize)]
pub struct Minted<'a> {
    /// The new thing's id.
    pub id: &'a str,
    /// The secret.
    pub secret: &'a str,
    /// When it stops working, if it does.
    pub expires_at: Option<String>,
}

/// Prints one sandbox, as JSON or as `key: value` lines.
pub fn describe(out: &mut Out, s: &SandboxInfo) -> Result<(), Failure> {
    if out.json() {
        return out.print_json(&Sandbox::from(s));
    }
    let created_by = s.created_by.as_ref().map_or(String::new(), |c| {
        if c.email.is_empty() {
            c.display_name.clone()
        } else {
            c.email.clone()
        }
    });
    let fields = [
        ("id", s.id().to_owned()),
        ("name", s.name.clone()),
        ("status", out.phase(s.phase.as_str())),
        (
            "template",
            if s.template_ref.is_empty() {
                "-".into()
            } else {
                s.template_ref.clone()
            },
        ),
        ("namespace", s.namespace.clone()),
        ("mode", s.mode.to_string()),
        ("pod", s.pod_name.clone()),
        ("created", rfc3339(s.created_at).unwrap_or_default()),
        ("last active", rfc3339(s.last_activity_at).unwrap_or_default()),
        ("created by", created_by),
        ("message", s.message.clone()),
    ];
    out.fields(&fields)
}
