//! Wait accounting shared by the limiters: how many acquisitions, how many had to wait, and how
//! long they waited in all (on tokio's clock).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters of one limiter's acquisitions.
#[derive(Debug, Default)]
pub(crate) struct WaitStats {
    acquired: AtomicU64,
    waited: AtomicU64,
    total_wait_nanos: AtomicU64,
}

/// A snapshot of [`WaitStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct WaitSnapshot {
    pub(crate) acquired: u64,
    pub(crate) waited: u64,
    pub(crate) total_wait: Duration,
}

impl WaitStats {
    /// One acquisition that waited `wait` (zero and `waited == false` when it went straight in).
    pub(crate) fn record(&self, waited: bool, wait: Duration) {
        self.acquired.fetch_add(1, Ordering::Relaxed);
        if waited {
            self.waited.fetch_add(1, Ordering::Relaxed);
            let nanos = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
            self.total_wait_nanos.fetch_add(nanos, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> WaitSnapshot {
        WaitSnapshot {
            acquired: self.acquired.load(Ordering::Relaxed),
            waited: self.waited.load(Ordering::Relaxed),
            total_wait: Duration::from_nanos(self.total_wait_nanos.load(Ordering::Relaxed)),
        }
    }
}
