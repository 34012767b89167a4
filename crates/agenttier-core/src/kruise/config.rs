//! Where the API server is and how to talk to it: kubeconfig files and in-cluster config.
//!
//! Lookup order of [`ClusterConfig::infer`] (kube-rs and client-go order; the Python client
//! tries in-cluster first):
//! 1. `KUBECONFIG` (a `:`-separated list on Unix, `;` on Windows; missing files are skipped),
//!    merged: the first file that defines a named cluster, user or context wins, and
//!    `current-context` comes from the first file that sets it;
//! 2. `~/.kube/config`;
//! 3. in-cluster: `KUBERNETES_SERVICE_HOST` / `KUBERNETES_SERVICE_PORT` and the service
//!    account's `token`, `ca.crt` and `namespace` files.
//!
//! Relative paths (`certificate-authority`, `client-certificate`, `client-key`, `tokenFile`, an
//! exec `command` with a separator) are resolved against the directory of the file that
//! defines them; `*-data` fields are base64. Supported auth: token, token file, client
//! certificates, basic, token-returning exec plugins. `auth-provider` and `tls-server-name`
//! are refused with an explanation.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use super::exec::{ExecAuth, ExecConfig, KubeAuth};
use crate::auth::{Secret, TokenFile};
use crate::config::{ClientIdentity, redact_url};
use crate::{Error, Result};

/// Where a pod's service-account files are.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// A parsed (and possibly merged) kubeconfig.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Kubeconfig {
    /// Clusters by name.
    pub clusters: Vec<NamedCluster>,
    /// Users (credentials) by name.
    pub users: Vec<NamedUser>,
    /// Contexts by name.
    pub contexts: Vec<NamedContext>,
    /// The context used when none is named.
    pub current_context: Option<String>,
}

/// A `clusters[]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct NamedCluster {
    /// Name.
    pub name: String,
    /// The cluster.
    pub cluster: Cluster,
}

/// How to reach a cluster. `Debug` redacts the `user:password@` of its URLs.
#[derive(Clone, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Cluster {
    /// `https://host:port[/prefix]`.
    pub server: String,
    /// CA bundle file.
    pub certificate_authority: Option<PathBuf>,
    /// CA bundle, base64 PEM.
    pub certificate_authority_data: Option<String>,
    /// Skip server certificate verification.
    pub insecure_skip_tls_verify: bool,
    /// SNI / verification name override (not supported yet).
    pub tls_server_name: Option<String>,
    /// Proxy for this cluster.
    pub proxy_url: Option<String>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("server", &redact_url(&self.server))
            .field("certificate_authority", &self.certificate_authority)
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("tls_server_name", &self.tls_server_name)
            .field("proxy_url", &self.proxy_url.as_deref().map(redact_url))
            .finish_non_exhaustive()
    }
}

/// A `users[]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct NamedUser {
    /// Name.
    pub name: String,
    /// The credentials.
    pub user: User,
}

/// Credentials of a kubeconfig user.
#[derive(Clone, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct User {
    /// Bearer token.
    pub token: Option<String>,
    /// Bearer token file (kubeconfig spells it `tokenFile`).
    #[serde(rename = "tokenFile")]
    pub token_file: Option<PathBuf>,
    /// Client certificate file.
    pub client_certificate: Option<PathBuf>,
    /// Client certificate, base64 PEM.
    pub client_certificate_data: Option<String>,
    /// Client key file.
    pub client_key: Option<PathBuf>,
    /// Client key, base64 PEM.
    pub client_key_data: Option<String>,
    /// Basic auth user.
    pub username: Option<String>,
    /// Basic auth password.
    pub password: Option<String>,
    /// Exec plugin.
    pub exec: Option<ExecConfig>,
    /// Legacy auth provider (refused).
    pub auth_provider: Option<Value>,
    /// Impersonate this user.
    #[serde(rename = "as")]
    pub impersonate: Option<String>,
    /// Impersonate these groups.
    #[serde(rename = "as-groups")]
    pub impersonate_groups: Vec<String>,
    /// Directory of the file that defined this user (for relative exec commands).
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("token_file", &self.token_file)
            .field("client_certificate", &self.client_certificate)
            .field("client_key", &self.client_key)
            .field("username", &self.username)
            .field("exec", &self.exec.as_ref().map(|e| &e.command))
            .finish_non_exhaustive()
    }
}

/// A `contexts[]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct NamedContext {
    /// Name.
    pub name: String,
    /// The context.
    pub context: Context,
}

/// A cluster + user + namespace triple.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Context {
    /// Cluster name.
    pub cluster: String,
    /// User name (may be empty).
    pub user: String,
    /// Default namespace.
    pub namespace: Option<String>,
}

