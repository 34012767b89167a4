//! Kubernetes credentials: bearer token, token file, basic auth and exec plugins.
//!
//! Exec plugins follow the `client.authentication.k8s.io` protocol (`v1` and `v1beta1`): the
//! plugin runs with `KUBERNETES_EXEC_INFO` set, prints an `ExecCredential` and we cache its
//! token until `expirationTimestamp` (or until the server answers 401, which re-runs it once).
//! This module only decides: it says *which* command to run ([`Credential::RunExec`]) and
//! parses its output; the client crates run it (the async one off the runtime's threads).
//! Plugins that return client certificates are refused with a clear error for now.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use http::HeaderValue;
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::auth::{Secret, TokenFile};
use crate::{Error, Result};

/// How requests to the API server authenticate (besides a client certificate, which is TLS).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum KubeAuth {
    /// Nothing (client certificates alone, or an anonymous server).
    #[default]
    None,
    /// A static bearer token.
    Token(Secret),
    /// A bearer token file, re-read whenever it changes (stat on each request, last good token
    /// kept while it cannot be read): service-account tokens rotate.
    TokenFile(TokenFile),
    /// HTTP basic auth (legacy).
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
    /// An exec plugin.
    Exec(ExecAuth),
}

/// What to send, or what to run first.
#[derive(Debug)]
#[non_exhaustive]
pub enum Credential {
    /// Send this `Authorization` value (or nothing).
    Header(Option<HeaderValue>),
    /// Run this plugin, give its output to [`ExecAuth::accept`], then ask again.
    RunExec(ExecCommand),
}

impl KubeAuth {
    /// The credential for the next request at time `now`.
    pub fn credential(&self, now: OffsetDateTime) -> Result<Credential> {
        let value = match self {
            KubeAuth::None => return Ok(Credential::Header(None)),
            KubeAuth::Token(token) => format!("Bearer {}", token.expose()),
            KubeAuth::TokenFile(file) => match file.token()? {
                Some(token) => format!("Bearer {}", token.expose()),
                None => {
                    return Err(Error::config(format!(
                        "token file {} is missing or empty",
                        file.path().display()
                    )));
                }
            },
            KubeAuth::Basic { username, password } => {
                use base64::Engine as _;
                let raw = format!("{username}:{}", password.expose());
                format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
            }
            KubeAuth::Exec(exec) => match exec.cached(now) {
                Some(token) => format!("Bearer {}", token.expose()),
                None => return Ok(Credential::RunExec(exec.command())),
            },
        };
        let mut value = HeaderValue::from_str(&value)
            .map_err(|_| Error::config("credential contains characters that cannot be sent in an HTTP header"))?;
        value.set_sensitive(true);
        Ok(Credential::Header(Some(value)))
    }

    /// [`credential`](Self::credential) at the current time.
    pub fn credential_now(&self) -> Result<Credential> {
        self.credential(OffsetDateTime::now_utc())
    }

    /// Takes the output of a [`Credential::RunExec`] command.
    pub fn accept_exec_output(&self, output: &ExecOutput) -> Result<()> {
        match self {
            KubeAuth::Exec(exec) => exec.accept(output),
            _ => Err(Error::config(
                "exec output given to credentials that are not an exec plugin",
            )),
        }
    }

    /// Forgets cached exec credentials (after a 401). Returns whether there was anything to forget.
    pub fn invalidate(&self) -> bool {
        match self {
            KubeAuth::Exec(exec) => exec.invalidate(),
            _ => false,
        }
    }

    /// A short description (never the secret).
    pub fn kind(&self) -> &'static str {
        match self {
            KubeAuth::None => "none",
            KubeAuth::Token(_) => "token",
            KubeAuth::TokenFile(_) => "token file",
            KubeAuth::Basic { .. } => "basic",
            KubeAuth::Exec(_) => "exec plugin",
        }
    }
}

