//! A fixed concurrency limit with accounting: permits are RAII guards, waiters are served in
//! arrival order, and the limit reports its peak and its waits. Closing it turns every waiting and
//! future acquisition into [`LimitError::Closed`] (used to stop starting hosts on shutdown).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio::time::Instant;

use super::LimitError;
use super::stats::WaitStats;

/// At most `limit` holders at once. Cheap to clone; clones share the limit.
#[derive(Clone)]
pub struct ConcurrencyLimit {
    inner: Arc<Inner>,
}

struct Inner {
    name: &'static str,
    limit: usize,
    semaphore: Arc<Semaphore>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    stats: WaitStats,
}

impl fmt::Debug for ConcurrencyLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConcurrencyLimit")
            .field("name", &self.inner.name)
            .field("limit", &self.inner.limit)
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

/// One holder's place; the place is given back when this is dropped.
pub struct ConcurrencyPermit {
    inner: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl fmt::Debug for ConcurrencyPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConcurrencyPermit")
            .field("limit", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl Drop for ConcurrencyPermit {
    fn drop(&mut self) {
        self.inner.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a [`ConcurrencyLimit`] did so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConcurrencyReport {
    /// The configured limit.
    pub limit: usize,
    /// Holders now.
    pub in_flight: usize,
    /// Most holders at once.
    pub peak_in_flight: usize,
    /// Permits handed out.
    pub acquired: u64,
    /// Permits that had to wait.
    pub waited: u64,
    /// Time spent waiting, all permits together, in seconds.
    pub total_wait_secs: f64,
}

impl ConcurrencyLimit {
    /// At most `limit` holders (0 is taken as 1); `name` labels logs and errors.
    #[must_use]
    pub fn new(name: &'static str, limit: usize) -> Self {
        let limit = limit.max(1);
        Self {
            inner: Arc::new(Inner {
                name,
                limit,
                semaphore: Arc::new(Semaphore::new(limit)),
                in_flight: AtomicUsize::new(0),
                peak: AtomicUsize::new(0),
                stats: WaitStats::default(),
            }),
        }
    }

    /// Waits for a place (in arrival order).
    ///
    /// # Errors
    /// [`LimitError::Closed`] once [`ConcurrencyLimit::close`] was called.
    pub async fn acquire(&self) -> Result<ConcurrencyPermit, LimitError> {
        let started = Instant::now();
        let (permit, waited) = match self.inner.semaphore.clone().try_acquire_owned() {
            Ok(permit) => (permit, false),
            Err(TryAcquireError::Closed) => return Err(LimitError::Closed(self.inner.name)),
            Err(TryAcquireError::NoPermits) => {
                let permit = self
                    .inner
                    .semaphore
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| LimitError::Closed(self.inner.name))?;
                (permit, true)
            }
        };
        self.inner.stats.record(
            waited,
            if waited {
                started.elapsed()
            } else {
                Duration::ZERO
            },
        );
        Ok(self.admit(permit))
    }

    /// A place if one is free now.
    #[must_use]
    pub fn try_acquire(&self) -> Option<ConcurrencyPermit> {
        let permit = self.inner.semaphore.clone().try_acquire_owned().ok()?;
        self.inner.stats.record(false, Duration::ZERO);
        Some(self.admit(permit))
    }

    fn admit(&self, permit: OwnedSemaphorePermit) -> ConcurrencyPermit {
        let now = self.inner.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.inner.peak.fetch_max(now, Ordering::Relaxed);
        ConcurrencyPermit {
            inner: self.inner.clone(),
            _permit: permit,
        }
    }

    /// Refuses every waiting and future acquisition; permits already held stay valid.
    pub fn close(&self) {
        self.inner.semaphore.close();
    }

    /// The configured limit.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.inner.limit
    }

    /// Holders now.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Relaxed)
    }

    /// Counters so far.
    #[must_use]
    pub fn report(&self) -> ConcurrencyReport {
        let s = self.inner.stats.snapshot();
        ConcurrencyReport {
            limit: self.inner.limit,
            in_flight: self.in_flight(),
            peak_in_flight: self.inner.peak.load(Ordering::Relaxed),
            acquired: s.acquired,
            waited: s.waited,
            total_wait_secs: s.total_wait.as_secs_f64(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_limit_and_waits_are_counted() {
        let limit = ConcurrencyLimit::new("test", 3);
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let limit = limit.clone();
            tasks.push(tokio::spawn(async move {
                let _p = limit.acquire().await.unwrap();
                assert!(limit.in_flight() <= 3);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }));
        }
        let t0 = Instant::now();
        for task in tasks {
            task.await.unwrap();
        }
        // 10 jobs of 1 s, 3 at a time: 4 rounds.
        assert_eq!(t0.elapsed(), Duration::from_secs(4));
        let report = limit.report();
        assert_eq!(report.peak_in_flight, 3);
        assert_eq!(report.in_flight, 0);
        assert_eq!(report.acquired, 10);
        assert_eq!(report.waited, 7);
        // waits: 3 wait 1 s, 3 wait 2 s, 1 waits 3 s
        assert!((report.total_wait_secs - 12.0).abs() < 1e-9, "{report:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn closing_refuses_waiters_but_keeps_held_permits() {
        let limit = ConcurrencyLimit::new("hosts", 1);
        let held = limit.acquire().await.unwrap();
        let waiter = {
            let limit = limit.clone();
            tokio::spawn(async move { limit.acquire().await.map(|_| ()) })
        };
        tokio::task::yield_now().await;
        limit.close();
        assert!(matches!(
            waiter.await.unwrap(),
            Err(LimitError::Closed("hosts"))
        ));
        assert!(limit.try_acquire().is_none());
        assert_eq!(limit.in_flight(), 1);
        drop(held);
        assert_eq!(limit.in_flight(), 0);
    }
}
