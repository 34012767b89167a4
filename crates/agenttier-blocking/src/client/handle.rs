//! The client: account-level calls and the way to sandbox handles.

use std::sync::Arc;

use agenttier_core::api;
use agenttier_core::models::{CreateSandbox, CurrentUser, SandboxFilter, SandboxInfo, Template};
use agenttier_core::{ClientConfig, Result};

use super::{ClientBuilder, Sandbox, exchange};
use crate::maybe;
use crate::transport::{HttpClient, Transport};

/// A client of one AgentTier Router.
///
/// Cheap to clone: clones share one connection pool and configuration.
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) transport: Arc<Transport>,
}

impl Client {
    /// A client for `AGENTTIER_API_URL`, with credentials from the auth chain.
    pub fn from_env() -> Result<Self> {
        Self::builder().build()
    }

    /// A builder for every other configuration.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from a complete configuration.
    pub fn from_config(config: ClientConfig) -> Result<Self> {
        Self::from_parts(config, None)
    }

    pub(crate) fn from_parts(config: ClientConfig, http: Option<HttpClient>) -> Result<Self> {
        let config = config.validated()?;
        Ok(Client {
            transport: Arc::new(Transport::new(config, http)?),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClientConfig {
        self.transport.config()
    }

    /// A handle on the sandbox `id`, without checking that it exists (see [`Client::get_sandbox`]).
    pub fn sandbox(&self, id: impl Into<String>) -> Sandbox {
        let id = id.into();
        Sandbox::new(self.clone(), id.clone(), id, "default".to_owned())
    }
}

#[maybe]
impl Client {
    /// Creates a sandbox and returns its handle at once (phase `Creating`); call
    /// [`Sandbox::wait_until_running`] before using it.
    pub async fn create_sandbox(&self, params: CreateSandbox) -> Result<Sandbox> {
        let req = api::sandboxes::create(&params)?;
        let created: SandboxInfo = exchange::json(&self.transport, &req, "create sandbox").await?;
        let id = if created.id().is_empty() {
            params.name().to_owned()
        } else {
            created.id().to_owned()
        };
        let name = if created.name.is_empty() {
            id.clone()
        } else {
            created.name
        };
        let namespace = if created.namespace.is_empty() {
            params.namespace_name().unwrap_or("default").to_owned()
        } else {
            created.namespace
        };
        Ok(Sandbox::new(self.clone(), id, name, namespace))
    }

    /// Lists the sandboxes the caller may see, optionally filtered.
    pub async fn list_sandboxes(&self, filter: SandboxFilter) -> Result<Vec<SandboxInfo>> {
        let req = api::sandboxes::list(&filter);
        exchange::list(&self.transport, &req, "sandboxes", "list sandboxes").await
    }

    /// Looks a sandbox up (one request) and returns its handle; a missing sandbox, or one the
    /// caller may not see, is [`Error::NotFound`](agenttier_core::Error::NotFound).
    pub async fn get_sandbox(&self, id: &str) -> Result<Sandbox> {
        let info = self.sandbox_info(id).await?;
        let namespace = if info.namespace.is_empty() {
            "default".to_owned()
        } else {
            info.namespace
        };
        let name = if info.name.is_empty() { id.to_owned() } else { info.name };
        Ok(Sandbox::new(self.clone(), id.to_owned(), name, namespace))
    }

    /// The current description of a sandbox.
    pub async fn sandbox_info(&self, id: &str) -> Result<SandboxInfo> {
        exchange::json(&self.transport, &api::sandboxes::get(id)?, "get sandbox").await
    }

    /// Lists the cluster sandbox templates.
    pub async fn list_templates(&self) -> Result<Vec<Template>> {
        exchange::list(&self.transport, &api::templates::list(), "templates", "list templates").await
    }

    /// One template by name.
    pub async fn get_template(&self, name: &str) -> Result<Template> {
        exchange::json(&self.transport, &api::templates::get(name)?, "get template").await
    }

    /// Who the Router thinks the caller is.
    pub async fn current_user(&self) -> Result<CurrentUser> {
        exchange::json(&self.transport, &api::account::current_user(), "current user").await
    }
}