/// The `exec` stanza of a kubeconfig user.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct ExecConfig {
    /// `client.authentication.k8s.io/v1` or `/v1beta1`.
    pub api_version: String,
    /// The program (a relative path with a separator is resolved against the kubeconfig's directory).
    pub command: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<ExecEnvVar>,
    /// Shown when the program cannot be found.
    pub install_hint: Option<String>,
    /// Pass the cluster's details in `KUBERNETES_EXEC_INFO`.
    pub provide_cluster_info: bool,
    /// `Never`, `IfAvailable` or `Always`; we never attach a terminal, so `Always` is refused.
    pub interactive_mode: Option<String>,
}

/// One `env` entry of an exec stanza.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ExecEnvVar {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// A plugin invocation, ready to run.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct ExecCommand {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables to add to the inherited environment (`KUBERNETES_EXEC_INFO` included).
    pub env: Vec<(String, String)>,
    /// Shown when the program cannot be run.
    pub install_hint: Option<String>,
}

impl fmt::Debug for ExecCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecCommand")
            .field("program", &self.program)
            .field("args", &self.args)
            .finish_non_exhaustive()
    }
}

impl ExecCommand {
    /// The error for a program that could not be started.
    pub fn spawn_error(&self, err: &std::io::Error) -> Error {
        let hint = self
            .install_hint
            .as_deref()
            .map(|h| format!("\n{h}"))
            .unwrap_or_default();
        Error::config(format!(
            "cannot run the kubeconfig exec plugin {}: {err}{hint}",
            self.program.display()
        ))
    }
}

/// What a plugin run produced.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExecOutput {
    /// Exit code (`None` when killed by a signal).
    pub status: Option<i32>,
    /// Standard output (the `ExecCredential`).
    pub stdout: Vec<u8>,
    /// Standard error, shown in errors.
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    /// From `std::process::Output`.
    pub fn from_std(out: std::process::Output) -> Self {
        ExecOutput {
            status: out.status.code(),
            stdout: out.stdout,
            stderr: out.stderr,
        }
    }
}

/// An exec plugin and its cached credential; clones share the cache.
#[derive(Clone)]
pub struct ExecAuth {
    config: ExecConfig,
    base_dir: Option<PathBuf>,
    cluster_info: Option<Value>,
    cache: Arc<Mutex<Option<CachedCredential>>>,
}

impl fmt::Debug for ExecAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecAuth")
            .field("command", &self.config.command)
            .finish_non_exhaustive()
    }
}

/// A token and its expiry.
type CachedCredential = (Secret, Option<OffsetDateTime>);

/// Credentials are refreshed this long before they expire.
const EXPIRY_SKEW: time::Duration = time::Duration::seconds(10);

impl ExecAuth {
    /// A plugin from its stanza; `base_dir` is the kubeconfig's directory; `cluster_info` is the
    /// `spec.cluster` object sent when the stanza sets `provideClusterInfo`.
    pub fn new(config: ExecConfig, base_dir: Option<PathBuf>, cluster_info: Option<Value>) -> Result<Self> {
        if config.command.is_empty() {
            return Err(Error::config("kubeconfig exec plugin has no command"));
        }
        match config.api_version.as_str() {
            "client.authentication.k8s.io/v1" | "client.authentication.k8s.io/v1beta1" => {}
            other => {
                return Err(Error::config(format!(
                    "kubeconfig exec plugin apiVersion {other:?} is not supported (use client.authentication.k8s.io/v1 or v1beta1)"
                )));
            }
        }
        if config.interactive_mode.as_deref() == Some("Always") {
            return Err(Error::config(
                "kubeconfig exec plugin wants interactiveMode Always; this SDK never attaches a terminal",
            ));
        }
        Ok(ExecAuth {
            config,
            base_dir,
            cluster_info,
            cache: Arc::new(Mutex::new(None)),
        })
    }

    /// The stanza.
    pub fn config(&self) -> &ExecConfig {
        &self.config
    }

