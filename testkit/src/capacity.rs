//! Service capacity: a fixed number of requests in service, a bounded FIFO queue, then refusal.
//!
//! Foreman has one [`Capacity`] (Puma workers and threads, then Apache's backlog); every BMC has its
//! own (its tiny web server). Peak in-service counts feed the lab's metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Requests in service at once plus a FIFO queue of bounded length.
#[derive(Debug)]
pub struct Capacity {
    slots: Arc<Semaphore>,
    service_slots: usize,
    limit: usize,
    in_system: AtomicUsize,
    in_service: AtomicUsize,
    peak_in_service: AtomicUsize,
    peak_queued: AtomicUsize,
    refused: AtomicUsize,
}

/// Holds a request's place in service; dropping it frees the slot.
#[derive(Debug)]
pub struct Admission<'a> {
    capacity: &'a Capacity,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.capacity.in_service.fetch_sub(1, Ordering::AcqRel);
        self.capacity.in_system.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A snapshot of a [`Capacity`]'s counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CapacityStats {
    /// Most requests ever in service at once.
    pub peak_in_service: usize,
    /// Most requests ever waiting at once.
    pub peak_queued: usize,
    /// Requests refused because service and queue were full.
    pub refused: usize,
}

impl Capacity {
    /// `in_service` requests served at once, `queue` more waiting in arrival order.
    #[must_use]
    pub fn new(in_service: usize, queue: usize) -> Self {
        let in_service = in_service.max(1);
        Self {
            slots: Arc::new(Semaphore::new(in_service)),
            service_slots: in_service,
            limit: in_service + queue,
            in_system: AtomicUsize::new(0),
            in_service: AtomicUsize::new(0),
            peak_in_service: AtomicUsize::new(0),
            peak_queued: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
        }
    }

    /// Waits for a slot in arrival order; `None` at once when service and queue are full.
    pub async fn admit(&self) -> Option<Admission<'_>> {
        let before = self.in_system.fetch_add(1, Ordering::AcqRel);
        if before >= self.limit {
            self.in_system.fetch_sub(1, Ordering::AcqRel);
            self.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let queued = (before + 1).saturating_sub(self.service_slots);
        self.peak_queued.fetch_max(queued, Ordering::Relaxed);
        let Ok(permit) = self.slots.clone().acquire_owned().await else {
            self.in_system.fetch_sub(1, Ordering::AcqRel);
            return None;
        };
        let now = self.in_service.fetch_add(1, Ordering::AcqRel) + 1;
        self.peak_in_service.fetch_max(now, Ordering::Relaxed);
        Some(Admission {
            capacity: self,
            _permit: permit,
        })
    }

    /// Requests in service now.
    #[must_use]
    pub fn in_service(&self) -> usize {
        self.in_service.load(Ordering::Acquire)
    }

    /// Counters so far.
    #[must_use]
    pub fn stats(&self) -> CapacityStats {
        CapacityStats {
            peak_in_service: self.peak_in_service.load(Ordering::Relaxed),
            peak_queued: self.peak_queued.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_past_the_queue_and_counts_peaks() {
        let capacity = Capacity::new(2, 1);
        let a = capacity.admit().await.expect("first slot");
        let b = capacity.admit().await.expect("second slot");
        // A third request waits in the queue; a fourth is refused at once.
        let waiting = capacity.admit();
        tokio::pin!(waiting);
        assert!(futures_poll_pending(waiting.as_mut()).await);
        assert!(capacity.admit().await.is_none());
        drop(a);
        let c = waiting.await.expect("queued request is served");
        drop((b, c));
        let stats = capacity.stats();
        assert_eq!(stats.peak_in_service, 2);
        assert_eq!(stats.peak_queued, 1);
        assert_eq!(stats.refused, 1);
    }

    /// Polls a future once; true if it is still pending.
    async fn futures_poll_pending<F: std::future::Future + Unpin>(mut future: F) -> bool {
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(std::pin::Pin::new(&mut future).poll(cx).is_pending())
        })
        .await
    }
}
