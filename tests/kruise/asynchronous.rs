//! The suite, compiled against the async client.

use std::future::Future;

pub(crate) use maybe_async::must_be_async as maybe;

pub(crate) mod sdk {
    pub use agenttier::kruise::{KruiseClient, WatchStream};

    /// The next event of a watch.
    pub async fn next_event<K: agenttier::kruise::Resource>(
        stream: &mut WatchStream<K>,
    ) -> Option<agenttier::Result<agenttier::kruise::WatchEvent<K>>> {
        futures_util::StreamExt::next(stream).await
    }
}

#[path = "suite/mod.rs"]
mod suite;

fn run<F: Future<Output = ()> + Send + 'static>(case: fn(suite::Env) -> F) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Spawned rather than blocked on, so that a non-`Send` future fails to compile.
    runtime.block_on(async { tokio::spawn(case(suite::Env { prefix: "a" })).await.unwrap() });
}

macro_rules! flavour_tests {
    ($($module:ident :: $case:ident),* $(,)?) => {
        $( #[test] fn $case() { run(suite::$module::$case) } )*
    };
}

suite::for_each_case!(flavour_tests);

pub(crate) async fn pause(d: std::time::Duration) {
    tokio::time::sleep(d).await;
}