    fn cached(&self, now: OffsetDateTime) -> Option<Secret> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        match &*cache {
            Some((token, None)) => Some(token.clone()),
            Some((token, Some(expiry))) if *expiry - EXPIRY_SKEW > now => Some(token.clone()),
            _ => None,
        }
    }

    fn invalidate(&self) -> bool {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).take().is_some()
    }

    /// The command to run, with `KUBERNETES_EXEC_INFO`.
    pub fn command(&self) -> ExecCommand {
        let program = Path::new(&self.config.command);
        let program = match &self.base_dir {
            Some(dir) if program.is_relative() && self.config.command.contains(['/', '\\']) => dir.join(program),
            _ => program.to_path_buf(),
        };
        let mut spec = serde_json::json!({ "interactive": false });
        if self.config.provide_cluster_info {
            spec["cluster"] = self.cluster_info.clone().unwrap_or(Value::Null);
        }
        let info = serde_json::json!({
            "kind": "ExecCredential",
            "apiVersion": self.config.api_version,
            "spec": spec,
        });
        let mut env: Vec<(String, String)> = self
            .config
            .env
            .iter()
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect();
        env.push(("KUBERNETES_EXEC_INFO".to_owned(), info.to_string()));
        ExecCommand {
            program,
            args: self.config.args.clone(),
            env,
            install_hint: self.config.install_hint.clone(),
        }
    }

    /// Takes a finished run: caches its token (until its expiry) or explains why it is unusable.
    pub fn accept(&self, output: &ExecOutput) -> Result<()> {
        let credential = parse_exec_credential(&self.config.api_version, output)?;
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(credential);
        Ok(())
    }
}

/// Parses a plugin's output into a token and its expiry.
pub fn parse_exec_credential(api_version: &str, output: &ExecOutput) -> Result<(Secret, Option<OffsetDateTime>)> {
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status != Some(0) {
        return Err(Error::config(format!(
            "kubeconfig exec plugin failed (exit {}): {}",
            output.status.map_or("signal".to_owned(), |c| c.to_string()),
            stderr.trim()
        )));
    }
    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct Status {
        token: Option<String>,
        client_certificate_data: Option<String>,
        expiration_timestamp: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Credential {
        #[serde(default)]
        kind: String,
        #[serde(default)]
        api_version: String,
        #[serde(default)]
        status: Option<Status>,
    }
    let cred: Credential = serde_json::from_slice(&output.stdout).map_err(|e| {
        Error::config(format!(
            "kubeconfig exec plugin printed something that is not an ExecCredential: {e}"
        ))
    })?;
    if cred.kind != "ExecCredential" {
        return Err(Error::config(format!(
            "kubeconfig exec plugin printed kind {:?}, expected ExecCredential",
            cred.kind
        )));
    }
    if cred.api_version != api_version {
        return Err(Error::config(format!(
            "kubeconfig exec plugin answered with apiVersion {:?}, but the kubeconfig asked for {api_version:?}",
            cred.api_version
        )));
    }
    let status = cred.status.unwrap_or_default();
    let expiry = match status.expiration_timestamp.as_deref() {
        None | Some("") => None,
        Some(ts) => Some(
            OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339)
                .map_err(|e| Error::config(format!("exec plugin expirationTimestamp {ts:?}: {e}")))?,
        ),
    };
    match status.token.filter(|t| !t.is_empty()) {
        Some(token) => Ok((Secret::new(token), expiry)),
        None if status.client_certificate_data.is_some() => Err(Error::config(
            "kubeconfig exec plugins that return client certificates are not supported yet; use a token-returning plugin",
        )),
        None => Err(Error::config("kubeconfig exec plugin returned no token")),
    }
}

