//! The async side of the Kubernetes client: exec plugins run on tokio's blocking pool, and the
//! watch stream is a `futures_core::Stream`.

use std::pin::Pin;
use std::task::{Context, Poll};

use agenttier_core::kruise::exec::{ExecCommand, ExecOutput};
use agenttier_core::kruise::{Resource, WatchEvent};
use agenttier_core::{Error, Result};
use futures_util::Stream;

use crate::client::kruise::{WatchStream, Watcher};

type Events<K> = Pin<Box<dyn Stream<Item = Result<WatchEvent<K>>> + Send>>;

/// What a [`WatchStream`] holds in this flavour: the driver, as a boxed stream.
pub(crate) struct Driven<K>(Events<K>);

pub(crate) fn drive<K: Resource>(watcher: Watcher<K>) -> Driven<K> {
    Driven(Box::pin(futures_util::stream::unfold(
        watcher,
        |mut watcher| async move {
            let item = watcher.next_event().await?;
            Some((item, watcher))
        },
    )))
}

/// Runs a credential plugin without a terminal (stdin closed), off the async worker threads.
pub(crate) async fn run_exec(command: ExecCommand) -> Result<ExecOutput> {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(&command.program)
            .args(&command.args)
            .envs(command.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(std::process::Stdio::null())
            .output()
            .map(ExecOutput::from_std)
            .map_err(|e| command.spawn_error(&e))
    })
    .await
    .map_err(|e| Error::config(format!("the exec plugin task failed: {e}")))?
}

impl<K: Resource> Stream for WatchStream<K> {
    type Item = Result<WatchEvent<K>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().inner.0.as_mut().poll_next(cx)
    }
}
