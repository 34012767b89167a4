//! `KruiseClient`: one API server, its credentials, and the way to per-namespace handles.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agenttier_core::kruise::exec::{Credential, impersonation_headers};
use agenttier_core::kruise::status::{self, KubeStatus};
use agenttier_core::kruise::{ClusterConfig, Kubeconfig, Sandbox, SandboxSet};
use agenttier_core::request::Request;
use agenttier_core::{Auth, ClientConfig, Error, Result, RetryPolicy};
use http::{HeaderName, HeaderValue};

use super::Resources;
use crate::client::exchange;
use crate::client::wire::{self, Download, Fetched, Limits, RawResponse, failure_to_error};
use crate::maybe;
use crate::transport::Transport;

/// A client of one Kubernetes API server, for the `agents.kruise.io/v1alpha1` resources.
///
/// Cheap to clone (clones share one connection pool and the cached credentials). Get
/// per-namespace handles with [`sandboxes`](Self::sandboxes) and [`sandbox_sets`](Self::sandbox_sets).
#[derive(Clone, Debug)]
pub struct KruiseClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    transport: Transport,
    cluster: ClusterConfig,
    impersonation: Vec<(HeaderName, HeaderValue)>,
}

/// Transport settings of a [`KruiseClient`]; from [`KruiseClient::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct KruiseClientBuilder {
    cluster: ClusterConfig,
    http: ClientConfig,
}

impl KruiseClientBuilder {
    /// Limit on a whole unary call (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.http.timeout = timeout;
        self
    }

    /// Limit on establishing a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.http.connect_timeout = timeout;
        self
    }

    /// Longest silence tolerated on a watch connection (default 5 min). Each watch connection
    /// asks the server to end a few seconds before it, so a quiet watch is renewed, not failed.
    pub fn watch_idle_timeout(mut self, timeout: Duration) -> Self {
        self.http.stream_idle_timeout = timeout;
        self
    }

    /// Retry policy for idempotent calls (GET, PUT, DELETE) on 429/5xx and connection failures.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.http.retry = policy;
        self
    }

    /// `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.http.user_agent = user_agent.into();
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<KruiseClient> {
        let impersonation = impersonation_headers(
            self.cluster.impersonate_user.as_deref(),
            &self.cluster.impersonate_groups,
        )?;
        let transport = Transport::new(self.http.validated()?, None)?;
        Ok(KruiseClient {
            inner: Arc::new(Inner {
                transport,
                cluster: self.cluster,
                impersonation,
            }),
        })
    }
}

impl KruiseClient {
    /// From the kubeconfig (`KUBECONFIG`, else `~/.kube/config`) when there is one, else the
    /// in-cluster configuration. (The Python client tries in-cluster first.)
    pub fn infer() -> Result<Self> {
        Self::new(ClusterConfig::infer()?)
    }

    /// From a kubeconfig file (`None`: `KUBECONFIG` or `~/.kube/config`), with a context
    /// (`None`: its current context).
    pub fn from_kubeconfig(path: Option<&Path>, context: Option<&str>) -> Result<Self> {
        let config = match path {
            Some(p) => Kubeconfig::read(p)?,
            None => Kubeconfig::read_merged(&Kubeconfig::default_paths(&|n| std::env::var(n).ok()))?,
        };
        Self::new(ClusterConfig::from_kubeconfig(&config, context)?)
    }

    /// From the pod's service account.
    pub fn in_cluster() -> Result<Self> {
        Self::new(ClusterConfig::in_cluster()?)
    }

    /// From a resolved configuration, with default transport settings.
    pub fn new(cluster: ClusterConfig) -> Result<Self> {
        Self::builder(cluster).build()
    }

    /// Transport settings for a resolved configuration.
    pub fn builder(cluster: ClusterConfig) -> KruiseClientBuilder {
        let mut http = ClientConfig::new(cluster.server.clone());
        // Credentials go per request (they may come from an exec plugin), not through the Router's chain.
        http.auth = Auth::None;
        http.root_certificates_pem = cluster.root_certificates_pem.iter().cloned().collect();
        http.only_listed_roots = cluster.root_certificates_pem.is_some();
        http.client_identity = cluster.client_identity.clone();
        http.danger_accept_invalid_certs = cluster.insecure_skip_tls_verify;
        http.proxy = cluster.proxy_url.clone();
        KruiseClientBuilder { cluster, http }
    }