/// Impersonation headers (`as`, `as-groups`).
pub fn impersonation_headers(user: Option<&str>, groups: &[String]) -> Result<Vec<(http::HeaderName, HeaderValue)>> {
    let mut out = Vec::new();
    let value =
        |v: &str| HeaderValue::from_str(v).map_err(|_| Error::config(format!("invalid impersonation value {v:?}")));
    if let Some(user) = user {
        out.push((http::HeaderName::from_static("impersonate-user"), value(user)?));
    }
    for g in groups {
        out.push((http::HeaderName::from_static("impersonate-group"), value(g)?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(api: &str) -> ExecAuth {
        let config = ExecConfig {
            api_version: api.into(),
            command: "./bin/plugin".into(),
            args: vec!["token".into()],
            env: vec![ExecEnvVar {
                name: "A".into(),
                value: "b".into(),
            }],
            provide_cluster_info: true,
            ..Default::default()
        };
        ExecAuth::new(
            config,
            Some("/etc/kube".into()),
            Some(serde_json::json!({"server": "https://k"})),
        )
        .unwrap()
    }

    fn out(stdout: &str) -> ExecOutput {
        ExecOutput {
            status: Some(0),
            stdout: stdout.as_bytes().to_vec(),
            stderr: Vec::new(),
        }
    }

    #[test]
    fn command_and_exec_info() {
        let cmd = exec("client.authentication.k8s.io/v1").command();
        assert_eq!(cmd.program, Path::new("/etc/kube/./bin/plugin"));
        let info: Value = serde_json::from_str(&cmd.env.last().unwrap().1).unwrap();
        assert_eq!(
            info,
            serde_json::json!({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",
                               "spec":{"interactive":false,"cluster":{"server":"https://k"}}})
        );
        assert_eq!(cmd.env[0], ("A".into(), "b".into()));
        let bare = ExecAuth::new(
            ExecConfig {
                api_version: "client.authentication.k8s.io/v1beta1".into(),
                command: "gke-gcloud-auth-plugin".into(),
                ..Default::default()
            },
            Some("/etc/kube".into()),
            None,
        )
        .unwrap();
        assert_eq!(bare.command().program, Path::new("gke-gcloud-auth-plugin"));
        assert!(
            ExecAuth::new(
                ExecConfig {
                    api_version: "client.authentication.k8s.io/v1alpha1".into(),
                    command: "x".into(),
                    ..Default::default()
                },
                None,
                None
            )
            .is_err()
        );
    }

    #[test]
    fn caching_expiry_and_invalidation() {
        let auth = KubeAuth::Exec(exec("client.authentication.k8s.io/v1"));
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert!(matches!(auth.credential(now).unwrap(), Credential::RunExec(_)));
        let KubeAuth::Exec(e) = &auth else { panic!() };
        e.accept(&out(
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"tok-1","expirationTimestamp":"2023-11-14T22:15:00Z"}}"#,
        ))
        .unwrap();
        let Credential::Header(Some(h)) = auth.credential(now).unwrap() else {
            panic!()
        };
        assert_eq!(h.to_str().unwrap(), "Bearer tok-1");
        assert!(h.is_sensitive());
        // Within the skew of the expiry: run again.
        let late =
            OffsetDateTime::parse("2023-11-14T22:14:55Z", &time::format_description::well_known::Rfc3339).unwrap();
        assert!(matches!(auth.credential(late).unwrap(), Credential::RunExec(_)));
        assert!(auth.invalidate());
        assert!(!auth.invalidate());
    }

    #[test]
    fn bad_plugin_outputs() {
        let api = "client.authentication.k8s.io/v1beta1";
        let failing = ExecOutput {
            status: Some(1),
            stdout: vec![],
            stderr: b"login required".to_vec(),
        };
        assert!(
            parse_exec_credential(api, &failing)
                .unwrap_err()
                .to_string()
                .contains("login required")
        );
        assert!(parse_exec_credential(api, &out("nope")).is_err());
        assert!(
            parse_exec_credential(
                api,
                &out(
                    r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"t"}}"#
                )
            )
            .is_err()
        );
        let cert = r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","status":{"clientCertificateData":"x","clientKeyData":"y"}}"#;
        assert!(
            parse_exec_credential(api, &out(cert))
                .unwrap_err()
                .to_string()
                .contains("not supported")
        );
        let ok =
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","status":{"token":"t"}}"#;
        assert!(parse_exec_credential(api, &out(ok)).unwrap().1.is_none());
    }

    #[test]
    fn static_credentials() {
        let now = OffsetDateTime::now_utc();
        let basic = KubeAuth::Basic {
            username: "u".into(),
            password: Secret::new("p"),
        };
        let Credential::Header(Some(h)) = basic.credential(now).unwrap() else {
            panic!()
        };
        assert_eq!(h.to_str().unwrap(), "Basic dTpw");
        assert!(!format!("{basic:?}").contains("\"p\""));
        assert!(matches!(
            KubeAuth::None.credential(now).unwrap(),
            Credential::Header(None)
        ));
        let headers = impersonation_headers(Some("jane"), &["a".into(), "b".into()]).unwrap();
        assert_eq!(headers.len(), 3);
    }
}
