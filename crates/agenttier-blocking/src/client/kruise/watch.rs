//! The watch stream: core's decoder and state machine over the flavour's byte stream.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use agenttier_core::kruise::status::KubeErrorKind;
use agenttier_core::kruise::watch::Seen;
use agenttier_core::kruise::{Resource, WatchDecoder, WatchEvent, WatchParams, WatchState, WatchStep};
use agenttier_core::{Error, Result};

use super::Resources;
use crate::client::wire::Download;
use crate::maybe;

/// The events of a watch: an `Iterator` in the blocking client, a `Stream` in the async one.
///
/// Yields `Added`, `Modified` and `Deleted` (bookmarks and `410 Gone` are handled inside:
/// it reconnects from the last seen `resourceVersion` and relists after 410). It ends (`None`)
/// at the watch's timeout; an `Err` item (a refused reconnect, a server error) is the last one.
/// Dropping it closes the connection.
#[must_use = "a watch does nothing unless its events are read"]
pub struct WatchStream<K: Resource> {
    pub(crate) inner: crate::kruise_io::Driven<K>,
}

impl<K: Resource> WatchStream<K> {
    pub(crate) fn new(watcher: Watcher<K>) -> Self {
        WatchStream {
            inner: crate::kruise_io::drive(watcher),
        }
    }
}

impl<K: Resource> fmt::Debug for WatchStream<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchStream")
            .field("kind", &K::KIND)
            .finish_non_exhaustive()
    }
}

/// The driver behind a [`WatchStream`].
pub(crate) struct Watcher<K: Resource> {
    resources: Resources<K>,
    state: WatchState<K>,
    conn: Option<(Download, WatchDecoder<K>)>,
    pending: VecDeque<Result<WatchEvent<K>>>,
    ended: bool,
    idle_reconnects: u32,
    saw_bytes: bool,
}

impl<K: Resource> Watcher<K> {
    pub(crate) fn new(resources: Resources<K>, params: WatchParams) -> Self {
        let state = WatchState::new(
            resources.namespace().map(str::to_owned),
            params,
            Instant::now(),
            resources.client().read_timeout(),
        );
        Watcher {
            resources,
            state,
            conn: None,
            pending: VecDeque::new(),
            ended: false,
            idle_reconnects: 0,
            saw_bytes: false,
        }
    }

    fn fail(&mut self, err: Error) {
        self.ended = true;
        self.conn = None;
        self.pending.push_back(Err(err));
    }

    fn take(&mut self, decoded: Result<WatchEvent<K>>) {
        match decoded.and_then(|event| self.state.on_event(event)) {
            Ok(Seen::Event(event)) => self.pending.push_back(Ok(event)),
            Ok(Seen::Restart) => self.conn = None,
            Ok(_) => {}
            Err(e) => self.fail(e),
        }
    }

    /// A connection ended (cleanly, cut or idle): the next step reconnects.
    fn disconnected(&mut self) {
        if self.saw_bytes {
            self.idle_reconnects = 0;
        } else {
            self.idle_reconnects += 1;
        }
        self.saw_bytes = false;
        self.conn = None;
    }
}

#[maybe]
impl<K: Resource> Watcher<K> {
    /// Takes the first step at once (the initial list, or the first connection), so that the
    /// watch starts when it is created and a refusal is the caller's error.
    pub(crate) async fn start(&mut self) -> Result<()> {
        self.step().await
    }

    /// Lists or connects, as the state machine says.
    async fn step(&mut self) -> Result<()> {
        match self.state.next_step(Instant::now())? {
            WatchStep::List(params) => {
                let list = self.resources.list_all(&params).await?;
                let events = self.state.on_list(list);
                self.pending.extend(events.into_iter().map(Ok));
            }
            WatchStep::Watch(req) => {
                let opened = self.resources.client().open_stream(req).await;
                match opened {
                    Ok(stream) => self.conn = Some((stream, WatchDecoder::new())),
                    Err(e) if e.kube_kind() == Some(KubeErrorKind::Gone) => self.state.on_gone(),
                    Err(e) => return Err(e),
                }
            }
            _ => self.ended = true,
        }
        Ok(())
    }

    /// The next event, `None` at the deadline (or after an error item).
    pub(crate) async fn next_event(&mut self) -> Option<Result<WatchEvent<K>>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if self.ended {
                return None;
            }
            if let Some((stream, decoder)) = self.conn.as_mut() {
                let chunk = stream.next_chunk().await;
                let decoded = match chunk {
                    Ok(Some(bytes)) => Some(decoder.push(bytes)),
                    // Ended, cut or quiet past the read timeout: reconnect from the last version
                    // (a partial event left by a cut is dropped; its change arrives again).
                    Ok(None) | Err(_) => None,
                };
                match decoded {
                    Some(items) => {
                        self.saw_bytes = true;
                        for item in items {
                            if self.conn.is_none() || self.ended {
                                break;
                            }
                            self.take(item);
                        }
                    }
                    None => self.disconnected(),
                }
                continue;
            }
            if self.idle_reconnects > 0 {
                // A server that closes watches at once must not make us spin.
                let pause = Duration::from_millis(100 * (1u64 << self.idle_reconnects.min(6)));
                let pause = self.state.remaining(Instant::now()).map_or(pause, |r| r.min(pause));
                self.resources.client().pause(pause).await;
            }
            if let Err(e) = self.step().await {
                self.fail(e);
            }
        }
    }
}
