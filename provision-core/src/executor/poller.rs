//! The install poller: one Foreman query per interval (`search=build=true`, thin, all pages) for
//! every host waiting for its install, waking each host whose build flag dropped. Nothing is
//! queried while nobody waits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;

use super::ports::ForemanPort;

/// Shared by the hosts waiting for their installs.
#[derive(Debug)]
pub struct InstallPoller {
    waiters: Mutex<HashMap<String, Vec<oneshot::Sender<()>>>>,
    arrived: Notify,
    polls: AtomicU64,
}

impl InstallPoller {
    /// A poller with nobody waiting yet; start it with [`InstallPoller::run`].
    #[must_use]
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            waiters: Mutex::new(HashMap::new()),
            arrived: Notify::new(),
            polls: AtomicU64::new(0),
        })
    }

    /// Foreman queries made so far.
    #[must_use]
    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }

    /// Waits until a poll shows `host` out of build mode. Dropping the future stops waiting.
    pub async fn wait_built(&self, host: &str) {
        let (tx, rx) = oneshot::channel();
        self.lock().entry(host.to_owned()).or_default().push(tx);
        self.arrived.notify_one();
        // The sender lives in the map until a poll answers; the poller never drops it otherwise.
        let _ = rx.await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<oneshot::Sender<()>>>> {
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Polls every `interval` while anybody waits, until `stop` fires.
    pub async fn run(
        self: Arc<Self>,
        foreman: Arc<dyn ForemanPort>,
        interval: Duration,
        stop: CancellationToken,
    ) {
        loop {
            // Sleep first: a host registers right after powering on, its install takes longer.
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
            let asked: Vec<String> = {
                let mut waiters = self.lock();
                waiters.retain(|_, senders| {
                    senders.retain(|s| !s.is_closed());
                    !senders.is_empty()
                });
                waiters.keys().cloned().collect()
            };
            if asked.is_empty() {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = self.arrived.notified() => continue,
                }
            }
            self.polls.fetch_add(1, Ordering::Relaxed);
            let building = tokio::select! {
                () = stop.cancelled() => return,
                r = foreman.building_hosts() => r,
            };
            let building = match building {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "install poll failed, trying again next interval");
                    continue;
                }
            };
            let mut waiters = self.lock();
            for host in asked {
                if !building.contains(&host)
                    && let Some(senders) = waiters.remove(&host)
                {
                    for s in senders {
                        let _ = s.send(());
                    }
                }
            }
        }
    }
}
