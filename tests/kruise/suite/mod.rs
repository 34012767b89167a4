//! Cases shared by both flavours, each `#[maybe] async fn case(env: Env)`.
//!
//! `scripted` drives the client into faults on purpose (cut watches, 410s, servers that ignore
//! `timeoutSeconds`, mTLS, exec plugins, rotating token files); `scenarios` runs the issue's
//! workflows against the stateful fake API server. Both use `support::FakeApiServer`, which is
//! a fake: see its module docs for what it does and does not emulate.

pub(crate) use super::{maybe, pause, sdk};

pub mod scenarios;
pub mod scripted;

use std::sync::Arc;
use std::time::Duration;

use agenttier::kruise::{ClusterConfig, KubeAuth};

use crate::support::FakeApiServer;

/// What a case gets: its flavour's name prefix.
#[derive(Clone, Copy)]
pub struct Env {
    pub prefix: &'static str,
}

impl Env {
    /// A plain-HTTP fake API server and a client of it (credentials allowed over http).
    pub fn fake(&self) -> (Arc<FakeApiServer>, sdk::KruiseClient) {
        let server = Arc::new(FakeApiServer::start());
        let client = self.client(ClusterConfig::new(server.url()).allow_credentials_over_http(true));
        (server, client)
    }

    /// A client with fast retries and a short watch idle timeout.
    pub fn client(&self, config: ClusterConfig) -> sdk::KruiseClient {
        sdk::KruiseClient::builder(config)
            .retry(agenttier::RetryPolicy::default().initial_backoff(Duration::from_millis(10)))
            .watch_idle_timeout(Duration::from_secs(20))
            .build()
            .unwrap()
    }

    /// A client with a bearer token.
    pub fn client_with_token(&self, server: &FakeApiServer, token: &str) -> sdk::KruiseClient {
        let config = ClusterConfig::new(server.url())
            .allow_credentials_over_http(true)
            .auth(KubeAuth::Token(agenttier::Secret::new(token)));
        self.client(config)
    }

    /// A name unique to this flavour.
    pub fn name(&self, what: &str) -> String {
        format!("{}-{what}", self.prefix)
    }
}

/// Lists every case once; each flavour expands it into `#[test]` functions.
macro_rules! for_each_case {
    ($m:ident) => {
        $m! {
            scenarios::sandbox_set_lifecycle,
            scenarios::sandbox_crud_status_and_errors,
            scenarios::list_all_follows_continue_tokens,
            scenarios::delete_waits_for_finalizers,
            scenarios::delete_collection_by_label,
            scenarios::wait_for_condition_sees_the_status_write,
            scripted::watch_reconnects_from_the_last_version,
            scripted::watch_relists_after_gone,
            scripted::watch_ends_at_its_deadline_even_if_the_server_does_not,
            scripted::wait_times_out_on_a_quiet_object,
            scripted::mutual_tls_from_a_kubeconfig,
            scripted::mutual_tls_needs_the_client_certificate,
            scripted::exec_plugin_token_is_cached_and_renewed_after_401,
            scripted::token_file_rotation_is_picked_up,
            scripted::credentials_never_go_over_plain_http_by_default,
        }
    };
}
pub(crate) use for_each_case;
