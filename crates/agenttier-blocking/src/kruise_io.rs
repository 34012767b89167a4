//! The blocking side of the Kubernetes client: exec plugins run on the calling thread, and the
//! watch stream is an `Iterator`.

use agenttier_core::Result;
use agenttier_core::kruise::exec::{ExecCommand, ExecOutput};
use agenttier_core::kruise::{Resource, WatchEvent};

use crate::client::kruise::{WatchStream, Watcher};

/// What a [`WatchStream`] holds in this flavour: the driver itself.
pub(crate) type Driven<K> = Watcher<K>;

pub(crate) fn drive<K: Resource>(watcher: Watcher<K>) -> Driven<K> {
    watcher
}

/// Runs a credential plugin without a terminal (stdin closed), capturing its output.
pub(crate) fn run_exec(command: ExecCommand) -> Result<ExecOutput> {
    std::process::Command::new(&command.program)
        .args(&command.args)
        .envs(command.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(std::process::Stdio::null())
        .output()
        .map(ExecOutput::from_std)
        .map_err(|e| command.spawn_error(&e))
}

impl<K: Resource> Iterator for WatchStream<K> {
    type Item = Result<WatchEvent<K>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next_event()
    }
}