    /// The resolved configuration.
    pub fn cluster(&self) -> &ClusterConfig {
        &self.inner.cluster
    }

    /// The namespace of the kubeconfig context (or the pod), `default` when none is set.
    pub fn default_namespace(&self) -> &str {
        &self.inner.cluster.namespace
    }

    /// Sandboxes of `namespace`.
    pub fn sandboxes(&self, namespace: impl Into<String>) -> Resources<Sandbox> {
        Resources::new(self.clone(), Some(namespace.into()))
    }

    /// SandboxSets of `namespace`.
    pub fn sandbox_sets(&self, namespace: impl Into<String>) -> Resources<SandboxSet> {
        Resources::new(self.clone(), Some(namespace.into()))
    }

    /// Sandboxes of every namespace (list and watch only).
    pub fn sandboxes_in_all_namespaces(&self) -> Resources<Sandbox> {
        Resources::new(self.clone(), None)
    }

    /// SandboxSets of every namespace (list and watch only).
    pub fn sandbox_sets_in_all_namespaces(&self) -> Resources<SandboxSet> {
        Resources::new(self.clone(), None)
    }

    pub(crate) fn read_timeout(&self) -> Duration {
        self.inner.transport.config().stream_idle_timeout
    }
}

#[maybe]
impl KruiseClient {
    /// Whether the API server serves `agents.kruise.io/v1alpha1` with both kinds (a preflight).
    pub async fn has_kruise_resources(&self) -> Result<bool> {
        match self.send(agenttier_core::kruise::request::discovery()).await {
            Ok(resp) => {
                let doc: serde_json::Value = agenttier_core::response::decode("API discovery", &resp.body)?;
                let names: Vec<&str> = doc["resources"]
                    .as_array()
                    .map(|r| r.iter().filter_map(|x| x["name"].as_str()).collect())
                    .unwrap_or_default();
                Ok(names.contains(&"sandboxes") && names.contains(&"sandboxsets"))
            }
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Sleeps (the flavour's way).
    pub(crate) async fn pause(&self, d: Duration) {
        self.inner.transport.sleep(d).await;
    }

    /// Sends one request with credentials; a 401 re-runs an exec plugin once.
    pub(crate) async fn send(&self, req: Request) -> Result<RawResponse> {
        let mut renewed = false;
        loop {
            let ready = self.authorize(req.clone()).await?;
            let result = exchange::send(&self.inner.transport, &ready).await;
            match result {
                Ok(resp) => return Ok(resp),
                Err(e) => {
                    let e = status::remap(e);
                    if e.status() == Some(401) && !renewed && self.inner.cluster.auth.invalidate() {
                        renewed = true;
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Opens one watch connection; an error status is mapped like any other.
    pub(crate) async fn open_stream(&self, req: Request) -> Result<Download> {
        let mut renewed = false;
        loop {
            let ready = self.authorize(req.clone()).await?;
            let opened = wire::open_download(&self.inner.transport, &ready).await;
            let err: Error = match opened {
                Ok(Fetched::Body(stream)) => return Ok(*stream),
                Ok(Fetched::Answer(resp)) => KubeStatus::from_body(resp.status, &resp.body).into(),
                Err(failure) => {
                    return Err(failure_to_error(
                        &ready,
                        failure,
                        1,
                        Limits::for_request(self.inner.transport.config(), &ready),
                    ));
                }
            };
            if err.status() == Some(401) && !renewed && self.inner.cluster.auth.invalidate() {
                renewed = true;
                continue;
            }
            return Err(err);
        }
    }

    /// Adds the credential (running an exec plugin when needed) and impersonation headers.
    async fn authorize(&self, mut req: Request) -> Result<Request> {
        if self.inner.cluster.sends_credentials() {
            if let Some(value) = self.credential().await? {
                req.headers.push((http::header::AUTHORIZATION, value));
            }
        }
        req.headers.extend(self.inner.impersonation.iter().cloned());
        Ok(req)
    }

    async fn credential(&self) -> Result<Option<HeaderValue>> {
        let auth = &self.inner.cluster.auth;
        for _ in 0..2 {
            match auth.credential_now()? {
                Credential::Header(value) => return Ok(value),
                Credential::RunExec(command) => {
                    let output = crate::kruise_io::run_exec(command).await?;
                    auth.accept_exec_output(&output)?;
                }
                _ => break,
            }
        }
        Err(Error::config(
            "the kubeconfig exec plugin returned a credential that is already expired",
        ))
    }
}
