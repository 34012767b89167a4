//! The suite, compiled against the async client.

use std::future::Future;

pub(crate) use maybe_async::must_be_async as maybe;

pub(crate) mod sdk {
    pub use agenttier::{Client, ClientBuilder, DEFAULT_WAIT, Sandbox, TerminalReader};
}

#[path = "suite/mod.rs"]
mod suite;

/// Runs one case on a multi-threaded runtime.
fn run<F: Future<Output = ()> + Send + 'static>(case: fn(suite::Env) -> F) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Spawned rather than blocked on, so that a non-`Send` future fails to compile.
    runtime.block_on(async { tokio::spawn(case(suite::Env::new("a"))).await.unwrap() });
}

macro_rules! flavour_tests {
    ($($module:ident :: $case:ident),* $(,)?) => {
        $( #[test] fn $case() { run(suite::$module::$case) } )*
    };
}

suite::for_each_case!(flavour_tests);

/// Reads a streamed file to its end (`tokio::io::AsyncRead` here).
pub(crate) async fn read_all(mut reader: agenttier::FileReader) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut out)
        .await
        .unwrap();
    out
}

/// Waits without blocking the runtime's worker.
pub(crate) async fn pause(d: std::time::Duration) {
    tokio::time::sleep(d).await;
}

/// A builder sending through a reqwest client of the user's own, with reqwest's defaults.
pub(crate) fn own_http(builder: agenttier::ClientBuilder) -> agenttier::ClientBuilder {
    // reqwest comes without a crypto provider of its own (the SDK's is ring): a client built
    // outside the SDK needs the process default installed first, as its docs say.
    let _ = rustls::crypto::ring::default_provider().install_default();
    builder.reqwest_client(agenttier::reqwest::Client::new())
}

/// `Client::with_sandbox` running `command`, then failing when `fail` is set (the closure's
/// shape is each flavour's own).
pub(crate) async fn scoped_exec(
    client: &sdk::Client,
    params: agenttier::models::CreateSandbox,
    command: &str,
    fail: bool,
) -> agenttier::Result<String> {
    let command = command.to_owned();
    client
        .with_sandbox(params, move |sb| async move {
            let out = sb.exec(command.as_str()).await?;
            if fail {
                return Err(agenttier::Error::invalid_input("the closure failed"));
            }
            Ok(out.stdout)
        })
        .await
}