impl Kubeconfig {
    /// Parses YAML (or JSON); relative paths are resolved against `dir`.
    pub fn from_yaml(text: &str, dir: Option<&Path>) -> Result<Self> {
        let mut config: Kubeconfig =
            yaml_serde::from_str(text).map_err(|e| Error::config(format!("invalid kubeconfig: {e}")))?;
        if let Some(dir) = dir {
            let fix = |p: &mut Option<PathBuf>| {
                if let Some(path) = p.as_mut().filter(|p| p.is_relative() && !p.as_os_str().is_empty()) {
                    *path = dir.join(&*path);
                }
            };
            for c in &mut config.clusters {
                fix(&mut c.cluster.certificate_authority);
            }
            for u in &mut config.users {
                fix(&mut u.user.client_certificate);
                fix(&mut u.user.client_key);
                fix(&mut u.user.token_file);
                u.user.base_dir = Some(dir.to_path_buf());
            }
        }
        Ok(config)
    }

    /// Reads one file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("cannot read kubeconfig {}: {e}", path.display())))?;
        let dir = path
            .parent()
            .map(|d| if d.as_os_str().is_empty() { Path::new(".") } else { d });
        Self::from_yaml(&text, dir).map_err(|e| Error::config(format!("{}: {e}", path.display())))
    }

    /// Reads and merges several files in order; missing files are skipped (as kubectl does), an
    /// empty result is an error.
    pub fn read_merged(paths: &[PathBuf]) -> Result<Self> {
        let mut merged: Option<Kubeconfig> = None;
        for path in paths.iter().filter(|p| !p.as_os_str().is_empty()) {
            if !path.exists() {
                continue;
            }
            let next = Self::read(path)?;
            merged = Some(match merged {
                None => next,
                Some(m) => m.merge(next),
            });
        }
        merged.ok_or_else(|| {
            Error::config(format!(
                "none of the kubeconfig files exists: {}",
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }

    /// Merges `other` into `self`: entries already present by name win; `current-context` is
    /// kept when set.
    pub fn merge(mut self, other: Kubeconfig) -> Self {
        fn add<T>(into: &mut Vec<T>, from: Vec<T>, name: impl Fn(&T) -> &str) {
            let have: BTreeSet<String> = into.iter().map(|t| name(t).to_owned()).collect();
            into.extend(from.into_iter().filter(|t| !have.contains(name(t))));
        }
        add(&mut self.clusters, other.clusters, |c| &c.name);
        add(&mut self.users, other.users, |u| &u.name);
        add(&mut self.contexts, other.contexts, |c| &c.name);
        if self.current_context.as_deref().unwrap_or("").is_empty() {
            self.current_context = other.current_context;
        }
        self
    }

    /// The files `KUBECONFIG` names, or `~/.kube/config`, given the environment.
    pub fn default_paths(env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
        if let Some(list) = env("KUBECONFIG").filter(|v| !v.trim().is_empty()) {
            let sep = if cfg!(windows) { ';' } else { ':' };
            return list.split(sep).filter(|p| !p.is_empty()).map(PathBuf::from).collect();
        }
        let home = env("HOME").or_else(|| env("USERPROFILE")).filter(|h| !h.is_empty());
        home.map(|h| vec![Path::new(&h).join(".kube").join("config")])
            .unwrap_or_default()
    }
}

/// Everything a Kubernetes client needs: the server, TLS material, credentials, namespace.
/// `Debug` shows no credential (secrets and the `user:password@` of URLs are redacted).
#[derive(Clone)]
#[non_exhaustive]
pub struct ClusterConfig {
    /// API server URL.
    pub server: String,
    /// Namespace of the context (default `default`).
    pub namespace: String,
    /// CA bundle (PEM) to trust instead of the built-in roots; `None`: the built-in roots.
    pub root_certificates_pem: Option<Vec<u8>>,
    /// Client certificate.
    pub client_identity: Option<ClientIdentity>,
    /// Skip server certificate verification.
    pub insecure_skip_tls_verify: bool,
    /// Credentials sent per request.
    pub auth: KubeAuth,
    /// `Impersonate-User`.
    pub impersonate_user: Option<String>,
    /// `Impersonate-Group`s.
    pub impersonate_groups: Vec<String>,
    /// Proxy URL.
    pub proxy_url: Option<String>,
    /// Send credentials even over plain `http://` (off by default, as kubectl).
    pub allow_credentials_over_http: bool,
    /// The context this came from (`None` for in-cluster or explicit configs).
    pub context: Option<String>,
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("server", &redact_url(&self.server))
            .field("namespace", &self.namespace)
            .field("client_identity", &self.client_identity)
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("auth", &self.auth)
            .field("impersonate_user", &self.impersonate_user)
            .field("impersonate_groups", &self.impersonate_groups)
            .field("proxy_url", &self.proxy_url.as_deref().map(redact_url))
            .field("allow_credentials_over_http", &self.allow_credentials_over_http)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl ClusterConfig {
    /// An explicit configuration: `server`, no TLS material, no credentials, namespace `default`.
    pub fn new(server: impl Into<String>) -> Self {
        ClusterConfig {
            server: server.into(),
            namespace: "default".to_owned(),
            root_certificates_pem: None,
            client_identity: None,
            insecure_skip_tls_verify: false,
            auth: KubeAuth::None,
            impersonate_user: None,
            impersonate_groups: Vec::new(),
            proxy_url: None,
            allow_credentials_over_http: false,
            context: None,
        }
    }

    /// Kubeconfig (`KUBECONFIG`, else `~/.kube/config`) when present, else in-cluster.
    pub fn infer() -> Result<Self> {
        Self::infer_with(&|name| std::env::var(name).ok(), Path::new(SERVICE_ACCOUNT_DIR))
    }

    /// [`infer`](Self::infer) with an explicit environment and service-account directory.
    pub fn infer_with(env: &dyn Fn(&str) -> Option<String>, service_account_dir: &Path) -> Result<Self> {
        let paths = Kubeconfig::default_paths(env);
        let explicit = env("KUBECONFIG").is_some_and(|v| !v.trim().is_empty());
        if paths.iter().any(|p| p.exists()) {
            let config = Kubeconfig::read_merged(&paths)?;
            return Self::from_kubeconfig(&config, None);
        }
        match Self::in_cluster_with(env, service_account_dir) {
            Ok(config) => Ok(config),
            Err(in_cluster) => Err(Error::config(format!(
                "no Kubernetes configuration found: {} and not in a cluster ({in_cluster})",
                if explicit {
                    "no file named by KUBECONFIG exists"
                } else {
                    "~/.kube/config does not exist"
                }
            ))),
        }
    }

    /// The `context` (or the current context) of a kubeconfig.
    pub fn from_kubeconfig(config: &Kubeconfig, context: Option<&str>) -> Result<Self> {
        let name = match context.or(config.current_context.as_deref()).filter(|c| !c.is_empty()) {
            Some(n) => n,
            None => return Err(Error::config("the kubeconfig has no current-context; name a context")),
        };
        let ctx = &config
            .contexts
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| Error::config(format!("context {name:?} is not in the kubeconfig")))?
            .context;
        let cluster = &config
            .clusters
            .iter()
            .find(|c| c.name == ctx.cluster)
            .ok_or_else(|| {
                Error::config(format!(
                    "cluster {:?} of context {name:?} is not in the kubeconfig",
                    ctx.cluster
                ))
            })?
            .cluster;
        let user = if ctx.user.is_empty() {
            User::default()
        } else {
            config
                .users
                .iter()
                .find(|u| u.name == ctx.user)
                .ok_or_else(|| {
                    Error::config(format!(
                        "user {:?} of context {name:?} is not in the kubeconfig",
                        ctx.user
                    ))
                })?
                .user
                .clone()
        };
        if cluster.server.is_empty() {
            return Err(Error::config(format!("cluster {:?} has no server", ctx.cluster)));
        }
        if cluster.tls_server_name.as_deref().is_some_and(|s| !s.is_empty()) {
            return Err(Error::config(format!(
                "cluster {:?} sets tls-server-name, which this SDK does not support yet",
                ctx.cluster
            )));
        }
        if user.auth_provider.is_some() {
            return Err(Error::config(format!(
                "user {:?} uses an auth-provider, which Kubernetes deprecated; switch to an exec plugin (kubelogin, gke-gcloud-auth-plugin, aws eks get-token)",
                ctx.user
            )));
        }
        let ca = pem_source(
            cluster.certificate_authority_data.as_deref(),
            cluster.certificate_authority.as_deref(),
            "certificate-authority",
        )?;
        let cert = pem_source(
            user.client_certificate_data.as_deref(),
            user.client_certificate.as_deref(),
            "client-certificate",
        )?;
        let key = pem_source(
            user.client_key_data.as_deref(),
            user.client_key.as_deref(),
            "client-key",
        )?;
        let client_identity = match (cert, key) {
            (Some(certificate_pem), Some(private_key_pem)) => Some(ClientIdentity {
                certificate_pem,
                private_key_pem,
            }),
            (None, None) => None,
            _ => {
                return Err(Error::config(format!(
                    "user {:?} has a client certificate without a key, or a key without a certificate",
                    ctx.user
                )));
            }
        };
        let auth = if let Some(exec) = user.exec.clone() {
            let mut info = serde_json::json!({ "server": cluster.server, "insecure-skip-tls-verify": cluster.insecure_skip_tls_verify });
            if let Some(ca) = &cluster.certificate_authority_data {
                info["certificate-authority-data"] = ca.clone().into();
            }
            KubeAuth::Exec(ExecAuth::new(exec, user.base_dir.clone(), Some(info))?)
        } else if let Some(token) = user.token.clone().filter(|t| !t.is_empty()) {
            KubeAuth::Token(Secret::new(token))
        } else if let Some(path) = user.token_file.clone() {
            KubeAuth::TokenFile(TokenFile::new(path))
        } else if let Some(username) = user.username.clone().filter(|u| !u.is_empty()) {
            KubeAuth::Basic {
                username,
                password: Secret::new(user.password.clone().unwrap_or_default()),
            }
        } else {
            KubeAuth::None
        };
        Ok(ClusterConfig {
            server: cluster.server.clone(),
            namespace: ctx
                .namespace
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "default".to_owned()),
            root_certificates_pem: ca,
            client_identity,
            insecure_skip_tls_verify: cluster.insecure_skip_tls_verify,
            auth,
            impersonate_user: user.impersonate.clone(),
            impersonate_groups: user.impersonate_groups.clone(),
            proxy_url: cluster.proxy_url.clone(),
            allow_credentials_over_http: false,
            context: Some(name.to_owned()),
        })
    }

    /// The in-cluster configuration of a pod.
    pub fn in_cluster() -> Result<Self> {
        Self::in_cluster_with(&|name| std::env::var(name).ok(), Path::new(SERVICE_ACCOUNT_DIR))
    }

    /// [`in_cluster`](Self::in_cluster) with an explicit environment and service-account directory.
    pub fn in_cluster_with(env: &dyn Fn(&str) -> Option<String>, dir: &Path) -> Result<Self> {
        let host = env("KUBERNETES_SERVICE_HOST").filter(|h| !h.is_empty());
        let port = env("KUBERNETES_SERVICE_PORT").filter(|p| !p.is_empty());
        let (Some(host), Some(port)) = (host, port) else {
            return Err(Error::config(
                "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set",
            ));
        };
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host
        };
        let token = dir.join("token");
        if !token.exists() {
            return Err(Error::config(format!(
                "service-account token {} is missing",
                token.display()
            )));
        }
        let ca = std::fs::read(dir.join("ca.crt"))
            .map_err(|e| Error::config(format!("cannot read {}: {e}", dir.join("ca.crt").display())))?;
        let namespace = std::fs::read_to_string(dir.join("namespace"))
            .ok()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_owned());
        let mut config = ClusterConfig::new(format!("https://{host}:{port}"));
        config.namespace = namespace;
        config.root_certificates_pem = Some(ca);
        config.auth = KubeAuth::TokenFile(TokenFile::new(token));
        Ok(config)
    }

    /// Sets the namespace used when a handle names none.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Sets the credentials.
    pub fn auth(mut self, auth: KubeAuth) -> Self {
        self.auth = auth;
        self
    }

    /// Trusts this CA bundle (PEM) instead of the built-in roots.
    pub fn root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates_pem = Some(pem.into());
        self
    }

    /// Presents this client certificate.
    pub fn client_identity(mut self, certificate_pem: impl Into<Vec<u8>>, private_key_pem: impl Into<Vec<u8>>) -> Self {
        self.client_identity = Some(ClientIdentity {
            certificate_pem: certificate_pem.into(),
            private_key_pem: private_key_pem.into(),
        });
        self
    }

    /// Sends credentials over plain `http://` too (for loopback test servers).
    pub fn allow_credentials_over_http(mut self, yes: bool) -> Self {
        self.allow_credentials_over_http = yes;
        self
    }

    /// Whether credentials go on requests: always over https, over http only when allowed.
    pub fn sends_credentials(&self) -> bool {
        self.allow_credentials_over_http || !self.server.trim_start().to_ascii_lowercase().starts_with("http://")
    }
}

fn pem_source(data: Option<&str>, file: Option<&Path>, what: &str) -> Result<Option<Vec<u8>>> {
    if let Some(data) = data.filter(|d| !d.is_empty()) {
        let cleaned: String = data.split_whitespace().collect();
        return base64::engine::general_purpose::STANDARD
            .decode(cleaned)
            .map(Some)
            .map_err(|e| Error::config(format!("{what}-data is not valid base64: {e}")));
    }
    match file {
        Some(path) => std::fs::read(path)
            .map(Some)
            .map_err(|e| Error::config(format!("cannot read {what} {}: {e}", path.display()))),
        None => Ok(None),
    }
}
